"""Find the project's modules: files under the module dirs mapped to dotted names."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .config import Config


@dataclass(frozen=True)
class ModuleInfo:
    """One importable project module."""

    name: str
    path: Path  # absolute, not symlink-resolved: it must match what import sees
    is_package: bool


def discover(config: Config) -> dict[str, ModuleInfo]:
    """All project modules by dotted name; the first module dir wins a name clash."""
    found: dict[str, ModuleInfo] = {}
    skip = exclusion(config.root, config.exclude)
    for module_dir in config.module_dirs:
        if not module_dir.is_dir():
            continue
        # A bare workspace root holds scripts, docs and tests next to the code;
        # there only real packages (with __init__.py) count.  A dedicated
        # source dir (src/) may hold namespace packages too.
        allow_namespace = module_dir != config.root
        for info in _walk(skip, module_dir, (), allow_namespace, set()):
            found.setdefault(info.name, info)
    return found


def excluded(config: Config, path: str) -> bool:
    """Whether discovery skips ``path``: it, or a folder between it and its module dir
    (or the workspace root), is excluded or a virtual environment.

    What the file watcher ignores: a change inside a `.venv` or `node_modules` is no
    reason to look for modules again.  A path outside the workspace and the module
    dirs is not discovery's to judge (False).
    """
    tops = [str(d) for d in (*config.module_dirs, config.root)]
    inside = [t for t in tops if path.startswith(t.rstrip(os.sep) + os.sep)]
    if not inside:
        return False
    return exclusion(config.root, config.exclude).covers(path, max(inside, key=len))


def _walk(
    skip: Exclusion,
    directory: Path,
    prefix: tuple[str, ...],
    allow_namespace: bool,
    seen: set[str],
) -> Iterator[ModuleInfo]:
    try:
        real = os.path.realpath(directory)
        if real in seen:  # a symlink loop, or the same tree twice
            return
        seen.add(real)
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if skip(entry.path, name):
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError:
            continue
        if is_file and name.endswith(".py"):
            stem = name[:-3]
            if stem == "__init__":
                if prefix:
                    yield ModuleInfo(".".join(prefix), path, True)
            elif stem.isidentifier():
                yield ModuleInfo(".".join((*prefix, stem)), path, False)
        elif is_dir and name.isidentifier():
            if is_venv(entry.path):
                continue
            if (path / "__init__.py").is_file() or allow_namespace:
                yield from _walk(skip, path, (*prefix, name), True, seen)


def is_venv(folder: str) -> bool:
    """A virtual environment, whatever its name: never the project's modules."""
    return os.path.exists(os.path.join(folder, "pyvenv.cfg"))


@functools.lru_cache(maxsize=16)
def exclusion(root: Path, patterns: tuple[str, ...]) -> Exclusion:
    """The compiled exclusion of a configuration (the file watcher asks it per event)."""
    return Exclusion(root, patterns)


class Exclusion:
    """The exclude globs as one regex, matched against a name or a root-relative path."""

    def __init__(self, root: Path, patterns: tuple[str, ...]) -> None:
        self.prefix = str(root).rstrip(os.sep) + os.sep
        self.regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")

    def __call__(self, path: str, name: str) -> bool:
        rel = path[len(self.prefix) :] if path.startswith(self.prefix) else path
        return bool(self.regex.match(name) or self.regex.match(rel.replace(os.sep, "/")))

    def covers(self, path: str, top: str) -> bool:
        """Whether the walk from ``top`` down to ``path`` would skip it or a folder on the way."""
        below = path[len(top.rstrip(os.sep)) + 1 :].split(os.sep)
        current = top.rstrip(os.sep)
        for depth, name in enumerate(below):
            current = os.path.join(current, name)
            if self(current, name) or (depth < len(below) - 1 and is_venv(current)):
                return True
        return False
