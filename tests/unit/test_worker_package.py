"""The worker package runs in the project's interpreter: old Pythons, no hotmod, no
third-party imports, and a harness that user code cannot redirect."""

from __future__ import annotations

import ast
import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hotmod.core import Engine
from hotmod.core.worker import launch

from ..conftest import Workspace

WORKER = Path(launch.PACKAGE_DIR)
SOURCES = sorted(WORKER.glob("*.py"))
# Modules whose functions run after user code: they look up builtins in the
# snapshot taken at start (safe.py).  The others hold declarations only.
DECLARATIONS = {"__init__.py", "protocol.py", "launch.py", "calibration_empty.py"}


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_parses_as_python_38(path: Path) -> None:
    ast.parse(path.read_text(), feature_version=(3, 8))


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_imports_only_the_standard_library_and_itself(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)


@pytest.mark.parametrize(
    "path", [p for p in SOURCES if p.name not in DECLARATIONS], ids=lambda p: p.name
)
def test_uses_the_builtins_snapshot(path: Path) -> None:
    tree = ast.parse(path.read_text())
    calls = [
        node
        for node in tree.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", None) == "private_builtins"
    ]
    first_def = next(
        (
            i
            for i, n in enumerate(tree.body)
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name != "private_builtins"
        ),
        len(tree.body),
    )
    assert calls and tree.body.index(calls[0]) < first_def, path.name


def test_nothing_of_the_worker_lands_on_sys_path(workspace: Workspace) -> None:
    workspace.write(
        {
            "probe.py": "import sys\nprint('PATH', sys.path)\n"
            "print('ARGV', sys.argv)\nimport __main__\nprint('MAIN', sorted(vars(__main__)))\n"
        }
    )
    with workspace.engine() as engine:
        output = engine.check(["probe"]).results[0].output
    seen = ast.literal_eval(output.split("PATH ", 1)[1].splitlines()[0])
    hotmod_dirs = {str(WORKER), str(WORKER.parent), str(WORKER.parent.parent)}
    assert not hotmod_dirs & set(seen), seen
    assert "ARGV ['-c']" in output
    fresh = subprocess.run(
        [sys.executable, "-c", "print(sorted(vars(__import__('__main__'))))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert f"MAIN {fresh}" in output


def test_a_check_sees_the_modules_a_fresh_interpreter_has(workspace: Workspace) -> None:
    """The worker's own imports (json, mmap, signal...) are not in a check's sys.modules."""
    workspace.write({"probe.py": "import sys\nprint('MODULES', sorted(sys.modules))\n"})
    fresh = subprocess.run(
        [sys.executable, "-c", "import sys; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=workspace.root,
    ).stdout.strip()
    with workspace.engine() as engine:
        output = engine.check(["probe"]).results[0].output
    seen = ast.literal_eval(output.split("MODULES ", 1)[1].strip())
    assert sorted(set(seen) - {"probe"}) == ast.literal_eval(fresh)


def _interpreters() -> list[str]:
    """Other CPython versions on this machine (pyenv), each a project's possible interpreter."""
    return sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))


@pytest.mark.parametrize("python", _interpreters() or ["none"], ids=lambda p: p.split("/")[-3])
def test_the_worker_runs_in_older_and_newer_pythons(workspace: Workspace, python: str) -> None:
    if python == "none":
        pytest.skip("no other Python versions installed (pyenv)")
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info >= (3, 8))"], capture_output=True
    )
    if b"True" not in version.stdout:
        pytest.skip(f"{python} is older than 3.8, which the worker needs")
    workspace.write(
        {
            "pkg/__init__.py": "",
            "pkg/good.py": "import json\nX = json.dumps([1])\n",
            "pkg/bad.py": "from pkg.good import missing\n",
        }
    )
    with Engine(workspace.root, {"python": python}, environ={}) as engine:
        report = engine.check()
    by_name = {r.name: r for r in report.results}
    assert by_name["pkg.good"].ok, by_name["pkg.good"].diagnostics
    [diagnostic] = by_name["pkg.bad"].diagnostics
    assert "cannot import name 'missing'" in diagnostic.message
    assert diagnostic.span.line == 0
