"""Which folder is a project's root, seen from a file or folder inside it."""

from __future__ import annotations

from pathlib import Path


def project_root(start: Path) -> Path:
    """Nearest folder at or above ``start`` with a pyproject.toml, else ``start``."""
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start
