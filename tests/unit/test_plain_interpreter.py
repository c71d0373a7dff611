"""Verdicts with a plain venv's interpreter, whose fresh start imports almost nothing.

The test venv itself starts with ``importlib`` loaded (the editable install's
``.pth`` file); a project's own venv usually does not, so what a check child keeps
of the worker's own modules matters more there. Found with bench_real.py on
django 5.1.4: ``django.views.debug`` (and, with stems, some 200 modules) failed
with ``NameError: name 'sys' is not defined`` where a fresh import succeeds.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import Workspace
from ..fresh import fresh_verdict, hotmod_verdict, same_verdict


@pytest.fixture(scope="module")
def plain_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


@pytest.mark.parametrize("stems", ["1", "0"])
def test_importlib_stays_whole_when_a_warm_module_refers_to_it(
    workspace: Workspace, plain_python: Path, stems: str
) -> None:
    workspace.write(
        {
            "uses.py": "import pkgutil\n",  # makes pkgutil a warm import
            "probe.py": "import importlib.util\nimport importlib\n\n"
            "importlib.import_module('json')\n",
        }
    )
    fresh = fresh_verdict(workspace.root, "probe", python=plain_python)
    assert fresh.ok
    with workspace.engine(python=str(plain_python), env={"HOTMOD_WORKER_STEMS": stems}) as e:
        [result] = e.check(["probe"], dependents=False).results
    assert same_verdict(hotmod_verdict(result), fresh), result.diagnostics
