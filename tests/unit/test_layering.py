"""The layering rule: hotmod.core never depends on the server, pygls or lsprotocol.

Checked twice: statically (every import statement of core/, relative ones
resolved) and for real (what importing each core module pulls in).  And
``hotmod check`` runs without loading pygls: only ``hotmod serve`` needs it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import Workspace

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("hotmod.server", "pygls", "lsprotocol")


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def _imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a core file, dynamic ones included."""
    package = ["hotmod", "core"]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.append((node.lineno, module))
            # `from hotmod import server` names a module too
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_the_static_check_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import pygls.server\n"
        "from .. import server\n"
        "from ..server.cli import main\n"
        "from lsprotocol import types\n"
        "import importlib\n"
        "importlib.import_module('hotmod.server.features')\n"
        "from .config import Config\n"
    )
    assert sorted({n for _, n in _imported_names(sample) if _forbidden(n)}) == [
        "hotmod.server",
        "hotmod.server.cli",
        "hotmod.server.cli.main",
        "hotmod.server.features",
        "lsprotocol",
        "lsprotocol.types",
        "pygls.server",
    ]


def test_no_core_source_imports_the_server_pygls_or_lsprotocol() -> None:
    files = sorted(CORE.glob("*.py"))
    assert len(files) > 10  # the check looked at the real core folder
    offenders = [
        f"core/{path.name}:{line}: {name}"
        for path in files
        for line, name in _imported_names(path)
        if _forbidden(name)
    ]
    assert offenders == []


def _loaded_after(
    code: str, forbidden: tuple[str, ...] = FORBIDDEN, cwd: Path | None = None
) -> list[str]:
    """Run ``code`` in a fresh interpreter; which ``forbidden`` modules it left loaded."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"forbidden = {forbidden!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if any(m == f or m.startswith(f + '.') for f in forbidden))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_importing_every_core_module_loads_none_of_them() -> None:
    code = (
        "import importlib, pkgutil\n"
        "import hotmod.core\n"
        "names = [m.name for m in pkgutil.iter_modules(hotmod.core.__path__, 'hotmod.core.')]\n"
        "assert len(names) > 10, names\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
    )
    assert _loaded_after(code) == []
    # The probe itself would notice: importing the server does load them.
    assert "pygls" in _loaded_after("import hotmod.server.features")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["check", "--python", sys.executable], 0),
        (["profile", "a", "--python", sys.executable], 0),
        (["history", "a"], 1),  # nothing recorded in this fresh workspace
    ],
)
def test_commands_other_than_serve_do_not_load_pygls(
    workspace: Workspace, args: list[str], status: int
) -> None:
    workspace.write({"pyproject.toml": "", "a.py": "X = 1\n"})
    code = f"from hotmod.server.cli import main\nassert main({args!r}) == {status}"
    assert _loaded_after(code, ("pygls", "lsprotocol"), cwd=workspace.root) == []
