"""The ``hotmod`` command line: ``hotmod check`` and ``hotmod serve``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .config import ConfigError
from .engine import Engine
from .results import CheckReport, Severity
from .serialize import report_json
from .worker_client import WorkerError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
OUTPUT_TAIL_LINES = 10


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotmod",
        description="Live import checks for Python modules, each verified by a fresh import.",
    )
    parser.add_argument("--version", action="version", version=f"hotmod {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        help="import modules fresh and report what breaks",
        description=(
            "Import every project module (or the named ones and every module that "
            "depends on them) in a fresh state and report failures like a linter. "
            "Exit status: 0 all modules load, 1 something fails, 2 usage or configuration error."
        ),
    )
    check.add_argument(
        "targets", nargs="*", metavar="PATH_OR_MODULE", help="files, folders or dotted module names"
    )
    check.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    check.add_argument(
        "--python", metavar="PY", help="interpreter to import with (default: the workspace's venv)"
    )
    check.add_argument(
        "--config", metavar="FILE", help="read [tool.hotmod] from FILE instead of pyproject.toml"
    )
    check.add_argument(
        "--root",
        metavar="DIR",
        help="workspace root (default: nearest folder with a pyproject.toml)",
    )
    check.add_argument(
        "--dev", action="store_true", default=None, help="dev mode: also warn about slow loads"
    )
    check.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour output (default: auto)",
    )

    profile = sub.add_parser(
        "profile",
        help="profile one module's import: hottest lines, import tree, HTML report",
        description=(
            "Import MODULE fresh under a profiler (third-party imports warm, as in a check) and "
            "print its hottest top-level lines, its import tree and its slowest functions; "
            "write an HTML report with an icicle chart. Exit status: 0 the module imports, "
            "1 it fails (the profile covers it up to the failure), 2 usage or configuration error."
        ),
    )
    profile.add_argument("module", metavar="MODULE", help="a dotted module name or a file")
    profile.add_argument(
        "--html", metavar="FILE", help="write the report here (default: hotmod's cache folder)"
    )
    _common_options(profile)

    history = sub.add_parser(
        "history",
        help="print a module's recorded load times",
        description=(
            "Print the load times hotmod recorded for MODULE (every check, by the language "
            "server and by `hotmod check`), oldest first, with a sparkline on a terminal. "
            "Runs no code. Exit status: 0, 1 when nothing is recorded, 2 usage error."
        ),
    )
    history.add_argument("module", metavar="MODULE", help="a dotted module name or a file")
    history.add_argument(
        "--limit", type=int, default=50, metavar="N", help="the last N loads (default: 50)"
    )
    _common_options(history, python=False)

    serve = sub.add_parser(
        "serve", help="run the language server", description="Run the hotmod language server."
    )
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-file", metavar="FILE", help="write the server log to FILE")
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    serve.add_argument(
        "--trust", action="store_true", help="trust the workspace: allow running its code"
    )
    return parser


def _common_options(parser: argparse.ArgumentParser, python: bool = True) -> None:
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    if python:
        parser.add_argument(
            "--python", metavar="PY", help="interpreter to import with (default: the workspace's)"
        )
    parser.add_argument(
        "--config", metavar="FILE", help="read [tool.hotmod] from FILE instead of pyproject.toml"
    )
    parser.add_argument(
        "--root", metavar="DIR", help="workspace root (default: nearest folder with pyproject.toml)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        try:
            return _check(args, sys.stdout, sys.stderr)
        except BrokenPipeError:
            # `hotmod check | head`: the reader left; say nothing more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILED
    if args.command in ("profile", "history"):
        from .cli_profile import history_command, profile_command

        run = profile_command if args.command == "profile" else history_command
        try:
            return run(args, sys.stdout, sys.stderr)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILED
    if args.command == "serve":
        from hotmod.server.main import serve  # pygls is only needed here

        return serve(args)
    parser.print_help()
    return EXIT_USAGE


def find_root(start: Path) -> Path:
    """Nearest folder at or above ``start`` with a pyproject.toml, else ``start``."""
    start = start if start.is_dir() else start.parent
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    first = Path(args.targets[0]) if args.targets and Path(args.targets[0]).exists() else Path.cwd()
    root = Path(args.root) if args.root else find_root(first.absolute())
    overrides = {"python": args.python, "dev_mode": args.dev}
    try:
        with Engine(root, overrides, args.config) as engine:
            names = _resolve_targets(engine, args.targets) if args.targets else None
            report = engine.check(names)
    except (ConfigError, WorkerError, _UsageError) as exc:
        err.write(f"hotmod: error: {exc}\n")
        return EXIT_USAGE
    if args.format == "json":
        json.dump(report_json(report), out, indent=2)
        out.write("\n")
    else:
        _print_text(report, out, _use_color(args.color, out))
    return EXIT_OK if report.ok else EXIT_FAILED


class _UsageError(Exception):
    pass


def _resolve_targets(engine: Engine, targets: Sequence[str]) -> list[str]:
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
                raise _UsageError(
                    f"{target}: no project modules there (module dirs: {_dirs(engine)})"
                )
            names.extend(matched)
        elif target in modules:
            names.append(target)
        else:
            raise _UsageError(f"{target}: no such file, folder or project module")
    return names


def _dirs(engine: Engine) -> str:
    return ", ".join(str(d) for d in engine.config.module_dirs)


def _use_color(mode: str, stream: TextIO) -> bool:
    if mode != "auto":
        return mode == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFORMATION: "36"}


def _print_text(report: CheckReport, out: TextIO, color: bool) -> None:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    for result in report.results:
        for d in result.diagnostics:
            where = f"{_display_path(d.path)}:{d.span.line + 1}:{d.span.column + 1}:"
            out.write(
                f"{paint(where, '1')} {paint(d.code.value, _COLORS[d.severity])} {d.message}\n"
            )
            for rel in d.related:
                out.write(f"    {_display_path(rel.path)}:{rel.span.line + 1}: {rel.message}\n")
        if not result.ok and result.output.strip():
            # What the module printed before failing is often the best clue.
            lines = result.output.rstrip().splitlines()
            shown = lines[-OUTPUT_TAIL_LINES:]
            more = len(lines) - len(shown)
            out.write(
                f"    output of {result.name}"
                + (f" (last {len(shown)} lines):\n" if more else ":\n")
            )
            out.writelines(f"    | {line}\n" for line in shown)
    failed = len(report.failed)
    total = len(report.results)
    seconds = report.duration_ms / 1000.0
    if failed:
        summary = paint(f"{failed} of {total} modules failed to import", "1;31")
    else:
        summary = paint(f"All {total} modules import cleanly", "1;32")
    out.write(f"{summary} ({seconds:.2f} s, Python {report.python}).\n")


def _display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
