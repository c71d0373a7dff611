"""Shared by the editor end-to-end tests: the example workspace and the server.

No process may outlive the editor: whatever still runs in the workspace when a
test ends (a language server, its workers) is killed and fails the test.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def hotmod_exe() -> str:
    """The `hotmod` executable next to the test interpreter, else on PATH."""
    for candidate in (str(BIN / "hotmod"), shutil.which("hotmod")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("no hotmod executable next to the test interpreter or on PATH")


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of examples/ (shop.cart broken, shop.checkout depends on it)."""
    ws = (tmp_path / "ws").resolve()
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    yield ws
    # The servers and workers started for the workspace run in it.
    deadline = time.monotonic() + 5
    while (leaked := _processes_in(ws)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for proc in leaked:
        for child in proc.children(recursive=True):
            child.kill()
        proc.kill()
    assert not leaked, f"processes outlived the editor: {[p.info for p in leaked]}"


def _processes_in(folder: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        cwd = proc.info.get("cwd")
        if cwd and (cwd == str(folder) or cwd.startswith(f"{folder}{os.sep}")):
            found.append(proc)
    return found
