"""Read the client's messages from stdin on the event loop itself.

pygls reads stdin on its thread pool, one thread hand-off for every header
line and body: three round trips between threads per message, which showed
up as about a millisecond on every save.  An asyncio pipe reader has none.
"""

from __future__ import annotations

import asyncio
import os
import stat
from typing import BinaryIO

# A message body is read with one readexactly(); a header line is short.
_LINE_LIMIT = 1 << 20


class PipeReader:
    """pygls' ``AsyncReader`` (``readline``, ``readexactly``) over an asyncio pipe."""

    def __init__(self, pipe: BinaryIO) -> None:
        self.pipe = pipe
        self._stream: asyncio.StreamReader | None = None

    async def _reader(self) -> asyncio.StreamReader:
        if self._stream is None:
            loop = asyncio.get_running_loop()
            stream = asyncio.StreamReader(limit=_LINE_LIMIT)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), self.pipe)
            self._stream = stream
        return self._stream

    async def readline(self) -> bytes:
        return await (await self._reader()).readline()

    async def readexactly(self, n: int) -> bytes:
        try:
            return await (await self._reader()).readexactly(n)
        except asyncio.IncompleteReadError:
            return b""  # the client went away mid-message: pygls stops on b""


def can_read_async(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """Whether ``stdin`` can be read by the loop without side effects.

    The loop makes the descriptor non-blocking.  When stdin and stdout are one
    open file (a terminal, one socket), that would make writes to stdout
    non-blocking too, and a large message could fail half-written.  POSIX
    only: Windows' event loop cannot read an ordinary (non-overlapped) pipe.
    """
    if os.name != "posix":
        return False
    try:
        fd_in, fd_out = stdin.fileno(), stdout.fileno()
        st_in, st_out = os.fstat(fd_in), os.fstat(fd_out)
    except (OSError, ValueError, AttributeError):
        return False
    if (st_in.st_dev, st_in.st_ino) == (st_out.st_dev, st_out.st_ino):
        return False
    return stat.S_ISFIFO(st_in.st_mode) or stat.S_ISSOCK(st_in.st_mode)
