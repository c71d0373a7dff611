"""JSON on file descriptors, with functions bound before any user code ran.

``json.dumps`` looks up its encoder in module globals that a warm third-party
import or a module under check may replace (``json.dumps = ...``,
``json.encoder.c_make_encoder = None``); ``encode`` here uses the C string
encoder bound at start and nothing else, and writes plain types only.
"""

from __future__ import annotations

from json import JSONDecoder
from math import isfinite
from os import read, write
from typing import Any, Callable, List, Optional

from .safe import exact_int, exact_str, join, private_builtins

private_builtins(globals())

try:
    from _json import encode_basestring_ascii as _quote
except ImportError:  # pragma: no cover - CPython always has _json
    from json.encoder import py_encode_basestring_ascii as _quote

_decode: Callable[[str], Any] = JSONDecoder().decode
_float_repr = float.__repr__
_int_repr = int.__repr__
_MAX_DEPTH = 400


def encode(value: object) -> str:
    """``value`` as compact JSON; anything that is not plain JSON data becomes null.

    Subclasses of ``str``/``int`` are read as their plain values (their methods
    never run); non-finite floats become null; tuples become lists.
    """
    parts: List[str] = []
    _encode(value, parts.append, 0)
    return join(parts)


def _encode(value: object, out: Callable[[str], None], depth: int) -> None:
    if value is None or depth > _MAX_DEPTH:
        out("null")
    elif type(value) is bool:
        out("true" if value else "false")
    elif type(value) is str:
        out(_quote(value))
    elif type(value) is int:
        out(_int_repr(value))
    elif type(value) is float:
        out(_float_repr(value) if isfinite(value) else "null")
    elif type(value) is dict:
        out("{")
        first = True
        for key, item in value.items():
            if type(key) is not str:
                continue
            if not first:
                out(",")
            first = False
            out(_quote(key))
            out(":")
            _encode(item, out, depth + 1)
        out("}")
    elif type(value) is list or type(value) is tuple:
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _encode(item, out, depth + 1)
        out("]")
    elif isinstance(value, str):
        out(_quote(exact_str(value, 1 << 20)))
    elif isinstance(value, int):
        number = exact_int(value)
        out("null" if number is None else _int_repr(number))
    else:
        out("null")


def decode(text: str) -> Any:
    return _decode(text)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[write(fd, view) :]
        except InterruptedError:
            continue


def send(fd: int, message: object) -> None:
    """One message as a JSON line."""
    write_all(fd, (encode(message) + "\n").encode("utf-8"))


class LineReader:
    """JSON lines from a file descriptor, read as they come."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def read_available(self) -> Optional[List[Any]]:
        """The complete messages that one read() brings; None at end of file.

        A line that is not JSON is skipped: the peer is hotmod itself, so that
        is a bug to survive, not a reason to stop.
        """
        try:
            chunk = read(self.fd, 1 << 16)
        except InterruptedError:
            return []
        if not chunk:
            return None
        self.buffer += chunk
        return self.buffered()

    def buffered(self) -> List[Any]:
        """The complete messages already read (``read_one`` reads ahead of its line)."""
        messages = []
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip():
                try:
                    messages.append(_decode(line.decode("utf-8")))
                except ValueError:
                    continue
        return messages

    def read_one(self) -> Any:
        """The next message, blocking; None at end of file."""
        while b"\n" not in self.buffer:
            try:
                chunk = read(self.fd, 1 << 16)
            except InterruptedError:
                continue
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return _decode(line.decode("utf-8"))
