"""``hotmod check``: import modules fresh and report what breaks, like a linter."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TextIO

from hotmod.core.results import CheckReport, Severity
from hotmod.core.serialize import report_json

from .cli_workspace import EXIT_FAILED, EXIT_OK, modules_at, open_engine

OUTPUT_TAIL_LINES = 10
# Only a diagnostic's own line starts in column 1 (``path:line:col: code
# message``, what errorformats and problem matchers read); what belongs to it
# follows, indented: related locations and a module's output by INDENT,
# further lines of a message (an exception's message may span lines) by
# CONTINUED.
INDENT = " " * 4
CONTINUED = " " * 8

_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFORMATION: "36"}


def check_command(args: argparse.Namespace, out: TextIO) -> int:
    with open_engine(args, args.targets[0] if args.targets else None) as engine:
        names = modules_at(engine, args.targets) if args.targets else None
        report = engine.check(names)
    if args.format == "json":
        json.dump(report_json(report), out, indent=2)
        out.write("\n")
    else:
        _print_text(report, out, _use_color(args.color, out))
    return EXIT_OK if report.ok else EXIT_FAILED


def _use_color(mode: str, stream: TextIO) -> bool:
    if mode != "auto":
        return mode == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _print_text(report: CheckReport, out: TextIO, color: bool) -> None:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    for result in report.results:
        for d in result.diagnostics:
            where = f"{_display_path(d.path)}:{d.span.line + 1}:{d.span.column + 1}:"
            code = paint(d.code.value, _COLORS[d.severity])
            _write(out, f"{paint(where, '1')} {code}", d.message)
            for rel in d.related:
                _write(out, f"{INDENT}{_display_path(rel.path)}:{rel.span.line + 1}:", rel.message)
        if not result.ok and result.output.strip():
            # What the module printed before failing is often the best clue.
            lines = result.output.rstrip().splitlines()
            shown = lines[-OUTPUT_TAIL_LINES:]
            more = len(lines) - len(shown)
            out.write(
                f"{INDENT}output of {result.name}"
                + (f" (last {len(shown)} lines):\n" if more else ":\n")
            )
            out.writelines(f"{INDENT}| {line}\n" for line in shown)
    failed = len(report.failed)
    total = len(report.results)
    seconds = report.duration_ms / 1000.0
    if failed:
        summary = paint(f"{failed} of {total} modules failed to import", "1;31")
    else:
        summary = paint(f"All {total} modules import cleanly", "1;32")
    out.write(f"{summary} ({seconds:.2f} s, Python {report.python}).\n")


def _write(out: TextIO, head: str, message: str) -> None:
    """``head`` and the message's first line, then its further (non-blank) lines, indented."""
    first, *further = [line.rstrip() for line in message.splitlines() if line.strip()] or [""]
    out.write(f"{head} {first}\n")
    out.writelines(f"{CONTINUED}{line}\n" for line in further)


def _display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
