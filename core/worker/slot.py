"""Where a check child leaves its report: memory shared with the zygote.

A module under check can close or replace every file descriptor it finds
(``os.closerange(3, 4096)``); it cannot unmap memory it does not know of
without ctypes.  The zygote maps a slot before forking the child; the child
writes its report there and the zygote reads it once the child has closed its
end of the result pipe (the wake-up) or exited, whichever it sees.

Two regions: a *minimal* report (outcome, exception type and message) written
the moment the import ends, and the *full* one written after it.  Whatever
happens while the full report is built, the verdict in the minimal one stands.
Each region starts with a 16-byte header: a commit mark, then the payload's
length; the mark is written last.

Without fork (``oneshot``), the report goes through the result pipe instead
(``PipeSlot``): one line per commit, ``M`` or ``F`` and the JSON payload.
"""

from __future__ import annotations

from mmap import mmap
from os import close, write
from typing import List, Optional, Tuple

from .safe import private_builtins

private_builtins(globals())

_MARK = b"hotmod\x00\x02"
_HEADER = 16
_MINIMAL_SIZE = 64 * 1024
SLOT_SIZE = 16 * 1024 * 1024  # address space only: pages are touched as written


class SharedSlot:
    def __init__(self) -> None:
        self.map: Optional[mmap] = mmap(-1, SLOT_SIZE)

    def commit(self, payload: bytes, full: bool) -> bool:
        """Write one report; False when it does not fit (or the slot is closed)."""
        start, size = (_MINIMAL_SIZE, SLOT_SIZE - _MINIMAL_SIZE) if full else (0, _MINIMAL_SIZE)
        room = size - _HEADER
        if self.map is None or len(payload) > room:
            return False
        body = start + _HEADER
        self.map[body : body + len(payload)] = payload
        self.map[start + 8 : start + 16] = len(payload).to_bytes(8, "little")
        self.map[start : start + 8] = _MARK
        return True

    def read(self) -> Tuple[Optional[bytes], bool]:
        """The full report if one was committed, else the minimal one, else None;
        and whether it is the full one."""
        if self.map is not None:
            for start, size in ((_MINIMAL_SIZE, SLOT_SIZE - _MINIMAL_SIZE), (0, _MINIMAL_SIZE)):
                if self.map[start : start + 8] != _MARK:
                    continue
                length = int.from_bytes(self.map[start + 8 : start + 16], "little")
                if 0 <= length <= size - _HEADER:
                    payload = bytes(self.map[start + _HEADER : start + _HEADER + length])
                    return payload, start == _MINIMAL_SIZE
        return None, False

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
            self.map = None


class PipeSlot:
    """The child's side of a report written to a pipe (no fork: a fresh subprocess)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def commit(self, payload: bytes, full: bool) -> bool:
        data = (b"F" if full else b"M") + payload + b"\n"
        view = memoryview(data)
        try:
            while view:
                view = view[write(self.fd, view) :]
        except OSError:
            return False
        return True

    def close(self) -> None:
        try:
            close(self.fd)
        except OSError:
            pass


def best_of_lines(data: bytes) -> Tuple[Optional[bytes], bool]:
    """The zygote's side of a PipeSlot, as ``SharedSlot.read``."""
    found: List[Optional[bytes]] = [None, None]
    for line in data.split(b"\n")[:-1]:  # the last piece is cut short or empty
        if line[:1] == b"F":
            found[0] = line[1:]
        elif line[:1] == b"M":
            found[1] = line[1:]
    if found[0] is not None:
        return found[0], True
    return found[1], False
