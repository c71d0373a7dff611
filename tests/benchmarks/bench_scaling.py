"""hotmod on generated workspaces of 50, 300 and 1000 modules, through a real LSP
client, side by side with the reloaders it replaces, all measured in this one run.

    .venv/bin/python tests/benchmarks/bench_scaling.py [--quick] [--sizes 50,300,1000]

Each workspace (generated in a temporary folder, never checked in) is a package
``app`` with a ``core`` package (``util`` imported by nearly every module,
``models``: a fan-in hub imported by about a quarter of the modules,
``registry``, ``config``, ``db``) and feature packages of 20 modules each:
"base" modules (stdlib, the ``core`` helpers, pandas in one of four, one base of
another package) and "upper" modules built on two base modules of their package.

Per size it measures, through ``hotmod serve`` and pygls' ``LanguageClient``:
``initialize`` and the initial full check (median over ``--repeats`` server
starts), server and worker RSS when idle after the initial check and after the
saves, and save -> publishDiagnostics p50/p95 for a leaf (nothing imports it)
and for the hub (time to its own diagnostics and to the last of its
dependents'), alternating broken and fixed saves.

Baselines, in the same run on the same files:
- cold ``python -c "import m"`` of the leaf and of the hub;
- a restart reloader as hupper and ``uvicorn --reload`` do it: a supervisor polls
  the files' mtimes (every 50 ms), and on a change terminates the child
  interpreter and starts a new one that imports the app's modules (all of
  them); timed from the file write to the new child having imported them all;
- in-process ``importlib.reload`` of the edited module (fast, but dependents
  keep stale bindings: see bench_mutations.py for what that costs in verdicts).

Not a pytest test (the name does not match ``test_*.py``): it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _lsp_driver import (
    LspSession,
    alternate_saves,
    cold_import_ms,
    machine_line,
    median,
    percentile,
    print_table,
)
from hotmod.core import Engine

GROUP = 20  # modules per feature package, its __init__ included
CORE = {
    "app/__init__.py": "",
    "app/core/__init__.py": "",
    "app/core/util.py": '''\
"""Helpers every module uses."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from collections.abc import Iterator

_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


@contextmanager
def timer(name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    TIMINGS[name] = time.perf_counter() - start


TIMINGS: dict[str, float] = {}
''',
    "app/core/models.py": '''\
"""The domain model: imported by many feature modules (a fan-in hub)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from app.core.util import slugify


class Status(enum.Enum):
    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"


@dataclass(frozen=True)
class Customer:
    id: int
    name: str

    @property
    def slug(self) -> str:
        return slugify(self.name)


@dataclass
class Line:
    sku: str
    quantity: int
    price: float

    @property
    def total(self) -> float:
        return self.quantity * self.price


@dataclass
class Order:
    id: int
    customer: Customer
    lines: list[Line] = field(default_factory=list)
    status: Status = Status.NEW

    @property
    def total(self) -> float:
        return sum(line.total for line in self.lines)


SAMPLE = [Order(i, Customer(i, f"Customer {i}"), [Line("sku", 1, 2.5)]) for i in range(50)]
''',
    "app/core/registry.py": '''\
"""Plugins register themselves here at import time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REGISTRY: dict[str, Callable[..., Any]] = {}


def register(name: str, loader: Callable[..., Any]) -> None:
    if name in REGISTRY:
        raise ValueError(f"{name!r} is registered twice")
    REGISTRY[name] = loader
''',
    "app/core/config.py": '''\
"""Settings from the environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    debug: bool
    database: str
    options: dict[str, str]


SETTINGS = Settings(
    debug=os.environ.get("APP_DEBUG") == "1",
    database=os.environ.get("APP_DATABASE", "sqlite://"),
    options=json.loads(os.environ.get("APP_OPTIONS", "{}")),
)
''',
    "app/core/db.py": '''\
"""Tables as data frames (the heavy third-party import)."""

from __future__ import annotations

from typing import Any

import {package} as pd


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


EMPTY = frame([{"id": 0, "value": 0.0}])
''',
}

BASE = '''\
"""{name}: records of feature {pkg}."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
{heavy}
from app.core.util import slugify
{imports}

@dataclass
class Record{j}:
    id: int
    name: str
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({{"id": self.id, "name": self.name, "tags": self.tags}})


def load(rows: list[dict[str, Any]]) -> list[Record{j}]:
    return [Record{j}(int(r["id"]), slugify(str(r["name"]))) for r in rows]


LOOKUP = {{i: slugify(f"Item {{i}} of {pkg}") for i in range(200)}}
{tail}'''

UPPER = '''\
"""{name}: a service of feature {pkg}."""

from __future__ import annotations

import logging
from collections import defaultdict
{imports}

log = logging.getLogger(__name__)


class Service{j}:
    """Keeps items by key."""

    def __init__(self) -> None:
        self.items: dict[str, list[int]] = defaultdict(list)

    def add(self, key: str, value: int) -> None:
        self.items[key].append(value)

    def total(self) -> int:
        return sum(sum(v) for v in self.items.values())


def build() -> Service{j}:
    service = Service{j}()
    for record in {first}.load([{{"id": i, "name": f"n{{i}}"}} for i in range(20)]):
        service.add(record.name, record.id)
    return service


DEFAULT = build()
{tail}'''


@dataclass
class Shape:
    """What was generated: module names, the measured leaf and hub, the import edges."""

    root: Path
    names: list[str] = field(default_factory=list)
    edges: dict[str, set[str]] = field(default_factory=dict)  # module -> project imports
    leaf: str = ""
    hub: str = "app.core.models"

    def path(self, name: str) -> Path:
        base = self.root / name.replace(".", "/")
        return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")

    def dependents(self, name: str) -> list[str]:
        """Every module that imports ``name``, directly or not (packages aside)."""
        found: set[str] = set()
        todo = [name]
        while todo:
            target = todo.pop()
            for module, imports in self.edges.items():
                if target in imports and module not in found:
                    found.add(module)
                    todo.append(module)
        return sorted(found)


def generate(root: Path, modules: int, package: str) -> Shape:
    shape = Shape(root)
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\nversion = '0'\n")

    def write(name: str, text: str, imports: set[str]) -> None:
        path = root / (name.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        module = name.removesuffix(".__init__")
        shape.names.append(module)
        shape.edges[module] = imports

    for rel, text in CORE.items():
        imports = {"app.core.util"} if rel.endswith("models.py") else set()
        write(
            rel.removesuffix(".py").replace("/", "."), text.replace("{package}", package), imports
        )
    remaining = max(GROUP, modules - len(CORE))
    packages = max(1, round(remaining / GROUP))
    sizes = [
        remaining // packages + (1 if p < remaining % packages else 0) for p in range(packages)
    ]
    base_count = upper_count = 0
    heavy_bases: set[str] = set()
    for p, size in enumerate(sizes):
        pkg = f"app.feat{p:02d}"
        write(f"{pkg}.__init__", "", set())
        n_base = max(1, round((size - 1) * 0.3))
        for j in range(n_base):
            name = f"{pkg}.base{j}"
            imports = {"app.core.util"}
            lines = []
            heavy = tail = ""
            if base_count % 4 == 0:
                heavy_bases.add(name)
                heavy = f"\nimport {package} as pd\n"
                lines.append("from app.core import db")
                imports.add("app.core.db")
                tail = '\nFRAME = db.frame([{"id": i, "value": i * 0.5} for i in range(50)])\n'
            elif base_count % 4 == 1:
                lines.append("from app.core.registry import register")
                imports.add("app.core.registry")
                tail = f'\nregister("{name}", load)\n'
            elif base_count % 4 == 2:
                lines.append("from app.core.config import SETTINGS")
                imports.add("app.core.config")
                tail = "\nVERBOSE = SETTINGS.debug\n"
            if j == 0 and p > 0:  # one edge into another package
                other = f"app.feat{(p - 1) // 2:02d}.base{min(1, n_base - 1)}"
                if other != name:
                    lines.append(f"from app.feat{(p - 1) // 2:02d} import base{min(1, n_base - 1)}")
                    imports.add(other)
            base_count += 1
            text = BASE.format(
                name=name, pkg=pkg, j=j, heavy=heavy, imports="\n".join(lines) + "\n", tail=tail
            )
            write(name, text, imports)
        for j in range(size - 1 - n_base):
            name = f"{pkg}.mod{j:02d}"
            a, b = j % n_base, (j + 1) % n_base
            uses = sorted({f"base{a}", f"base{b}"})
            lines = [f"from {pkg} import {', '.join(uses)}"]
            imports = {f"{pkg}.{u}" for u in uses}
            tail = ""
            if upper_count % 3 == 0:
                lines.append("from app.core.models import Customer, Line, Order")
                imports.add("app.core.models")
                tail = (
                    "\nORDERS = [Order(i, Customer(i, 'c'), [Line('s', i, 1.0)]) "
                    "for i in range(30)]\n"
                )
            elif imports & heavy_bases:  # a typical leaf: pandas and project helpers
                shape.leaf = name
            upper_count += 1
            text = UPPER.format(
                name=name, pkg=pkg, j=j, imports="\n".join(lines), first=f"base{a}", tail=tail
            )
            write(name, text, imports)
    assert shape.leaf, "no leaf module generated"
    return shape


# -- baselines --------------------------------------------------------------------------
CHILD = """\
import importlib, json, sys
sys.path.insert(0, {root!r})
for name in json.loads({names!r}):
    importlib.import_module(name)
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdin.read()  # serve until the supervisor ends us
"""


class RestartReloader:
    """The restart loop of hupper and ``uvicorn --reload`` (StatReload), in miniature.

    A thread polls the mtime of every ``.py`` file under ``root``; on a change it
    terminates the child interpreter (SIGTERM, wait) and starts a new one, which
    imports every module of the app and then says ``ready``.
    """

    def __init__(self, root: Path, names: list[str], interval: float = 0.05) -> None:
        self.root = root
        self.interval = interval
        self.script = CHILD.format(root=str(root), names=json.dumps(names))
        self.ready: queue.Queue[float] = queue.Queue()
        self.child: subprocess.Popen[str] | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._supervise, daemon=True)

    def _mtimes(self) -> dict[str, int]:
        found = {}
        for folder, _, files in os.walk(self.root):
            for file in files:
                if file.endswith(".py"):
                    path = os.path.join(folder, file)
                    found[path] = os.stat(path).st_mtime_ns
        return found

    def _spawn(self) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", self.script],
            cwd=self.root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.child.stdout is not None
        if self.child.stdout.readline().strip() != "ready":
            raise RuntimeError("the reloader's child did not import the app")
        self.ready.put(time.perf_counter())

    def _kill(self) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
            self.child.wait()

    def _supervise(self) -> None:
        try:
            seen = self._mtimes()  # before the start: a change during it is not missed
            self._spawn()
            while not self._stop.wait(self.interval):
                now = self._mtimes()
                if now != seen:
                    seen = now
                    self._kill()
                    self._spawn()
        except BaseException as exc:  # tell the waiting benchmark instead of hanging it
            self.error = exc
            self.ready.put(float("nan"))

    def __enter__(self) -> RestartReloader:
        self._thread.start()
        self._wait(time.perf_counter())  # the first start
        return self

    def _wait(self, since: float) -> float:
        ready = self.ready.get(timeout=120)
        if self.error is not None:
            raise RuntimeError("the restart reloader failed") from self.error
        return (ready - since) * 1000

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._kill()

    def change(self, path: Path, text: str) -> float:
        """Write ``path``; ms until a new child has imported the app again."""
        start = time.perf_counter()
        path.write_text(text)
        return self._wait(start)


def restart_ms(shape: Shape, runs: int) -> float:
    path = shape.path(shape.leaf)
    original = path.read_text()
    times = []
    with RestartReloader(shape.root, shape.names) as reloader:
        for i in range(runs):
            times.append(reloader.change(path, original + f"# change {i}\n"))
            time.sleep(0.1)
    path.write_text(original)
    return median(times)


RELOAD = """\
import importlib, json, sys, time
sys.path.insert(0, {root!r})
for name in json.loads({names!r}):
    importlib.import_module(name)
out = {{}}
for name, path in json.loads({targets!r}):
    module = sys.modules[name]
    with open(path) as f:
        original = f.read()
    times = []
    for i in range({runs}):
        with open(path, "w") as f:
            f.write(original + "# edit %d\\n" % i)
        start = time.perf_counter()
        importlib.reload(module)
        times.append((time.perf_counter() - start) * 1000)
    with open(path, "w") as f:
        f.write(original)
    out[name] = sorted(times)[len(times) // 2]
print(json.dumps(out))
"""


def importlib_reload_ms(shape: Shape, runs: int) -> dict[str, float]:
    """Median ms of ``importlib.reload`` after an edit, in a process that imported the app."""
    targets = [(n, str(shape.path(n))) for n in (shape.leaf, shape.hub)]
    script = RELOAD.format(
        root=str(shape.root), names=json.dumps(shape.names), targets=json.dumps(targets), runs=runs
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=shape.root, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- one size ---------------------------------------------------------------------------
@dataclass
class Size:
    modules: int
    hub_dependents: int = 0
    init_ms: list[float] = field(default_factory=list)
    full_check_s: list[float] = field(default_factory=list)
    full_check_cpu: list[tuple[float, float]] = field(default_factory=list)  # user, kernel
    server_idle: list[float] = field(default_factory=list)
    worker_idle: list[float] = field(default_factory=list)
    server_after: float = 0.0
    worker_after: float = 0.0
    leaf: list[float] = field(default_factory=list)
    hub_own: list[float] = field(default_factory=list)
    hub_all: list[float] = field(default_factory=list)
    leaf_exec_ms: float = 0.0
    cold_leaf: float = 0.0
    cold_hub: float = 0.0
    restart: float = 0.0
    reload_leaf: float = 0.0
    reload_hub: float = 0.0
    load: float = 0.0
    # Project code that fresh imports must run (load_ms: the module and the project
    # modules it imports, its parent packages aside), summed over what a check covers.
    code_all_ms: float = 0.0  # every module's check
    code_hub_ms: float = 0.0  # the hub save's checks (the hub and its dependents)
    code_once_ms: float = 0.0  # each module once (self_ms): what one process runs


def project_code(root: Path, hub_and_dependents: set[str]) -> tuple[float, float, float]:
    """(all, hub save, once) in ms, from an engine check of every module: the second,
    after a pause (the first compiles every file, and exec_module's time includes it)."""
    with Engine(root, {"verdict_cache": False}) as engine:
        engine.check()
        time.sleep(3)
        results = engine.check().results
    return (
        sum(r.load_ms for r in results),
        sum(r.load_ms for r in results if r.name in hub_and_dependents),
        sum(r.self_ms for r in results),
    )


CORES = os.cpu_count() or 1


async def measure(args: argparse.Namespace, modules: int, env: dict[str, str]) -> Size:
    with tempfile.TemporaryDirectory(prefix="hotmod-scale-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        shape = generate(root, modules, args.package)
        size = Size(len(shape.names))
        dependents = shape.dependents(shape.hub)
        size.hub_dependents = len(dependents)
        print(
            f"== {size.modules} modules (leaf {shape.leaf}, hub {shape.hub} with "
            f"{len(dependents)} dependents)",
            file=sys.stderr,
        )
        cold_import_ms(root, shape.leaf, runs=1)  # .pyc files and page cache, as for any run
        size.cold_leaf = cold_import_ms(root, shape.leaf, runs=args.cold)
        size.cold_hub = cold_import_ms(root, shape.hub, runs=args.cold)
        size.restart = restart_ms(shape, args.cold)
        reload = importlib_reload_ms(shape, args.saves)
        size.reload_leaf, size.reload_hub = reload[shape.leaf], reload[shape.hub]
        size.code_all_ms, size.code_hub_ms, size.code_once_ms = project_code(
            root, {shape.hub, *dependents}
        )

        for repeat in range(args.repeats):
            async with LspSession(root, env) as lsp:
                size.init_ms.append(lsp.init_ms)
                size.full_check_s.append(lsp.full_check_s)
                size.full_check_cpu.append(lsp.full_check_cpu)
                await asyncio.sleep(1.0)
                size.server_idle.append(lsp.server_rss_mb())
                size.worker_idle.append(lsp.worker_rss_mb())
                if repeat == 0:
                    size.load = os.getloadavg()[0]
                    leaf, _ = await alternate_saves(lsp, shape.path(shape.leaf), args.saves)
                    size.leaf = leaf
                    size.hub_own, size.hub_all = await alternate_saves(
                        lsp,
                        shape.path(shape.hub),
                        args.hub_saves,
                        [shape.path(d) for d in dependents],
                    )
                    module = await lsp.reload_module(shape.leaf)
                    size.leaf_exec_ms = float(module["load_ms"])
                    await asyncio.sleep(1.0)
                    size.server_after = lsp.server_rss_mb()
                    size.worker_after = lsp.worker_rss_mb()
        return size


def report(sizes: list[Size], args: argparse.Namespace) -> None:
    def row(label: str, values: list[str]) -> list[str]:
        return [label, *values]

    def ms(v: float) -> str:
        return f"{v:.1f}" if v < 100 else f"{v:.0f}"

    first = sizes[0]
    cols = [f"{s.modules} modules" for s in sizes]
    rows = [
        row("hub dependents (app.core.models)", [str(s.hub_dependents) for s in sizes]),
        row("`initialize` answered, ms", [ms(median(s.init_ms)) for s in sizes]),
        row("initial full check, s", [f"{median(s.full_check_s):.2f}" for s in sizes]),
        row(
            "  per module, ms",
            [ms(median(s.full_check_s) * 1000 / s.modules) for s in sizes],
        ),
        row("leaf: code a fresh import runs, ms", [ms(s.leaf_exec_ms) for s in sizes]),
        row("**leaf save -> diagnostics p50**, ms", [ms(median(s.leaf)) for s in sizes]),
        row("leaf save -> diagnostics p95, ms", [ms(percentile(s.leaf, 0.95)) for s in sizes]),
        row("hub save -> its own diagnostics p50, ms", [ms(median(s.hub_own)) for s in sizes]),
        row(
            "**hub save -> all dependents' diagnostics p50**, ms",
            [ms(median(s.hub_all)) for s in sizes],
        ),
        row(
            "hub save -> all dependents' diagnostics p95, ms",
            [ms(percentile(s.hub_all, 0.95)) for s in sizes],
        ),
        row(
            "  per dependent, ms",
            [ms(median(s.hub_all) / max(1, s.hub_dependents)) for s in sizes],
        ),
        row(
            "server RSS idle / after saves, MB",
            [f"{median(s.server_idle):.0f} / {s.server_after:.0f}" for s in sizes],
        ),
        row(
            "worker (zygote) RSS idle / after saves, MB",
            [f"{median(s.worker_idle):.0f} / {s.worker_after:.0f}" for s in sizes],
        ),
        row("baseline: cold `python -c 'import leaf'`, ms", [ms(s.cold_leaf) for s in sizes]),
        row("baseline: cold `python -c 'import hub'`, ms", [ms(s.cold_hub) for s in sizes]),
        row(
            "baseline: restart reloader, change -> app imported, ms", [ms(s.restart) for s in sizes]
        ),
        row("baseline: `importlib.reload(leaf)`, ms", [ms(s.reload_leaf) for s in sizes]),
        row(
            "baseline: `importlib.reload(hub)` (dependents stale), ms",
            [ms(s.reload_hub) for s in sizes],
        ),
        row(
            "**leaf: cold import / hotmod**",
            [f"{s.cold_leaf / median(s.leaf):.0f}x" for s in sizes],
        ),
        row("**leaf: restart / hotmod**", [f"{s.restart / median(s.leaf):.0f}x" for s in sizes]),
        row(
            "hub: restart / hotmod (all dependents)",
            [f"{s.restart / median(s.hub_all):.1f}x" for s in sizes],
        ),
        row(
            "leaf: hotmod / importlib.reload",
            [f"{median(s.leaf) / s.reload_leaf:.0f}x" for s in sizes],
        ),
        row(
            f"growth vs {first.modules} modules: leaf p50",
            [f"{median(s.leaf) / median(first.leaf):.2f}x" for s in sizes],
        ),
        row(
            f"growth vs {first.modules} modules: hub (all) p50",
            [f"{median(s.hub_all) / median(first.hub_all):.2f}x" for s in sizes],
        ),
        row(
            f"growth vs {first.modules} modules: full check",
            [f"{median(s.full_check_s) / median(first.full_check_s):.2f}x" for s in sizes],
        ),
        row(
            f"growth vs {first.modules} modules: restart",
            [f"{s.restart / first.restart:.2f}x" for s in sizes],
        ),
        row(
            "floor: project code of every check / cores, s",
            [f"{s.code_all_ms / CORES / 1000:.2f}" for s in sizes],
        ),
        row(
            "  full check / floor",
            [f"{median(s.full_check_s) * 1000 / (s.code_all_ms / CORES):.1f}x" for s in sizes],
        ),
        row(
            "  CPU of the full check (the whole machine), s",
            [f"{median([u + k for u, k in s.full_check_cpu]):.2f}" for s in sizes],
        ),
        row(
            "  of it in the kernel (fork, copy-on-write faults, exit)",
            [f"{median([k / (u + k) for u, k in s.full_check_cpu]):.0%}" for s in sizes],
        ),
        row(
            "floor: project code of a hub save's checks / cores, ms",
            [ms(s.code_hub_ms / CORES) for s in sizes],
        ),
        row(
            "  hub save (all) / floor",
            [f"{median(s.hub_all) / (s.code_hub_ms / CORES):.1f}x" for s in sizes],
        ),
        row(
            "project code of each module once (a restart runs it), ms",
            [ms(s.code_once_ms) for s in sizes],
        ),
        row("load average (1 min) during the saves", [f"{s.load:.2f}" for s in sizes]),
    ]
    print_table(
        f"hotmod scaling benchmark ({machine_line()}; {args.package}; medians of "
        f"{args.repeats} server starts, {args.saves} leaf / {args.hub_saves} hub saves, "
        f"{args.cold} cold runs){' (quick)' if args.quick else ''}",
        ["", *cols],
        rows,
    )


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="hotmod-cache-") as cache:
        # The server's load history goes to a throwaway folder, not ~/.cache.
        os.environ["HOTMOD_CACHE_DIR"] = cache  # the engine of project_code() too
        env = {**os.environ}
        env.pop("HOTMOD_DEV_MODE", None)
        sizes = [await measure(args, n, env) for n in args.sizes]
    report(sizes, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="50 modules, few runs (< 60 s)")
    parser.add_argument("--sizes", default=None, help="comma-separated (default 50,300,1000)")
    parser.add_argument("--repeats", type=int, default=None, help="server starts (default 3)")
    parser.add_argument("--saves", type=int, default=None, help="leaf saves (default 30)")
    parser.add_argument("--hub-saves", type=int, default=None, help="hub saves (default 10)")
    parser.add_argument("--cold", type=int, default=None, help="cold runs (default 5)")
    parser.add_argument("--package", default="pandas", help="the heavy third-party package")
    args = parser.parse_args(argv)
    args.sizes = [
        int(s) for s in (args.sizes or ("50" if args.quick else "50,300,1000")).split(",")
    ]
    args.repeats = args.repeats or (2 if args.quick else 3)
    args.saves = args.saves or (10 if args.quick else 30)
    args.hub_saves = args.hub_saves or (4 if args.quick else 10)
    args.cold = args.cold or (3 if args.quick else 5)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
