"""What a command line names: the workspace (an engine on it) and modules in it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from hotmod.core.engine import Engine
from hotmod.core.project_root import project_root

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line names nothing usable; the message says what, for the user."""


def open_engine(args: argparse.Namespace, target: str | None) -> Engine:
    """An engine on ``--root``, else on the project root of ``target`` (when it is an
    existing path) or of the current directory; ``--python``, ``--dev`` and ``--config``
    apply where the command has them."""
    start = Path(target) if target and Path(target).exists() else Path.cwd()
    root = Path(args.root) if args.root else project_root(start.absolute())
    overrides = {"python": getattr(args, "python", None), "dev_mode": getattr(args, "dev", None)}
    return Engine(root, overrides, args.config)


def modules_at(engine: Engine, targets: Sequence[str]) -> list[str]:
    """The modules that files, folders or dotted names stand for (a folder: all below it)."""
    modules = engine.modules
    names: list[str] = []
    for target in targets:
        path = Path(target)
        if path.exists():
            absolute = path.absolute()
            matched = [
                m.name for m in modules.values() if m.path == absolute or absolute in m.path.parents
            ]
            if not matched:
                raise UsageError(
                    f"{target}: no project modules there (module dirs: {_dirs(engine)})"
                )
            names.extend(matched)
        elif target in modules:
            names.append(target)
        else:
            raise UsageError(f"{target}: no such file, folder or project module")
    return names


def module_named(engine: Engine, target: str, known_only: bool = True) -> str:
    """The one module a file or dotted name stands for; ``known_only=False`` lets any
    dotted name through (a deleted module's history is still there)."""
    path = Path(target)
    if path.is_file():
        info = engine.module_for_path(path.absolute())
        if info is None:
            raise UsageError(f"{target}: not a project module (module dirs: {_dirs(engine)})")
        return info.name
    if known_only and target not in engine.modules:
        raise UsageError(f"{target}: no such file or project module")
    return target


def _dirs(engine: Engine) -> str:
    return ", ".join(str(d) for d in engine.config.module_dirs)
