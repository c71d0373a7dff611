"""The project compiled once, in a helper process, while the zygote warms up.

A project's first checks start all at once, and without this each compiles its
whole closure of project modules (rich: ~60 ms of compiling per check, against
0.13 s for every file once).  The zygote forks a helper before its warm
imports; the helper compiles every project file (packages first: every check
of their modules runs them) and sends each back as its source bytes and the
marshalled code object, which the zygote puts in its code cache
(codecache.py), at start-up and then while it serves.  Marshal is what a
``.pyc`` holds: the code object is the one ``compile`` made, so a check that
runs it runs what a fresh import would have compiled from the same bytes.

Compiling runs no user code, but a pathological file could still crash or
stall a compiler: that happens in the helper, whose death only leaves those
files to be compiled by the checks as before.  A file whose compile warns
is not sent (its warning belongs to each check, see codecache.py).
"""

from __future__ import annotations

from marshal import dumps, loads
from os import O_NONBLOCK, O_RDONLY, close, closerange, fstat, kill, pipe, read, set_blocking
from os import open as open_fd
from signal import SIGKILL
from stat import S_ISREG
from struct import Struct
from typing import List, Optional

from .codecache import LIMIT_BYTES, CodeCache, compile_cacheable
from .procs import close_quietly
from .safe import private_builtins
from .wire import write_all

private_builtins(globals())

try:
    from os import _exit, fork
except ImportError:  # pragma: no cover - not on Windows: the zygote does not fork there
    fork = None  # type: ignore[assignment]

_HEADER = Struct(">III")  # lengths: path, source, marshalled code
# Larger files are left to the checks: the helper must stay small.
MAX_FILE_BYTES = 2 * 1024 * 1024
# A helper still compiling after this much CPU is stuck on something: it is killed.
CPU_LIMIT_S = 60


class Precompiler:
    """A helper process compiling ``paths``; the zygote collects what it sent."""

    def __init__(self, paths: List[str]) -> None:
        self.fd: Optional[int] = None
        self.pid: Optional[int] = None
        self._buffer = bytearray()
        if fork is None or not paths:
            return
        read_end, write_end = pipe()
        pid = fork()
        if pid == 0:  # pragma: no cover - runs in the helper
            try:
                # Nothing of the zygote's (its pipes to the engine above all: the
                # engine must see the worker's end when the zygote ends).
                closerange(3, write_end)
                closerange(write_end + 1, 1 << 16)
                _compile_all(paths, write_end)
            finally:
                _exit(0)
        close(write_end)
        set_blocking(read_end, False)
        self.fd, self.pid = read_end, pid

    def collect(self, code: CodeCache) -> None:
        """Take what the helper has sent so far into ``code``; close at its end."""
        if self.fd is None:
            return
        while True:
            try:
                chunk = read(self.fd, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            if not chunk:  # the helper is done (the zygote's loop reaps it)
                close_quietly(self.fd)
                self.fd = None
                break
            self._buffer += chunk
        self._take(code)

    def _take(self, code: CodeCache) -> None:
        view = self._buffer
        offset = 0
        while len(view) - offset >= _HEADER.size:
            lengths = _HEADER.unpack_from(view, offset)
            end = offset + _HEADER.size + sum(lengths)
            if len(view) < end:
                break
            start = offset + _HEADER.size
            path = bytes(view[start : start + lengths[0]]).decode("utf-8", "surrogateescape")
            start += lengths[0]
            source = bytes(view[start : start + lengths[1]])
            start += lengths[1]
            try:
                code.put(path, source, loads(bytes(view[start:end])))
            except (ValueError, EOFError, TypeError):
                pass  # not from a compile this interpreter can run: the check compiles it
            offset = end
        del self._buffer[:offset]

    def reaped(self, pid: int) -> None:
        if pid == self.pid:
            self.pid = None

    def close(self) -> None:
        """Stop collecting; the helper, if still compiling, is killed (and reaped by
        the zygote's loop like any child)."""
        if self.fd is not None:
            close_quietly(self.fd)
            self.fd = None
        if self.pid is not None:  # not reaped yet: the pid is still the helper's
            try:
                kill(self.pid, SIGKILL)
            except OSError:
                pass
            self.pid = None


def _compile_all(paths: List[str], out: int) -> None:  # pragma: no cover - in the helper
    try:
        from resource import RLIMIT_CPU, setrlimit

        setrlimit(RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))
    except (ImportError, OSError, ValueError):
        pass
    sent = 0
    for path in paths:
        source = _read(path)
        if source is None or sent + len(source) > LIMIT_BYTES:
            continue
        code = compile_cacheable(source, path)
        if code is None:
            continue
        encoded = path.encode("utf-8", "surrogateescape")
        data = dumps(code)
        write_all(out, _HEADER.pack(len(encoded), len(source), len(data)) + encoded + source + data)
        sent += len(source)


def _read(path: str) -> Optional[bytes]:  # pragma: no cover - in the helper
    try:
        # Not blocking: a FIFO named like a module must not stall the helper.
        fd = open_fd(path, O_RDONLY | O_NONBLOCK)
    except OSError:
        return None
    try:
        info = fstat(fd)
        if not S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        parts: List[bytes] = []
        while True:
            chunk = read(fd, 1 << 16)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
    except OSError:
        return None
    finally:
        close(fd)
