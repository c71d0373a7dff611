"""``hotmod profile MODULE`` and ``hotmod history MODULE``."""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
from pathlib import Path
from typing import TextIO

from .bytesize import format_bytes
from .cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, find_root
from .config import ConfigError
from .engine import Engine
from .history import sparkline
from .profile import ProfileUnavailable, format_text, profile_json
from .worker_client import WorkerError


class _Usage(Exception):
    pass


def _engine(args: argparse.Namespace) -> Engine:
    target = Path(args.module)
    start = target if target.exists() else Path.cwd()
    root = Path(args.root) if args.root else find_root(start.absolute())
    overrides = {"python": getattr(args, "python", None)}
    return Engine(root, overrides, args.config)


def _module_name(engine: Engine, target: str, known_only: bool = True) -> str:
    path = Path(target)
    if path.is_file():
        info = engine.module_for_path(path.absolute())
        if info is None:
            dirs = ", ".join(str(d) for d in engine.config.module_dirs)
            raise _Usage(f"{target}: not a project module (module dirs: {dirs})")
        return info.name
    if known_only and target not in engine.modules:
        raise _Usage(f"{target}: no such file or project module")
    return target


def profile_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        with _engine(args) as engine:
            name = _module_name(engine, args.module)
            html = Path(args.html).absolute() if args.html else None
            profile = engine.profile(name, html=html)
    except (ConfigError, WorkerError, _Usage, ProfileUnavailable) as exc:
        err.write(f"hotmod: error: {exc}\n")
        return EXIT_USAGE
    if args.format == "json":
        json.dump(profile_json(profile), out, indent=2)
        out.write("\n")
    else:
        out.write(format_text(profile))
        if profile.html:
            out.write(f"\nHTML report: {profile.html}\n")
    return EXIT_OK if profile.ok else EXIT_FAILED


def history_command(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.limit <= 0:
        err.write("hotmod: error: --limit must be a positive number\n")
        return EXIT_USAGE
    try:
        with _engine(args) as engine:
            # Deleted modules keep their history: any dotted name may be asked for.
            name = _module_name(engine, args.module, known_only=False)
            points = engine.history(name, args.limit)
    except (ConfigError, _Usage) as exc:
        err.write(f"hotmod: error: {exc}\n")
        return EXIT_USAGE
    if args.format == "json":
        data = [
            {
                "at": p.at,
                "status": p.status,
                "load_ms": round(p.load_ms, 3),
                "self_ms": round(p.self_ms, 3),
                "memory_bytes": p.memory_bytes,
            }
            for p in points
        ]
        json.dump({"module": name, "loads": data}, out, indent=2)
        out.write("\n")
        return EXIT_OK if points else EXIT_FAILED
    if not points:
        out.write(f"No load history for {name} (it is recorded by every check).\n")
        return EXIT_FAILED
    for p in points:
        when = datetime.datetime.fromtimestamp(p.at).strftime("%Y-%m-%d %H:%M:%S")
        out.write(
            f"{when}  {p.status:<5} {p.self_ms:>9.1f} ms  (with imports {p.load_ms:.1f} ms)"
            f"  {format_bytes(p.memory_bytes)}\n"
        )
    ok = [p.self_ms for p in points if p.status == "ok"]
    if ok:
        out.write(
            f"{name}: {len(points)} loads, median {statistics.median(ok):.1f} ms, "
            f"min {min(ok):.1f}, max {max(ok):.1f}\n"
        )
        if out.isatty():  # a terminal: draw the series
            out.write(f"{sparkline(ok)}\n")
    return EXIT_OK
