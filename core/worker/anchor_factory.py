"""The anchor factory: forks the tiny processes that lead checks' process groups.

It runs as an interpreter of its own (``python -I -S anchor_factory.py
REQUEST_FD REPLY_FD``, started by procs.Anchors) rather than as a fork of the
process that asks for anchors.  An anchor is a fork of the factory, and a
fork and an exit cost in proportion to what the forked process maps: a
stem's factory forked from the stem held its package and every warm import
(48 MB), and its anchors took about a fifth of the CPU of a save's checks;
a fresh interpreter maps 8 MB.

For each byte read from ``REQUEST_FD`` the factory forks an anchor, makes it
lead a process group of its own, and writes its pid on a line to
``REPLY_FD``.  An anchor only waits, until its group is killed or the
factory is gone.  End of file on ``REQUEST_FD``: the factory exits, and its
anchors with it.

Standard library only, and no import of the worker package: run alone, this
file is all there is.
"""

from __future__ import annotations

import sys
from os import WNOHANG, _exit, close, fork, pipe, read, setpgid, waitpid, write
from select import select

try:  # part of the worker package: a fallback in a process user code ran in
    from .safe import private_builtins
except ImportError:  # run alone, in a fresh interpreter: nothing to guard against
    # (nor any import it does not need: ``typing`` and ``signal`` would double
    # the start-up that a stem's first anchor waits for)
    private_builtins = id  # type: ignore[assignment]

private_builtins(globals())


def serve(request_r: int, reply_w: int) -> None:  # pragma: no cover - runs in the factory
    """Fork an anchor per byte requested, until end of file.  Never returns.

    SIGCHLD must have its default disposition, a new interpreter's."""
    hold_r, hold_w = pipe()  # anchors wait on it: EOF when the factory is gone
    try:
        while True:
            ready = select([request_r], [], [], 1.0)[0]
            _reap_all()
            if not ready:
                continue
            data = read(request_r, 64)
            if not data:
                break
            for _ in data:
                anchor = fork()
                if anchor == 0:
                    setpgid(0, 0)
                    for fd in (request_r, reply_w, hold_w):
                        _close(fd)
                    while read(hold_r, 1):
                        pass
                    _exit(0)
                try:
                    setpgid(anchor, anchor)  # before the asker hears of it: no race
                except OSError:
                    pass
                _write_all(reply_w, b"%d\n" % anchor)
    finally:
        _exit(0)


def _reap_all() -> None:
    while True:
        try:
            pid, _ = waitpid(-1, WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[write(fd, view) :]


def _close(fd: int) -> None:
    try:
        close(fd)
    except OSError:
        pass


if __name__ == "__main__":  # pragma: no cover - the factory's own interpreter
    serve(int(sys.argv[1]), int(sys.argv[2]))
