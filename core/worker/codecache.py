"""Code objects of project files compiled in the zygote, shared by every check.

A check child inherits the cache: a module whose source is byte for byte the
one compiled runs that code object instead of compiling again, which for a
module importing dozens of project modules is most of its set-up.  Bytes, not
mtimes, decide, so it cannot go stale.  Every project file is compiled once
when the worker starts (precompile.py); the zygote compiles again, while idle,
what the children report they had to compile (a file changed since).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Tuple
from warnings import catch_warnings, simplefilter

from .safe import private_builtins

try:
    from hashlib import blake2b

    def digest(data: bytes) -> str:
        """A short digest of a file's bytes: the verdict cache's notion of "unchanged"."""
        return blake2b(data, digest_size=16).hexdigest()

except ImportError:  # pragma: no cover - a Python built without hashlib
    from zlib import crc32

    def digest(data: bytes) -> str:
        return "crc32:%08x:%d" % (crc32(data), len(data))


private_builtins(globals())

# Code objects take about 3.5x their source; beyond this much source, files
# are compiled in every check as before.
LIMIT_BYTES = 8 * 1024 * 1024


class CodeCache:
    def __init__(self) -> None:
        # path -> (source bytes, code object, digest of the bytes)
        self.entries: Dict[str, Tuple[bytes, Any, str]] = {}
        self.size = 0

    def get(self, path: str, source: bytes) -> Optional[Any]:
        entry = self._matching(path, source)
        return entry[1] if entry is not None else None

    def lookup(self, path: str, source: bytes) -> Tuple[Optional[Any], str]:
        """The code compiled from exactly ``source`` (or None), and the bytes'
        digest: hashed here once, not in every check that runs the file."""
        entry = self._matching(path, source)
        return (entry[1], entry[2]) if entry is not None else (None, digest(source))

    def _matching(self, path: str, source: bytes) -> Optional[Tuple[bytes, Any, str]]:
        """``path``'s entry if it was compiled from exactly these bytes."""
        entry = self.entries.get(path)
        return entry if entry is not None and entry[0] == source else None

    def add(self, path: str) -> None:
        """Compile ``path`` as it is now; not kept when that warns or fails
        (see compile_cacheable)."""
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError:
            self.discard(path)
            return
        if self.get(path, source) is not None:
            return  # compiled already, and unchanged
        self.discard(path)
        if self.size + len(source) > LIMIT_BYTES:
            return
        code = compile_cacheable(source, path)
        if code is not None:
            self.put(path, source, code)

    def put(self, path: str, source: bytes, code: Any) -> None:
        """``code``, compiled elsewhere from exactly ``source`` (see precompile.py)."""
        self.discard(path)
        if self.size + len(source) <= LIMIT_BYTES:
            self.entries[path] = (source, code, digest(source))
            self.size += len(source)

    def discard(self, path: str) -> None:
        entry = self.entries.pop(path, None)
        if entry is not None:
            self.size -= len(entry[0])

    def retain(self, files: Iterable[str]) -> None:
        keep = set(files)
        for path in [p for p in self.entries if p not in keep]:
            self.discard(path)


def compile_cacheable(source: bytes, path: str) -> Optional[Any]:
    """The code of ``source``, or None when compiling it fails or warns.

    A warning at compile time (e.g. SyntaxWarning) is part of what a fresh
    import prints: such a file is left to compile in every check.
    """
    with catch_warnings(record=True) as caught:
        simplefilter("always")
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except Exception:  # SyntaxError, ValueError (null bytes), RecursionError...
            return None
    return None if caught else code
