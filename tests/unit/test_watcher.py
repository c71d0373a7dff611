"""The server's file watcher: what it watches, and which changes it reports."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from hotmod.core import load_config
from hotmod.core.discovery import excluded
from hotmod.server.watcher import Watcher

from ..conftest import Workspace


def test_excluded_folders_are_neither_watched_nor_reported(workspace: Workspace) -> None:
    root = workspace.root
    workspace.write(
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "pkg/__init__.py": "",
            "pkg/mod.py": "X = 1\n",
            ".venv/lib/python3.11/site-packages/dep.py": "",
            "node_modules/tool/gen.py": "",
            "build/lib/pkg/mod.py": "",
        }
    )
    config = load_config(root, environ={})
    seen: list[str] = []
    arrived = threading.Condition()

    def changed(paths: list[str]) -> None:
        with arrived:
            seen.extend(paths)
            arrived.notify_all()

    def wait_for(path: Path) -> None:
        with arrived:
            assert arrived.wait_for(lambda: str(path) in seen, timeout=10), (path, seen)

    watcher = Watcher([root], changed, lambda path: excluded(config, path))
    # .venv, node_modules and build get no watch at all: watchdog would watch every
    # folder below them (thousands in a real venv).
    assert watcher.watched == {str(root): False, str(root / "pkg"): True}
    watcher.start()
    try:
        workspace.write(
            {
                ".venv/lib/python3.11/site-packages/dep.py": "X = 2\n",
                "node_modules/tool/gen.py": "X = 2\n",
                "pkg/build/gen.py": "X = 2\n",  # excluded below a watched folder
                "pkg/mod.py": "X = 2\n",
                "newpkg/__init__.py": "",  # a folder created after the start
                "pyproject.toml": "[project]\nname = 'y'\n",
            }
        )
        (root / ".cache").mkdir()
        for path in (root / "pkg/mod.py", root / "newpkg/__init__.py", root / "pyproject.toml"):
            wait_for(path)
        time.sleep(0.3)  # anything else on its way
        with arrived:
            reported = set(seen)
        assert not [p for p in reported if "/.venv/" in p or "/node_modules/" in p]
        assert str(root / "pkg/build/gen.py") not in reported
        assert watcher.watched[str(root / "newpkg")] is True
        assert str(root / ".cache") not in watcher.watched
        (root / "newpkg/mod.py").write_text("")
        wait_for(root / "newpkg/mod.py")  # the new folder's own watch
    finally:
        watcher.stop()
