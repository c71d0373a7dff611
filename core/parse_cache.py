"""Each file's parsed imports (core/imports.py), kept between sessions by content.

Parsing is most of a project's discovery (django: about a second for 855
files), and it depends on nothing but the file's bytes, its module name,
whether it is a package, and the parser: those make the key, so an entry
cannot go stale.  One file per workspace in hotmod's cache folder, replaced
atomically after a scan that parsed something new, holding only the current
files' entries.  An unreadable or foreign file is ignored: the cost is a parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from . import imports
from .cachedir import workspace_cache_dir
from .discovery import ModuleInfo
from .imports import ImportRef, ParsedModule

FILE_NAME = "parsed-imports.json"


def _parser_digest() -> str:
    """Any change to the parser's code is a new cache."""
    with open(imports.__file__, "rb") as f:
        return hashlib.blake2b(f.read(), digest_size=16).hexdigest()


class ParseCache:
    def __init__(self, root: Path | str) -> None:
        self.path = workspace_cache_dir(root) / FILE_NAME
        self._parser = _parser_digest()
        self._stored: dict[str, ParsedModule] | None = None

    @staticmethod
    def key(info: ModuleInfo, source: bytes) -> str:
        digest = hashlib.blake2b(source, digest_size=16)
        digest.update(b"\0%s\0%d" % (info.name.encode(), info.is_package))
        return digest.hexdigest()

    def get(self, key: str) -> ParsedModule | None:
        if self._stored is None:
            self._stored = self._load()
        return self._stored.get(key)

    def save(self, entries: Mapping[str, ParsedModule]) -> None:
        """Keep exactly ``entries`` (the current files'); best effort."""
        data = {
            "parser": self._parser,
            "entries": {key: _encode(parsed) for key, parsed in entries.items()},
        }
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".parsed-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    # dumps, not dump: dump streams through the pure-Python encoder.
                    f.write(json.dumps(data, separators=(",", ":")))
                os.replace(temp, self.path)  # another server reads the old or the new
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
        self._stored = dict(entries)

    def _load(self) -> dict[str, ParsedModule]:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
            if data.get("parser") != self._parser:
                return {}
            return {key: _decode(value) for key, value in data["entries"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}


_REF_FIELDS = tuple(fields(ImportRef))  # the order a ref is stored in
_REF_NAMES = tuple(f.name for f in _REF_FIELDS)


def _encode(parsed: ParsedModule) -> list[Any]:
    # A ref's fields are all str, int or bool: read them, no deep copy (astuple's) needed.
    refs = [[getattr(ref, name) for name in _REF_NAMES] for ref in parsed.imports]
    definitions = {name: digest.hex() for name, digest in parsed.definitions.items()}
    return [refs, parsed.syntax_ok, definitions, sorted(parsed.uses)]


def _decode(value: list[Any]) -> ParsedModule:
    refs, syntax_ok, definitions, uses = value
    return ParsedModule(
        tuple(_ref(row) for row in refs),
        bool(syntax_ok),
        {str(name): bytes.fromhex(digest) for name, digest in definitions.items()},
        frozenset(str(u) for u in uses),
    )


# Each field's type, which a stored value is converted to (a corrupt file must not pass).
_REF_KINDS: tuple[type, ...] = tuple(
    {"str": str, "int": int, "bool": bool}[str(f.type)] for f in _REF_FIELDS
)


def _ref(row: list[Any]) -> ImportRef:
    if len(row) != len(_REF_KINDS):
        raise ValueError("a reference of another shape")
    return ImportRef(*[kind(value) for kind, value in zip(_REF_KINDS, row, strict=True)])
