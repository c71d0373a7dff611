"""``hotmod profile MODULE`` and ``hotmod history MODULE``: where a module's load time goes."""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
from pathlib import Path
from typing import TextIO

from hotmod.core.bytesize import format_bytes
from hotmod.core.history import sparkline
from hotmod.core.profile import format_text, profile_json

from .cli_workspace import EXIT_FAILED, EXIT_OK, UsageError, module_named, open_engine


def profile_command(args: argparse.Namespace, out: TextIO) -> int:
    with open_engine(args, args.module) as engine:
        name = module_named(engine, args.module)
        html = Path(args.html).absolute() if args.html else None
        profile = engine.profile(name, html=html)
    if args.format == "json":
        json.dump(profile_json(profile), out, indent=2)
        out.write("\n")
    else:
        out.write(format_text(profile))
        if profile.html:
            out.write(f"\nHTML report: {profile.html}\n")
    return EXIT_OK if profile.ok else EXIT_FAILED


def history_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.limit <= 0:
        raise UsageError("--limit must be a positive number")
    with open_engine(args, args.module) as engine:
        # Deleted modules keep their history: any dotted name may be asked for.
        name = module_named(engine, args.module, known_only=False)
        points = engine.history(name, args.limit)
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
