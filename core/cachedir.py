"""Where hotmod keeps per-user files: profile reports and the load history.

The standard library is enough for the three platforms hotmod runs on, so no
``platformdirs`` dependency: ``$HOTMOD_CACHE_DIR`` when set (tests, CI,
unusual setups), else ``$XDG_CACHE_HOME/hotmod`` or ``~/.cache/hotmod`` on
Linux and other Unixes, ``~/Library/Caches/hotmod`` on macOS and
``%LOCALAPPDATA%\\hotmod\\Cache`` on Windows (the folders platformdirs would pick).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    override = env.get("HOTMOD_CACHE_DIR")
    if override:
        return Path(os.path.expanduser(override))
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "hotmod"
    if os.name == "nt":
        local = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / "hotmod" / "Cache"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "hotmod"


def workspace_key(root: Path | str) -> str:
    """A folder name per workspace: readable, and unique by a hash of the root path.

    The hash keeps two checkouts with the same folder name apart; the name
    makes the cache browsable by hand.
    """
    absolute = os.path.abspath(root)
    digest = hashlib.sha256(absolute.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(absolute.rstrip(os.sep)))[:40]
    return f"{name or 'root'}-{digest}"


def workspace_cache_dir(root: Path | str, environ: Mapping[str, str] | None = None) -> Path:
    return cache_dir(environ) / "workspaces" / workspace_key(root)
