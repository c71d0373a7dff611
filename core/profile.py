"""Profiles of one module's import: hottest lines, import tree, call tree, functions.

The worker measures (``worker/profiler.py``); this module turns its data
(validated against ``ProfileData``) into frozen values, plain JSON, and text
for the CLI.
Lines are 1-based here, as editors and tracebacks show them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bytesize import format_bytes
from .diagnose import SourceLines
from .results import ModuleResult
from .worker.protocol import CheckResult, ProfileCall, ProfileImport

# Lines and functions listed in JSON and text (the HTML report has them all).
TOP_LINES = 20
TOP_FUNCTIONS = 30


@dataclass(frozen=True)
class LineProfile:
    line: int  # 1-based
    hits: int
    ms: float  # on this line, including what it called and imported
    self_ms: float  # without the imports it started (they are in the import tree)
    bytes: int  # net traced bytes still held after the line, including its imports
    self_bytes: int
    text: str


@dataclass(frozen=True)
class ImportTiming:
    """One module imported fresh during the profile (like a ``-X importtime`` row)."""

    name: str
    path: Path | None
    project: bool
    importer: Path | None  # the file whose statement imported it
    line: int | None  # that statement's line, 1-based
    ms: float  # find + load, cumulative
    self_ms: float  # without nested imports
    bytes: int
    error: str | None
    children: tuple[ImportTiming, ...] = ()


@dataclass(frozen=True)
class CallNode:
    name: str
    path: Path | None
    line: int
    kind: str  # "root", "import", "module" (a module's top level) or "function"
    calls: int
    ms: float
    self_ms: float
    children: tuple[CallNode, ...] = ()


@dataclass(frozen=True)
class FunctionStat:
    name: str
    path: Path | None
    line: int
    calls: int
    ms: float  # cumulative (recursion counted once)
    self_ms: float


@dataclass(frozen=True)
class ModuleProfile:
    module: str
    path: Path
    ok: bool
    error: str | None  # the failure, when the import failed (the profile stops there)
    total_ms: float
    memory_traced: bool
    lines: tuple[LineProfile, ...]  # in line order
    imports: tuple[ImportTiming, ...]  # the module's own imports (its import's children)
    calls: CallNode | None
    functions: tuple[FunctionStat, ...]  # by self time, slowest first
    truncated: bool  # the call tree hit its size cap
    result: ModuleResult
    html: Path | None = None  # the report, once written

    @property
    def hottest(self) -> tuple[LineProfile, ...]:
        """Lines by self time, slowest first."""
        return tuple(sorted(self.lines, key=lambda line: (-line.self_ms, line.line)))

    @property
    def message(self) -> str:
        state = "ok" if self.ok else f"failed: {self.error}"
        top = self.hottest[:1]
        where = f"; hottest line {top[0].line} ({top[0].self_ms:.1f} ms)" if top else ""
        return f"Profiled {self.module} ({state}): {self.total_ms:.1f} ms{where}"


class ProfileUnavailable(Exception):
    """The import ended without a profile (a timeout, a crash); worded for the user."""


def build_profile(raw: CheckResult, result: ModuleResult) -> ModuleProfile:
    """A ModuleProfile from the worker's check result with ``"profile": true``."""
    data = raw.get("profile")
    if data is None or ("error" in data and "lines" not in data):
        why = data.get("error") if data is not None else None
        if why is None:
            why = result.diagnostics[0].message if result.diagnostics else "no profile returned"
        raise ProfileUnavailable(f"cannot profile {result.name}: {why}")
    path = str(data.get("file") or result.path)
    lines = SourceLines()
    line_rows = tuple(
        LineProfile(
            line=line,
            hits=hits,
            ms=ms,
            self_ms=self_ms,
            bytes=size,
            self_bytes=self_size,
            text=lines.line(path, line).strip(),
        )
        for line, hits, ms, self_ms, size, self_size in data.get("lines", ())
    )
    roots = [_import(entry) for entry in data.get("imports", ())]
    own = next((i for i in roots if i.name == result.name), None)
    if own is None:  # imported by its parent package's __init__: search the tree
        own = next((i for i in _walk_imports(roots) if i.name == result.name), None)
    imports = own.children if own is not None else tuple(roots)
    calls = _call(data["calls"]) if "calls" in data else None
    error = None
    if not result.ok:
        error = result.diagnostics[0].message if result.diagnostics else "the import failed"
    return ModuleProfile(
        module=result.name,
        path=result.path,
        ok=result.ok,
        error=error,
        total_ms=data.get("total_ms", 0.0),
        memory_traced=data.get("memory_traced", False),
        lines=line_rows,
        imports=imports,
        calls=calls,
        functions=tuple(aggregate_functions(calls)) if calls else (),
        truncated=data.get("truncated", False),
        result=result,
    )


def _optional_path(value: str | None) -> Path | None:
    return Path(value) if value and not value.startswith("<") else None


def _import(entry: ProfileImport) -> ImportTiming:
    return ImportTiming(
        name=entry.get("name", "?"),
        path=_optional_path(entry.get("file")),
        project=entry.get("project", False),
        importer=_optional_path(entry.get("importer")),
        line=entry.get("line"),
        ms=entry.get("ms", 0.0),
        self_ms=entry.get("self_ms", 0.0),
        bytes=entry.get("bytes", 0),
        error=entry.get("error"),
        children=tuple(_import(c) for c in entry.get("children", ())),
    )


def _walk_imports(entries: Iterable[ImportTiming]) -> Iterable[ImportTiming]:
    for entry in entries:
        yield entry
        yield from _walk_imports(entry.children)


def _call(node: ProfileCall) -> CallNode:
    children = tuple(_call(c) for c in node.get("children", ()))
    ms = node.get("ms", 0.0)
    return CallNode(
        name=node.get("name", "?"),
        path=_optional_path(node.get("file")),
        line=node.get("line", 0),
        kind=node.get("kind", "function"),
        calls=node.get("calls", 0),
        ms=ms,
        # Folded (tiny) children and C functions count as the node's own time.
        self_ms=max(0.0, ms - sum(c.ms for c in children)),
        children=children,
    )


def aggregate_functions(root: CallNode) -> list[FunctionStat]:
    """Per-function totals over the call tree, by self time (like pstats' tottime)."""
    totals: dict[tuple[str, str, int], list[float]] = {}
    paths: dict[tuple[str, str, int], Path | None] = {}

    def visit(node: CallNode, active: frozenset[tuple[str, str, int]]) -> None:
        key = (node.name, str(node.path), node.line)
        if node.kind in ("function", "module"):
            row = totals.setdefault(key, [0.0, 0.0, 0.0])
            paths[key] = node.path
            row[0] += node.calls
            row[2] += node.self_ms
            if key not in active:  # a recursive call is inside its outer call's time
                row[1] += node.ms
            active = active | {key}
        for child in node.children:
            visit(child, active)

    visit(root, frozenset())
    stats = [
        FunctionStat(key[0], paths[key], key[2], int(row[0]), row[1], row[2])
        for key, row in totals.items()
    ]
    stats.sort(key=lambda s: (-s.self_ms, s.name))
    return stats


# -- output ---------------------------------------------------------------------
def profile_json(profile: ModuleProfile) -> dict[str, Any]:
    """The documented JSON shape (``hotmod profile --format json``, ``hotmod.profileModule``)."""
    return {
        "module": profile.module,
        "path": str(profile.path),
        "status": "ok" if profile.ok else "error",
        "error": profile.error,
        "total_ms": round(profile.total_ms, 3),
        "memory_traced": profile.memory_traced,
        "lines": [_line_json(line) for line in profile.hottest[:TOP_LINES]],
        "imports": [_import_json(i) for i in profile.imports],
        "functions": [
            {
                "name": f.name,
                "path": str(f.path) if f.path else None,
                "line": f.line,
                "calls": f.calls,
                "ms": round(f.ms, 3),
                "self_ms": round(f.self_ms, 3),
            }
            for f in profile.functions[:TOP_FUNCTIONS]
        ],
        "calls": _call_json(profile.calls) if profile.calls else None,
        "truncated": profile.truncated,
        "html": str(profile.html) if profile.html else None,
        "message": profile.message,
    }


def _line_json(line: LineProfile) -> dict[str, Any]:
    return {
        "line": line.line,
        "hits": line.hits,
        "ms": round(line.ms, 3),
        "self_ms": round(line.self_ms, 3),
        "bytes": line.bytes,
        "self_bytes": line.self_bytes,
        "text": line.text,
    }


def _import_json(entry: ImportTiming) -> dict[str, Any]:
    return {
        "name": entry.name,
        "path": str(entry.path) if entry.path else None,
        "project": entry.project,
        "line": entry.line,
        "ms": round(entry.ms, 3),
        "self_ms": round(entry.self_ms, 3),
        "bytes": entry.bytes,
        "error": entry.error,
        "children": [_import_json(c) for c in entry.children],
    }


def _call_json(node: CallNode) -> dict[str, Any]:
    return {
        "name": node.name,
        "path": str(node.path) if node.path else None,
        "line": node.line,
        "kind": node.kind,
        "calls": node.calls,
        "ms": round(node.ms, 3),
        "self_ms": round(node.self_ms, 3),
        "children": [_call_json(c) for c in node.children],
    }


def format_text(profile: ModuleProfile, top: int = 10) -> str:
    """What ``hotmod profile`` prints: hottest lines, the import tree, top functions."""
    out: list[str] = []
    state = "ok" if profile.ok else "FAILED"
    out.append(f"{profile.module} ({_display(profile.path)}): {profile.total_ms:.1f} ms, {state}")
    if profile.error:
        out.append(f"  error: {profile.error} (profile up to the failure)")
    out.append("")
    out.append(f"Hottest lines (own time, without imports; top {top}):")
    out.append(f"  {'line':>5} {'self ms':>9} {'share':>6} {'hits':>6} {'memory':>9}  code")
    total = profile.total_ms or 1.0
    for line in profile.hottest[:top]:
        out.append(
            f"  {line.line:>5} {line.self_ms:>9.1f} {100 * line.self_ms / total:>5.1f}%"
            f" {line.hits:>6} {format_bytes(line.self_bytes):>9}  {line.text[:60]}"
        )
    out.append("")
    if profile.imports:
        out.append("Imports (cumulative / self ms):")
        out.extend(_import_lines(profile.imports, 1))
    else:
        out.append("Imports: none that were not already loaded (third-party imports are warm).")
    if profile.functions:
        out.append("")
        out.append(f"Functions by own time (top {top}):")
        for f in profile.functions[:top]:
            where = f"{_display(f.path)}:{f.line}" if f.path else ""
            row = f"  {f.self_ms:>9.1f} {f.ms:>9.1f} {f.calls:>7} calls  {f.name[:50]}  {where}"
            out.append(row.rstrip())
    return "\n".join(out) + "\n"


def _import_lines(entries: Sequence[ImportTiming], depth: int) -> list[str]:
    out: list[str] = []
    for entry in sorted(entries, key=lambda e: -e.ms):
        at = f"  {entry.importer.name}:{entry.line}" if entry.importer and entry.line else ""
        failed = f"  raised {entry.error}" if entry.error else ""
        label = ("  " * depth + entry.name)[:48]
        out.append(f"{label:<48} {entry.ms:>9.1f} {entry.self_ms:>9.1f}{at}{failed}")
        out.extend(_import_lines(entry.children, depth + 1))
    return out


def _display(path: Path | None) -> str:
    if path is None:
        return "?"
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
