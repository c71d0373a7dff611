"""``hotmod run -- COMMAND...``: run a program that takes each verified save while it runs.

The program runs under a supervisor (``supervisor.py``) with hotmod.live's
agent loaded first; the saves are checked and applied by ``live_run.py``, or
by the editor's language server when one announces the workspace.  Starting a
program this way is the user's consent to apply changes to it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import threading
from typing import TextIO

from hotmod.live.rendezvous import LiveError

from .cli_workspace import UsageError, open_engine
from .supervisor import EXIT_CANNOT_RUN, EXIT_NOT_FOUND, Supervisor


def run_command(args: argparse.Namespace, out: TextIO) -> int:
    """The program's exit status; ``out`` is the program's: hotmod writes to stderr."""
    command = list(args.program)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("no program to run: hotmod run [options] -- COMMAND [ARGS...]")
    if not hasattr(socket, "AF_UNIX"):
        raise UsageError("hotmod run needs Unix sockets (Linux, macOS)")
    say = _Say(sys.stderr)
    if shutil.which(command[0]) is None:
        missing = os.sep not in command[0] or not os.path.exists(command[0])
        say(f"error: {command[0]}: {'command not found' if missing else 'not an executable file'}")
        return EXIT_NOT_FOUND if missing else EXIT_CANNOT_RUN
    from .live_run import LiveRun  # watchdog: for this command only

    with open_engine(args, None) as engine:
        try:
            supervisor = Supervisor(command, engine.root, say, rerun=args.rerun)
        except LiveError as exc:
            raise UsageError(str(exc)) from None
        live = LiveRun(engine, supervisor.socket, say, rerun=args.rerun)
        live.start()
        try:
            return supervisor.run()
        except LiveError as exc:
            raise UsageError(str(exc)) from None
        finally:
            live.close()


class _Say:
    """``hotmod: `` lines on the terminal the program shares, one at a time."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self.lock:
            try:
                self.stream.write(f"hotmod: {line}\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass  # the terminal went away; the program's exit still counts
