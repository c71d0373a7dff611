"""hotmod on real projects nobody here wrote (rich, flask, django, networkx, pinned
sdists from PyPI), side by side with the baselines, all measured in this one run.

    .venv/bin/python tests/benchmarks/bench_real.py [--quick] [--projects rich,flask]

Each project's sdist is downloaded with pip and its runtime dependencies installed
into a venv made from this interpreter, once, cached under ~/.cache/hotmod-bench
(tests/real_projects.py); its modules are byte-compiled there, so the baselines read
``.pyc`` files as an installed package's imports would. The module list is hotmod's
own discovery (``__main__.py`` is excluded, as hotmod excludes it).

Per project:
- ``hotmod check`` of every module (``Engine.check`` from a new engine: discovery,
  worker start and warm imports included), with stems and with
  ``HOTMOD_WORKER_STEMS=0``;
- baseline: one process importing every module (``importlib.import_module`` one
  after the other, failures caught), median of ``--repeats`` runs: reading the
  .pyc files, and compiling the project's modules from source (as hotmod's checks
  do, and as the issue's measurement did: no .pyc files were written there); the
  targets are taken against the second;
- baseline: a fresh ``python -c "import m"`` per module, 2 at a time (the naive
  loop); these are also the verdicts hotmod's are compared with (tests/fresh.py);
- a save of the hub (``RealProject.hub``) through ``Engine.check_paths``, broken (a
  ``raise`` appended) then fixed (the original text), each after a pause longer than
  a stem lives idle, as between two saves in an editor: ms to the saved module's own
  verdict and to all verdicts, with and without stems;
- agreement: every module's verdict against its fresh one (same ok-ness, and the
  exception type and line where the fresh traceback shows them); the
  disagreements are printed.

Targets (ratios, printed as PASS/MISS): networkx check <= 10x one process importing
every module, a networkx save's verdicts <= 5x of it, the saved module's own verdict
<= 1.5 s; rich check <= 3x. ``--quick``: rich and flask only (< 2 min once cached).

Not a pytest test (the name does not match ``test_*.py``): it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _lsp_driver import machine_line, median, print_table
from hotmod.core import Engine, ModuleResult
from hotmod.core.worker.stems import STEM_IDLE_S

# The shared oracle and project cache live in tests/ (the pytest test uses them too).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.fresh import Verdict, hotmod_verdict, same_verdict
from tests.real_projects import PROJECTS, Prepared, prepare

QUICK = ("rich", "flask")
NAIVE_JOBS = 2
ONE_PROCESS_TIMEOUT_S = 900
FRESH_TIMEOUT_S = 60
AGAIN_MAX_S = 60  # without stems, a second full check only if the first took less

# One process importing every module: names from a file, progress to another, so that a
# module that kills or blocks the process is named; stdout belongs to the modules. With
# "source", the project's files are compiled from source (their .pyc files unread), as
# hotmod's checks do and as a first run without bytecode does; everything else still
# comes from .pyc files.
ONE_PROCESS = """\
import importlib, os, sys, time
names = open(sys.argv[1]).read().split()
progress = open(sys.argv[2], "w")
if sys.argv[3] == "source":
    from importlib.machinery import SOURCE_SUFFIXES, FileFinder, SourceFileLoader
    class FromSource(SourceFileLoader):
        def get_code(self, fullname):
            return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)
    here = os.getcwd()
    def hook(path):
        path = os.path.abspath(path or here)
        if path == here or path.startswith(here + os.sep):
            return FileFinder(path, (FromSource, SOURCE_SUFFIXES))
        raise ImportError(path)
    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()
start = time.perf_counter()
failed = 0
for name in names:
    progress.write(name + "\\n")
    progress.flush()
    try:
        importlib.import_module(name)
    except BaseException:
        failed += 1
progress.write("#done %d %.3f\\n" % (failed, (time.perf_counter() - start) * 1000))
progress.flush()
os._exit(0)  # threads a module started must not keep the process alive
"""


@dataclass(frozen=True)
class Target:
    label: str
    measured: float  # a ratio (x) or seconds
    limit: float
    unit: str  # "x" or "s"

    @property
    def passed(self) -> bool:
        return self.measured <= self.limit


@dataclass
class Save:
    own_ms: float
    all_ms: float
    checked: int
    failed: int


@dataclass
class HotmodRun:
    stems: bool
    check_s: float = 0.0
    again_s: float | None = None  # a second full check in the same engine, after a pause
    results: dict[str, ModuleResult] = field(default_factory=dict)
    broken: list[Save] = field(default_factory=list)
    fixed: list[Save] = field(default_factory=list)
    fixed_agrees: bool = True  # verdicts after the fixed save equal the full check's


@dataclass
class Measured:
    prepared: Prepared
    modules: int = 0
    deps: str = ""
    one_process_s: list[float] = field(default_factory=list)
    one_process_source_s: list[float] = field(default_factory=list)  # no .pyc read
    one_process_failed: int = 0
    one_process_note: str = ""
    naive_s: float = 0.0
    fresh: dict[str, Verdict] = field(default_factory=dict)
    fresh_skipped: dict[str, str] = field(default_factory=dict)  # module -> why
    runs: dict[bool, HotmodRun] = field(default_factory=dict)


# -- baselines --------------------------------------------------------------------------
def one_process(
    prepared: Prepared, names: list[str], cwd: Path, source: bool = False
) -> tuple[float, int, str]:
    """Seconds for one interpreter to import every module; failures; what stopped it.
    ``source``: the project's modules compiled from source, their .pyc files unread."""
    with tempfile.TemporaryDirectory(prefix="hotmod-real-") as tmp:
        listing, progress = Path(tmp) / "names", Path(tmp) / "progress"
        listing.write_text("\n".join(names))
        start = time.perf_counter()
        try:
            subprocess.run(
                [
                    str(prepared.python),
                    "-c",
                    ONE_PROCESS,
                    str(listing),
                    str(progress),
                    "source" if source else "pyc",
                ],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=ONE_PROCESS_TIMEOUT_S,
            )
            note = ""
        except subprocess.TimeoutExpired:
            note = "timed out"
        elapsed = time.perf_counter() - start
        lines = progress.read_text().splitlines() if progress.exists() else []
    if lines and lines[-1].startswith("#done "):
        return elapsed, int(lines[-1].split()[1]), note
    stopped = lines[-1] if lines else "?"
    return elapsed, -1, f"{note or 'the process ended'} while importing {stopped}"


def naive_loop(
    prepared: Prepared, infos: dict[str, Path], jobs: int
) -> tuple[float, dict[str, Verdict], dict[str, str]]:
    """A fresh ``python -c "import m"`` per module, ``jobs`` at a time: seconds, verdicts."""
    start = time.perf_counter()
    verdicts, skipped = prepared.fresh_verdicts(infos, jobs, FRESH_TIMEOUT_S)
    return time.perf_counter() - start, verdicts, skipped


def dependencies(prepared: Prepared) -> str:
    proc = subprocess.run(
        [str(prepared.python), "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
    )
    own = {"pip", "setuptools", "wheel"}
    deps = [line for line in proc.stdout.split() if line.split("==")[0].lower() not in own]
    return ", ".join(deps) or "none"


# -- hotmod ---------------------------------------------------------------------------
def hotmod_run(prepared: Prepared, stems: bool, saves: int) -> HotmodRun:
    run = HotmodRun(stems)
    hub = prepared.root / prepared.project.hub
    original = hub.read_bytes()
    stat = hub.stat()
    # A first session: nothing of an earlier run's cache folder (parses, verdicts).
    os.environ["HOTMOD_CACHE_DIR"] = tempfile.mkdtemp(dir=os.environ["HOTMOD_CACHE_DIR"])
    with prepared.engine({"HOTMOD_WORKER_STEMS": "1" if stems else "0"}) as engine:
        start = time.perf_counter()
        report = engine.check()
        run.check_s = time.perf_counter() - start
        run.results = {r.name: r for r in report.results}
        if stems or run.check_s < AGAIN_MAX_S:  # else it would cost as much again
            settle(engine)
            start = time.perf_counter()
            engine.check()
            run.again_s = time.perf_counter() - start
        info = engine.module_for_path(hub)
        assert info is not None, hub
        try:
            for i in range(saves):
                broken = original + f"\nraise RuntimeError('hotmod bench: save {i}')\n".encode()
                run.broken.append(save(engine, hub, info.name, broken))
                fixed = save(engine, hub, info.name, original)
                run.fixed.append(fixed)
                after = {r.name: r.ok for r in engine.results().values()}
                run.fixed_agrees &= after == {n: r.ok for n, r in run.results.items()}
        finally:
            hub.write_bytes(original)
            # The same bytes and mtime as before: the cached .pyc stays valid.
            os.utime(hub, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return run


def settle(engine: Engine) -> None:
    """An editor's pause: longer than a stem lives idle, and until the worker's idle
    work (compiling the files checks compiled, forking spares) is done."""
    time.sleep(STEM_IDLE_S + 0.5)
    pid = engine._worker.pid if engine._worker is not None else None
    if pid is None:
        return
    zygote = psutil.Process(pid)
    deadline = time.monotonic() + 60
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        quiet = quiet + 1 if zygote.cpu_percent(interval=0.25) < 5 else 0


def save(engine: Engine, path: Path, name: str, text: bytes) -> Save:
    settle(engine)
    path.write_bytes(text)
    own: list[float] = []

    def on_result(result: ModuleResult) -> None:
        if result.name == name and not own:
            own.append(time.perf_counter())

    start = time.perf_counter()
    report = engine.check_paths([path], on_result=on_result)
    end = time.perf_counter()
    return Save(
        own_ms=(own[0] - start) * 1000 if own else float("nan"),
        all_ms=(end - start) * 1000,
        checked=len(report.results),
        failed=len(report.failed),
    )


# -- one project ------------------------------------------------------------------------
def measure(name: str, args: argparse.Namespace) -> Measured:
    print(f"== {name}: preparing (cached after the first run)", file=sys.stderr)
    prepared = prepare(PROJECTS[name])
    m = Measured(prepared, deps=dependencies(prepared))
    with prepared.engine() as engine:
        infos = {n: i.path for n, i in engine.modules.items()}
    m.modules = len(infos)
    cwd = prepared.module_dir(next(iter(infos.values())))
    print(f"== {prepared.label}: {m.modules} modules; the naive loop", file=sys.stderr)
    m.naive_s, m.fresh, m.fresh_skipped = naive_loop(prepared, infos, NAIVE_JOBS)
    print(f"== {prepared.label}: one process importing every module", file=sys.stderr)
    for _ in range(args.repeats):
        seconds, failed, note = one_process(prepared, sorted(infos), cwd)
        m.one_process_s.append(seconds)
        m.one_process_failed, m.one_process_note = failed, note
        # Taken in turns with the .pyc run: load from elsewhere hits both alike.
        m.one_process_source_s.append(one_process(prepared, sorted(infos), cwd, True)[0])
    for stems in (True, False):
        label = "with stems" if stems else "HOTMOD_WORKER_STEMS=0"
        print(f"== {prepared.label}: hotmod check and saves, {label}", file=sys.stderr)
        m.runs[stems] = hotmod_run(prepared, stems, args.saves if stems else 1)
    return m


# -- report ---------------------------------------------------------------------------
def s(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


def s_or_dash(value: float | None) -> str:
    return "-" if value is None else s(value)


def ms(value: float) -> str:
    return f"{value:.0f}"


def x(value: float) -> str:
    return f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def verdict_text(v: Verdict) -> str:
    if v.ok:
        return "ok"
    where = f" at line {v.line}" if v.line is not None else ""
    return f"{v.kind or 'error'}{where}"


def targets(ms_: list[Measured]) -> list[Target]:
    found: list[Target] = []
    for m in ms_:
        name = m.prepared.project.name
        # The baseline (2.75 s for networkx) compiled from source: no .pyc
        # files were written where it was measured (PYTHONDONTWRITEBYTECODE).
        one = median(m.one_process_source_s)
        stems = m.runs[True]
        if name == "networkx":
            found.append(
                Target("networkx: check / one process (source)", stems.check_s / one, 10, "x")
            )
            saves = [*stems.broken, *stems.fixed]
            worst_all = max(sv.all_ms for sv in saves) / 1000
            worst_own = max(sv.own_ms for sv in saves) / 1000
            found.append(
                Target(
                    "networkx: save, all verdicts / one process (source)", worst_all / one, 5, "x"
                )
            )
            found.append(
                Target("networkx: save, the saved module's own verdict", worst_own, 1.5, "s")
            )
        if name == "rich":
            found.append(Target("rich: check / one process (source)", stems.check_s / one, 3, "x"))
    return found


def report(ms_: list[Measured], args: argparse.Namespace) -> None:
    cols = [m.prepared.label for m in ms_]

    def row(label: str, values: list[str]) -> list[str]:
        return [label, *values]

    def each(fn: object) -> list[str]:
        assert callable(fn)
        return [str(fn(m)) for m in ms_]

    quick = " (quick)" if args.quick else ""
    print_table(
        f"Real projects: a full check ({machine_line()}; {NAIVE_JOBS} at a time for the naive "
        f"loop; one process: median of {args.repeats}){quick}",
        ["", *cols],
        [
            row("modules (hotmod's discovery)", each(lambda m: m.modules)),
            row(
                "  failing a fresh import",
                each(lambda m: sum(not v.ok for v in m.fresh.values())),
            ),
            row(
                "one process importing every module (.pyc), s",
                each(lambda m: s(median(m.one_process_s))),
            ),
            row(
                "one process importing every module, compiled from source, s",
                each(lambda m: s(median(m.one_process_source_s))),
            ),
            row(
                "fresh `python -c 'import m'` per module (naive loop), s",
                each(lambda m: s(m.naive_s)),
            ),
            row("**hotmod check, stems**, s", each(lambda m: s(m.runs[True].check_s))),
            row(
                "hotmod check, `HOTMOD_WORKER_STEMS=0`, s", each(lambda m: s(m.runs[False].check_s))
            ),
            row(
                "hotmod check again (same engine, after a pause), stems, s",
                each(lambda m: s_or_dash(m.runs[True].again_s)),
            ),
            row(
                "hotmod check again, no stems, s",
                each(lambda m: s_or_dash(m.runs[False].again_s)),
            ),
            row(
                "  sum of the modules' own code (`self_ms`), s",
                each(lambda m: s(sum(r.self_ms for r in m.runs[True].results.values()) / 1000)),
            ),
            row(
                "  sum of their fresh-import costs (`import_ms`), s",
                each(lambda m: s(sum(r.import_ms for r in m.runs[True].results.values()) / 1000)),
            ),
            row(
                "**hotmod (stems) / one process (source)**",
                each(lambda m: x(m.runs[True].check_s / median(m.one_process_source_s))),
            ),
            row(
                "hotmod (stems) / one process (.pyc)",
                each(lambda m: x(m.runs[True].check_s / median(m.one_process_s))),
            ),
            row(
                "no stems / stems",
                each(lambda m: x(m.runs[False].check_s / m.runs[True].check_s)),
            ),
            row(
                "naive loop / hotmod (stems)",
                each(lambda m: x(m.naive_s / m.runs[True].check_s)),
            ),
        ],
    )

    def save_ms(m: Measured, stems: bool, kind: str, what: str) -> str:
        saves = getattr(m.runs[stems], kind)
        return ms(median(getattr(sv, what) for sv in saves))

    saves = args.saves
    print_table(
        f"A save of the hub through `Engine.check_paths`: broken, then fixed (with stems: "
        f"median of {saves}; without: 1){quick}",
        ["", *cols],
        [
            row("saved module", each(lambda m: f"`{m.prepared.project.hub}`")),
            row("verdicts per save", each(lambda m: m.runs[True].broken[0].checked)),
            row("  failing after the broken save", each(lambda m: m.runs[True].broken[0].failed)),
            *[
                row(
                    f"{kind}: {'**' if what == 'own_ms' else ''}{label}"
                    f"{'**' if what == 'own_ms' else ''}, {mode}, ms",
                    [save_ms(m, stems, kind, what) for m in ms_],
                )
                for kind in ("broken", "fixed")
                for what, label in (("own_ms", "own verdict"), ("all_ms", "all verdicts"))
                for stems, mode in ((True, "stems"), (False, "no stems"))
            ],
            row(
                "fixed, all verdicts (stems) / one process (source)",
                each(
                    lambda m: x(
                        median(sv.all_ms for sv in m.runs[True].fixed)
                        / 1000
                        / median(m.one_process_source_s)
                    )
                ),
            ),
            row(
                "verdicts after the fixed save = the full check's",
                each(lambda m: "yes" if all(r.fixed_agrees for r in m.runs.values()) else "NO"),
            ),
        ],
    )

    disagreements: list[list[str]] = []
    agreement_rows = []
    for m in ms_:
        stems, plain = m.runs[True].results, m.runs[False].results
        counts = {True: 0, False: 0}
        for name, fresh in sorted(m.fresh.items()):
            found = {mode: hotmod_verdict(r[name]) for mode, r in ((True, stems), (False, plain))}
            for mode, ours in found.items():
                counts[mode] += same_verdict(ours, fresh)
            if not all(same_verdict(v, fresh) for v in found.values()):
                message = next(
                    (d.message for d in stems[name].diagnostics if d.severity.value == "error"), ""
                )
                disagreements.append(
                    [
                        f"{m.prepared.project.name}: `{name}`",
                        verdict_text(fresh),
                        verdict_text(found[True]),
                        verdict_text(found[False]),
                        message.splitlines()[0][:80] if message else "",
                    ]
                )
        same_modes = sum(stems[n].ok == plain[n].ok for n in stems)
        agreement_rows.append((m, counts, same_modes))
    print_table(
        "Agreement with a fresh `python -c 'import m'` (ok-ness, exception type, line)",
        ["", *cols],
        [
            row("modules compared", [str(len(m.fresh)) for m, _, _ in agreement_rows]),
            row(
                "**same verdict, stems**",
                [f"{c[True]} / {len(m.fresh)}" for m, c, _ in agreement_rows],
            ),
            row(
                "same verdict, no stems",
                [f"{c[False]} / {len(m.fresh)}" for m, c, _ in agreement_rows],
            ),
            row(
                "stems and no stems give the same ok-ness",
                [f"{n} / {m.modules}" for m, _, n in agreement_rows],
            ),
            row("not compared", [str(len(m.fresh_skipped)) for m, _, _ in agreement_rows]),
        ],
    )
    if disagreements:
        print_table(
            "Disagreements",
            ["module", "fresh", "hotmod (stems)", "hotmod (no stems)", "hotmod's message"],
            disagreements,
        )
    else:
        print("\nNo disagreements.")
    for m in ms_:
        for name, why in sorted(m.fresh_skipped.items()):
            print(f"- not compared: {m.prepared.project.name}: `{name}`: {why}")
        if m.one_process_note:
            print(f"- one process, {m.prepared.label}: {m.one_process_note}")
        print(f"- {m.prepared.label} runtime dependencies: {m.deps}")

    found = targets(ms_)
    if found:
        print_table(
            "Targets",
            ["", "measured", "target", ""],
            [
                [
                    t.label,
                    f"{t.measured:.2f} {t.unit}" if t.unit == "s" else x(t.measured),
                    f"<= {t.limit:g} {t.unit}" if t.unit == "s" else f"<= {t.limit:g}x",
                    "PASS" if t.passed else "MISS",
                ]
                for t in found
            ],
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="rich and flask only (< 2 min)")
    parser.add_argument(
        "--projects", default=None, help=f"comma-separated of {', '.join(PROJECTS)}"
    )
    parser.add_argument("--repeats", type=int, default=None, help="one-process runs (default 3)")
    parser.add_argument("--saves", type=int, default=None, help="saves with stems (default 3)")
    args = parser.parse_args(argv)
    # Killed mid-save, the hub must still get its text back (the `finally` runs).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    names = (args.projects or ",".join(QUICK if args.quick else PROJECTS)).split(",")
    unknown = [n for n in names if n not in PROJECTS]
    if unknown:
        parser.error(f"unknown project {unknown[0]!r}: one of {', '.join(PROJECTS)}")
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.saves = args.saves or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="hotmod-cache-") as cache:
        # The engines' load history goes to a throwaway folder, not ~/.cache/hotmod.
        os.environ["HOTMOD_CACHE_DIR"] = cache
        os.environ.pop("HOTMOD_DEV_MODE", None)
        measured = [measure(n, args) for n in names]
    report(measured, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
