"""Find the project's modules: files under the module dirs mapped to dotted names."""

from __future__ import annotations

import fnmatch
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
    excluded = _Exclusion(config.root, config.exclude)
    for module_dir in config.module_dirs:
        if not module_dir.is_dir():
            continue
        # A bare workspace root holds scripts, docs and tests next to the code;
        # there only real packages (with __init__.py) count.  A dedicated
        # source dir (src/) may hold namespace packages too.
        allow_namespace = module_dir != config.root
        for info in _walk(excluded, module_dir, (), allow_namespace, set()):
            found.setdefault(info.name, info)
    return found


def _walk(
    excluded: _Exclusion,
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
        if excluded(entry.path, name):
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
            if (path / "pyvenv.cfg").exists():
                continue
            if (path / "__init__.py").is_file() or allow_namespace:
                yield from _walk(excluded, path, (*prefix, name), True, seen)


class _Exclusion:
    """The exclude globs as one regex, matched against a name or a root-relative path."""

    def __init__(self, root: Path, patterns: tuple[str, ...]) -> None:
        self.prefix = str(root).rstrip(os.sep) + os.sep
        self.regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")

    def __call__(self, path: str, name: str) -> bool:
        rel = path[len(self.prefix) :] if path.startswith(self.prefix) else path
        return bool(self.regex.match(name) or self.regex.match(rel.replace(os.sep, "/")))
