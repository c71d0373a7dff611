"""Wrong verdicts of in-process ``importlib.reload`` on a corpus of everyday edits,
against hotmod's, with a fresh ``python -c "import m"`` as the ground truth.

    .venv/bin/python tests/benchmarks/bench_mutations.py [--quick]

Each case is a tiny workspace, an edit (files changed, added or deleted) and a
target module. For each case, after the edit:

- fresh: ``python -c "import target"`` in a new process (exit status 0 = ok);
- hotmod: ``Engine.check_paths(changed files)``, the target's result (ok/error),
  in an engine that had checked the workspace before the edit;
- importlib.reload: a process that had imported every module of the workspace
  before the edit reloads each module whose file changed (what in-process
  reloaders such as IPython's autoreload do), in the order listed; the verdict
  is "error" if a reload raises.

A verdict is wrong when it differs from fresh. Bytecode caches are off for the
fresh and reload processes (``PYTHONDONTWRITEBYTECODE=1``), so that a stale
``.pyc`` cannot blur what is measured. ``--quick`` is the same corpus (it is
small); the option exists for ``make bench``-style uniformity.

Not a pytest test (the name does not match ``test_*.py``): it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _lsp_driver import machine_line, print_table
from hotmod.core import Engine


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str]  # before the edit
    edit: dict[str, str | None]  # after: new text, or None for a deleted file
    target: str
    reloads: tuple[str, ...]  # the changed modules, in the order a reloader reloads them


CASES = [
    Case(
        "removed name (`a.g` deleted; `b` calls `a.g()` at import)",
        {
            "a.py": "def f():\n    return 1\n\n\ndef g():\n    return 2\n",
            "b.py": "import a\n\nV = a.g()\n",
        },
        {"a.py": "def f():\n    return 1\n"},
        "b",
        ("a",),
    ),
    Case(
        "removed name, used in its own module (renamed def, stale call)",
        {"a.py": "def helper():\n    return 1\n\n\nX = helper()\n"},
        {"a.py": "def helper2():\n    return 1\n\n\nX = helper()\n"},
        "a",
        ("a",),
    ),
    Case(
        "changed signature (`price(x)` -> `price(x, rate)`; `b` calls `price(3)`)",
        {"a.py": "def price(x):\n    return 2 * x\n", "b.py": "import a\n\nTOTAL = a.price(3)\n"},
        {"a.py": "def price(x, rate):\n    return rate * x\n"},
        "b",
        ("a",),
    ),
    Case(
        "moved class (`Order` from `a` to new `models`; `b` still imports it from `a`)",
        {"a.py": "class Order:\n    pass\n\n\nDEFAULT = 1\n", "b.py": "from a import Order\n"},
        {"a.py": "DEFAULT = 1\n", "models.py": "class Order:\n    pass\n"},
        "b",
        ("a",),
    ),
    Case(
        "`from a import f` in a dependent after `f` is removed from `a`",
        {
            "a.py": "def f():\n    return 1\n\n\ndef g():\n    return 2\n",
            "b.py": "from a import f\n",
        },
        {"a.py": "def g():\n    return 2\n"},
        "b",
        ("a",),
    ),
    Case(
        "module registers itself in a registry (edited, re-registers)",
        {
            "registry.py": (
                "REGISTRY = {}\n\n\ndef register(name, obj):\n"
                "    if name in REGISTRY:\n        raise ValueError(f'{name} registered twice')\n"
                "    REGISTRY[name] = obj\n"
            ),
            "plugin.py": "from registry import register\n\n\ndef load():\n    return 1\n\n\n"
            "register('csv', load)\n",
        },
        {
            "plugin.py": "from registry import register\n\n\ndef load():\n    return 2\n\n\n"
            "register('csv', load)\n"
        },
        "plugin",
        ("plugin",),
    ),
    Case(
        "two plugins register one name (the edit makes them collide)",
        {
            "registry.py": (
                "REGISTRY = {}\n\n\ndef register(name, obj):\n"
                "    if name in REGISTRY:\n        raise ValueError(f'{name} registered twice')\n"
                "    REGISTRY[name] = obj\n"
            ),
            "csv_plugin.py": "from registry import register\n\nregister('csv', 1)\n",
            "tsv_plugin.py": "from registry import register\n\nregister('tsv', 2)\n",
            "app.py": "import csv_plugin\nimport tsv_plugin\n",
        },
        {"tsv_plugin.py": "from registry import register\n\nregister('csv', 2)\n"},
        "app",
        ("tsv_plugin",),
    ),
    Case(
        "stale class identity (`models` and `app` edited; `app` checks isinstance)",
        {
            "models.py": "class Order:\n    pass\n",
            "service.py": "from models import Order\n\n\ndef make():\n    return Order()\n",
            "app.py": (
                "import models\nimport service\n\nassert isinstance(service.make(), models.Order)\n"
            ),
        },
        {
            "models.py": "class Order:\n    total = 0\n",
            "app.py": "import models\nimport service\n\n# edited\n"
            "assert isinstance(service.make(), models.Order)\n",
        },
        "app",
        ("models", "app"),
    ),
    Case(
        "circular import introduced (`b` now imports from `a`, which imports `b`)",
        {"a.py": "import b\n\nX = 1\n", "b.py": "Y = 2\n"},
        {"b.py": "from a import X\n\nY = X + 1\n"},
        "a",
        ("b",),
    ),
    Case(
        "control: syntax error",
        {"a.py": "X = 1\n", "b.py": "import a\n"},
        {"a.py": "X = (1\n"},
        "a",
        ("a",),
    ),
    Case(
        "control: exception at import",
        {"a.py": "X = 1\n", "b.py": "import a\n"},
        {"a.py": "X = 1 / 0\n"},
        "a",
        ("a",),
    ),
    Case(
        "control: name added",
        {"a.py": "def f():\n    return 1\n", "b.py": "from a import f\n"},
        {"a.py": "def f():\n    return 1\n\n\ndef h():\n    return 3\n"},
        "b",
        ("a",),
    ),
    Case(
        "control: module deleted (`b` imports it)",
        {"a.py": "X = 1\n", "b.py": "import a\n"},
        {"a.py": None},
        "b",
        ("a",),
    ),
    Case(
        "control: function renamed, dependent updated too",
        {"a.py": "def f():\n    return 1\n", "b.py": "from a import f\n"},
        {"a.py": "def f2():\n    return 1\n", "b.py": "from a import f2\n"},
        "b",
        ("a", "b"),
    ),
]

RELOADER = """\
import importlib, json, sys, time
sys.path.insert(0, {root!r})
for name in {modules!r}:
    importlib.import_module(name)
print("ready", flush=True)
sys.stdin.readline()
importlib.invalidate_caches()
start = time.perf_counter()
verdict = {{"ok": True, "error": ""}}
try:
    for name in {reloads!r}:
        importlib.reload(sys.modules[name])
except BaseException as exc:
    verdict = {{"ok": False, "error": f"{{type(exc).__name__}}: {{exc}}"}}
verdict["ms"] = (time.perf_counter() - start) * 1000
print(json.dumps(verdict), flush=True)
"""


@dataclass
class Verdicts:
    fresh: bool
    hotmod: bool
    reload: bool
    fresh_ms: float
    hotmod_ms: float
    reload_ms: float
    reload_error: str


def run_case(case: Case, env: dict[str, str]) -> Verdicts:
    with tempfile.TemporaryDirectory(prefix="hotmod-mut-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text("[project]\nname = 'mut'\nversion = '0'\n")
        for rel, text in case.files.items():
            (root / rel).write_text(text)
        modules = sorted(rel.removesuffix(".py") for rel in case.files)
        script = RELOADER.format(root=str(root), modules=modules, reloads=list(case.reloads))
        reloader = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert reloader.stdin is not None and reloader.stdout is not None
        try:
            if reloader.stdout.readline().strip() != "ready":
                raise RuntimeError(f"{case.name}: the workspace does not import before the edit")
            with Engine(root, {"python": sys.executable}, environ={}) as engine:
                before = engine.check()
                if not before.ok:
                    raise RuntimeError(f"{case.name}: hotmod finds errors before the edit")
                time.sleep(0.01)  # a new mtime for every edited file
                for rel, new in case.edit.items():
                    if new is None:
                        (root / rel).unlink()
                    else:
                        (root / rel).write_text(new)
                start = time.perf_counter()
                report = engine.check_paths([root / rel for rel in case.edit])
                hotmod_ms = (time.perf_counter() - start) * 1000
                (target,) = [r for r in report.results if r.name == case.target]
            start = time.perf_counter()
            fresh = subprocess.run(
                [sys.executable, "-c", f"import {case.target}"],
                cwd=root,
                env=env,
                capture_output=True,
            )
            fresh_ms = (time.perf_counter() - start) * 1000
            reloader.stdin.write("go\n")
            reloader.stdin.flush()
            verdict = json.loads(reloader.stdout.readline())
        finally:
            reloader.kill()
            reloader.wait()
        return Verdicts(
            fresh=fresh.returncode == 0,
            hotmod=target.ok,
            reload=bool(verdict["ok"]),
            fresh_ms=fresh_ms,
            hotmod_ms=hotmod_ms,
            reload_ms=float(verdict["ms"]),
            reload_error=str(verdict["error"]),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the same small corpus")
    parser.parse_args(argv)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    rows = []
    wrong_hotmod = wrong_reload = 0
    for case in CASES:
        v = run_case(case, env)

        def show(ok: bool, v: Verdicts = v) -> str:
            text = "ok" if ok else "error"
            return text if ok == v.fresh else f"**{text}** (wrong)"

        wrong_hotmod += v.hotmod != v.fresh
        wrong_reload += v.reload != v.fresh
        rows.append(
            [
                case.name,
                "ok" if v.fresh else "error",
                show(v.hotmod),
                show(v.reload),
                f"{v.fresh_ms:.0f} / {v.hotmod_ms:.0f} / {v.reload_ms:.1f}",
            ]
        )
    rows.append(
        [
            f"**wrong verdicts (of {len(CASES)})**",
            "(truth)",
            f"**{wrong_hotmod}**",
            f"**{wrong_reload}**",
            "",
        ]
    )
    print_table(
        f"Verdicts after an edit: fresh import vs hotmod vs importlib.reload ({machine_line()})",
        [
            "edit (target module)",
            "fresh",
            "hotmod",
            "importlib.reload",
            "ms fresh / hotmod / reload",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
