"""How a save's cost grows with the saved module's dependents (1 -> 200), and where
the time goes: fork, import, IPC, engine, LSP. All measured in this one run.

    .venv/bin/python tests/benchmarks/bench_dependents.py [--quick] [--fan-in 1,10,50,200]

The generated workspace has hubs ``fan.hub_K`` with exactly K dependents each:
``fan.dNNN`` imports every ``hub_K`` with K > NNN, so the dependents of the
hubs are nested sets of the same modules and only their number changes.
Every dependent does the same small amount of work (a dataclass, a function, a
dict of 200 entries); one in four imports pandas (warm in the worker).

For each K, alternating broken and fixed saves of ``hub_K`` are timed three ways:
- through ``hotmod serve`` and pygls' ``LanguageClient``: didSave to the last of
  the K + 1 publishDiagnostics;
- ``Engine.check_paths`` in this process (no LSP, no server);
- the worker alone: the K + 1 checks sent straight to ``Engine._worker`` (the
  worker client), timed to the last raw result, whose ``phases`` (ms from the
  worker handing a check to a child: child running, setup, import, report,
  write, sent) say where each check's time went.

Not a pytest test (the name does not match ``test_*.py``): it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _lsp_driver import LspSession, machine_line, median, percentile, print_table
from hotmod.core import Engine

HUB = '''\
"""A hub: {k} modules import it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Point{k}:
    x: float
    y: float


ORIGIN = Point{k}(0.0, 0.0)
'''

DEPENDENT = '''\
"""A dependent of {hubs}."""

import json
from dataclasses import dataclass
{heavy}
from fan import {hubs}


@dataclass
class Item{i}:
    name: str
    value: float

    def to_json(self) -> str:
        return json.dumps({{"name": self.name, "value": self.value}})


def build(n: int) -> list[Item{i}]:
    return [Item{i}(f"item {{j}}", j * 0.5) for j in range(n)]


TABLE = {{j: str(j) * 2 for j in range(200)}}
'''


def generate(root: Path, fan_in: list[int], package: str) -> None:
    pkg = root / "fan"
    pkg.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\nversion = '0'\n")
    (pkg / "__init__.py").write_text("")
    for k in fan_in:
        (pkg / f"hub_{k}.py").write_text(HUB.format(k=k))
    for i in range(max(fan_in)):
        hubs = ", ".join(f"hub_{k}" for k in fan_in if k > i)
        heavy = f"import {package}\n" if i % 4 == 0 else ""
        (pkg / f"d{i:03d}.py").write_text(DEPENDENT.format(i=i, hubs=hubs, heavy=heavy))


def dependents_of(root: Path, k: int) -> list[Path]:
    return [root / "fan" / f"d{i:03d}.py" for i in range(k)]


PHASES = ("child", "setup", "import", "report", "write", "sent")


@dataclass
class FanIn:
    k: int
    lsp_own: list[float] = field(default_factory=list)
    lsp_all: list[float] = field(default_factory=list)
    engine: list[float] = field(default_factory=list)
    worker: list[float] = field(default_factory=list)  # submit -> last raw result
    # per check, ms: each phase's duration (child = hand-off -> child running)
    phases: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PHASES})
    receive: list[float] = field(default_factory=list)  # "sent" -> the client has it
    per_check_total: list[float] = field(default_factory=list)  # hand-off -> sent, summed


def engine_round(engine: Engine, hub: Path, text: str, row: FanIn) -> None:
    """One save of ``hub`` checked by ``engine``, then the same checks by its worker alone."""
    worker = engine._worker
    assert worker is not None
    config = engine.config
    hub.write_text(text)
    start = time.perf_counter()
    report = engine.check_paths([hub])
    row.engine.append((time.perf_counter() - start) * 1000)
    assert len(report.results) == row.k + 1, len(report.results)
    time.sleep(0.05)
    # The same checks, sent to the worker directly: no planning, no diagnosing.
    names = [f"fan.hub_{row.k}", *(f"fan.d{i:03d}" for i in range(row.k))]
    received: dict[str, float] = {}
    start = time.perf_counter()
    futures: dict[str, Future[dict[str, Any]]] = {}

    def stamp(name: str) -> Callable[[Future[dict[str, Any]]], None]:
        def done(_future: Future[dict[str, Any]]) -> None:
            received[name] = time.perf_counter()

        return done

    for name in names:
        future = worker.check(name, config.import_timeout_s, config.memory_limit_mb, 65536)
        future.add_done_callback(stamp(name))
        futures[name] = future
    raws = {name: f.result(timeout=120) for name, f in futures.items()}
    row.worker.append((max(received.values()) - start) * 1000)
    total = 0.0
    for raw in raws.values():
        marks = raw["phases"]
        previous = 0.0
        for phase in PHASES:
            if phase in marks:
                row.phases[phase].append(marks[phase] - previous)
                previous = marks[phase]
        total += marks.get("sent", 0.0)
    row.per_check_total.append(total)


async def measure(
    root: Path, copy: Path, rows: list[FanIn], saves: int, env: dict[str, str]
) -> list[float]:
    """LSP saves on ``root`` interleaved with engine and worker rounds on ``copy`` (a
    second copy, so that the server's file watcher does not see the engine's writes),
    so that load from elsewhere on the machine hits all three alike."""
    loads = []
    with Engine(copy, {"python": sys.executable}, environ={}) as engine:
        engine.check()  # starts the worker, warms pandas
        async with LspSession(root, env) as lsp:
            for row in rows:
                hub, hub_copy = (r / "fan" / f"hub_{row.k}.py" for r in (root, copy))
                original = hub.read_text()
                expect_files = dependents_of(root, row.k)
                loads.append(os.getloadavg()[0])
                for i in range(saves):
                    broken = i % 2 == 0
                    tail = f"raise RuntimeError('save {i}')\n" if broken else f"# save {i}\n"
                    expect = {hub: broken, **{d: broken for d in expect_files}}
                    arrived = await lsp.save_and_wait(hub, original + tail, expect)
                    row.lsp_own.append(arrived[hub])
                    row.lsp_all.append(max(arrived.values()))
                    await asyncio.sleep(0.05)
                    engine_round(engine, hub_copy, original + tail, row)
                    await asyncio.sleep(0.05)
                hub.write_text(original)
                hub_copy.write_text(original)
    return loads


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least squares y = a + b x."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    return my - b * mx, b


def report(rows: list[FanIn], args: argparse.Namespace, load: float) -> None:
    def ms(v: float) -> str:
        return f"{v:.1f}" if v < 100 else f"{v:.0f}"

    jobs = int(os.environ.get("HOTMOD_WORKER_JOBS") or os.cpu_count() or 1)
    cols = [f"K = {r.k}" for r in rows]
    table = [
        ["checks per save (hub + K)", *[str(r.k + 1) for r in rows]],
        ["LSP: save -> hub's own diagnostics p50, ms", *[ms(median(r.lsp_own)) for r in rows]],
        ["**LSP: save -> last dependent's p50**, ms", *[ms(median(r.lsp_all)) for r in rows]],
        ["LSP: save -> last dependent's p95, ms", *[ms(percentile(r.lsp_all, 0.95)) for r in rows]],
        ["`Engine.check_paths` p50, ms", *[ms(median(r.engine)) for r in rows]],
        ["worker alone (K + 1 checks) p50, ms", *[ms(median(r.worker)) for r in rows]],
        [
            f"sum of per-check times / {jobs} jobs, ms",
            *[ms(median(r.per_check_total) / jobs) for r in rows],
        ],
        ["LSP per check, ms", *[ms(median(r.lsp_all) / (r.k + 1)) for r in rows]],
    ]
    print_table(
        f"hotmod: save -> diagnostics vs number of dependents ({machine_line()}; "
        f"{args.saves} saves per hub; highest 1-min load average seen during the saves {load:.2f})"
        f"{' (quick)' if args.quick else ''}",
        ["", *cols],
        table,
    )

    # Where the time goes: per check (medians), and per save of the largest hub.
    big = rows[-1]
    per_check = [  # each mark's interval from the previous one
        ("hand-off -> child running (fork, or the spare child)", "child"),
        ("child housekeeping (fds, process group)", "setup"),
        ("setup (faulthandler, memory limit, finder, caches)", "import"),
        ("**the import itself**", "report"),
        ("report built (memory, timings, edges)", "write"),
        ("result written, child exits, zygote forwards it", "sent"),
    ]
    phase_rows = [
        [label, *[f"{median(r.phases[key]):.2f}" for r in rows]] for label, key in per_check
    ]
    print_table(
        "Where a check's time goes: worker phases, median ms per check",
        ["phase", *cols],
        phase_rows,
    )
    lsp, engine = median(big.lsp_all), median(big.engine)
    # Means, not medians, so that the parts add up: sum of phases = per-check total.
    ideal = statistics.mean(big.per_check_total) / jobs
    checks = (big.k + 1) / jobs
    fork = sum(statistics.mean(big.phases[p]) for p in ("child", "setup", "import")) * checks
    imp = statistics.mean(big.phases["report"]) * checks
    rest = sum(statistics.mean(big.phases[p]) for p in ("write", "sent")) * checks
    split = [
        ["fork and child setup (per-check means x checks / jobs)", ms(fork), _pct(fork, lsp)],
        ["imports (the project code a fresh import runs)", ms(imp), _pct(imp, lsp)],
        ["result: report, write, exit, zygote forwards", ms(rest), _pct(rest, lsp)],
        [
            "queueing, pipes, engine planning and diagnosing (Engine - the above)",
            ms(engine - ideal),
            _pct(engine - ideal, lsp),
        ],
        ["server and JSON-RPC both ways (LSP - Engine)", ms(lsp - engine), _pct(lsp - engine, lsp)],
        ["**total: save -> last diagnostics (LSP p50)**", ms(lsp), "100%"],
    ]
    print_table(
        f"Where a save of hub_{big.k} ({big.k + 1} checks) goes, ms ({jobs} worker jobs)",
        ["", "ms", "share"],
        split,
    )
    ks = [float(r.k) for r in rows]
    a_lsp, b_lsp = fit(ks, [median(r.lsp_all) for r in rows])
    a_eng, b_eng = fit(ks, [median(r.engine) for r in rows])
    a_w, b_w = fit(ks, [median(r.worker) for r in rows])
    print(
        f"\nlinear fit, ms = a + b x dependents: LSP a={a_lsp:.1f} b={b_lsp:.2f}; "
        f"Engine a={a_eng:.1f} b={b_eng:.2f}; worker a={a_w:.1f} b={b_w:.2f}"
    )


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else ""


async def run(args: argparse.Namespace) -> int:
    with (
        tempfile.TemporaryDirectory(prefix="hotmod-fan-") as tmp,
        tempfile.TemporaryDirectory(prefix="hotmod-cache-") as cache,
    ):
        root, copy = Path(tmp) / "lsp", Path(tmp) / "engine"
        for folder in (root, copy):
            generate(folder, args.fan_in, args.package)
        rows = [FanIn(k) for k in args.fan_in]
        env = {**os.environ, "HOTMOD_CACHE_DIR": cache}
        env.pop("HOTMOD_DEV_MODE", None)
        os.environ["HOTMOD_CACHE_DIR"] = cache  # the in-process Engine's history too
        loads = await measure(root, copy, rows, args.saves, env)
    report(rows, args, max(loads))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer saves (< 60 s)")
    parser.add_argument("--fan-in", default=None, help="dependents per hub (1,10,50,200)")
    parser.add_argument("--saves", type=int, default=None, help="saves per hub (default 20)")
    parser.add_argument("--package", default="pandas", help="the heavy third-party package")
    args = parser.parse_args(argv)
    fan_in = args.fan_in or ("1,10,50" if args.quick else "1,10,50,200")
    args.fan_in = sorted({int(k) for k in fan_in.split(",")})
    args.saves = args.saves or (4 if args.quick else 20)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
