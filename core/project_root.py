"""Which folder is a project's root, seen from a file or folder inside it.

Modules are named from the root (``shop/cart.py`` is ``shop.cart``), so a
root inside a package makes every import of the project's own packages fail:
``No module named 'shop'``.  Clients do pick such roots: eglot uses the
file's folder when there is no VCS, Helix sends ``rootUri: null`` and the
server falls back to the first opened file's folder.
"""

from __future__ import annotations

from pathlib import Path

# What marks a project's root folder: packaging metadata or a repository.
ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git", ".hg")


def is_package(folder: Path) -> bool:
    return (folder / "__init__.py").is_file()


def project_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` (a file or folder) that has a root
    marker; without one, the folder above the packages that hold ``start``."""
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    folder = start
    while is_package(folder) and folder.parent != folder:
        folder = folder.parent
    return folder


def workspace_root(folder: Path) -> Path:
    """The root to check for a workspace folder an editor opened: the folder itself,
    unless it is a package; then the root of the project it belongs to."""
    return project_root(folder) if is_package(folder) else folder
