"""The ``hotmod`` command line: ``check``, ``profile``, ``history``, ``run`` and ``serve``.

``hotmod check`` (and profile, history) must not pay for pygls: the server is
imported only when ``serve`` runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from hotmod.core import __version__
from hotmod.core.config import ConfigError
from hotmod.core.profile import ProfileUnavailable
from hotmod.core.worker_client import WorkerError

from .cli_check import check_command
from .cli_profiling import history_command, profile_command
from .cli_run import run_command
from .cli_workspace import EXIT_FAILED, EXIT_USAGE, UsageError

Command = Callable[[argparse.Namespace, TextIO], int]


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
    _workspace_options(check)
    check.add_argument(
        "--dev", action="store_true", default=None, help="dev mode: also warn about slow loads"
    )
    check.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour output (default: auto)",
    )
    check.set_defaults(run=check_command)

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
    _workspace_options(profile)
    profile.set_defaults(run=profile_command)

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
    _workspace_options(history, python=False)
    history.set_defaults(run=history_command)

    run = sub.add_parser(
        "run",
        help="run a program that takes each verified save while it runs",
        usage="%(prog)s [options] -- COMMAND [ARGS ...]",
        description=(
            "Run COMMAND (e.g. `python app.py`, `python -i`) with hotmod's live agent in "
            "its Python processes. Each save is checked (the module and its dependents, "
            "fresh imports) and, when every verdict is ok, applied in place in the running "
            "program, keeping its state; one line per save tells what happened. With an "
            "editor running hotmod's language server on the workspace, the editor checks "
            "and applies instead. Exit status: the program's (126/127: COMMAND cannot be "
            "run / is not found; 2: usage or configuration error)."
        ),
    )
    run.add_argument(
        "--rerun",
        action="store_true",
        help="re-run a module's changed top-level code instead of asking for a restart",
    )
    _workspace_options(run, output=False)
    run.add_argument("program", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    run.set_defaults(run=run_command)

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


def _workspace_options(
    parser: argparse.ArgumentParser, python: bool = True, output: bool = True
) -> None:
    """The options every command that opens a workspace shares (see cli_workspace)."""
    if output:
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="output format (default: text)",
        )
    if python:
        parser.add_argument(
            "--python", metavar="PY", help="interpreter to import with (default: the workspace's)"
        )
    parser.add_argument(
        "--config", metavar="FILE", help="read [tool.hotmod] from FILE instead of pyproject.toml"
    )
    parser.add_argument(
        "--root", metavar="DIR", help="workspace root (default: the project's root folder)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        from .serve import serve  # pygls is only needed here

        return serve(args)
    run: Command | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return run(args, sys.stdout)
    except (ConfigError, WorkerError, UsageError, ProfileUnavailable) as exc:
        sys.stderr.write(f"hotmod: error: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        # `hotmod check | head`: the reader left; say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
