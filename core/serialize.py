"""Plain JSON shapes of engine results (the CLI's ``--format json`` and command results)."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

from .results import CheckReport, Diagnostic, ModuleResult

JSON_FORMAT_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, paths and tuples as JSON-ready builtins."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    """The documented CLI shape: 1-based lines and columns."""
    return {
        "path": str(d.path),
        "line": d.span.line + 1,
        "column": d.span.column + 1,
        "end_line": d.span.end_line + 1,
        "end_column": d.span.end_column + 1,
        "code": d.code.value,
        "severity": d.severity.value,
        "message": d.message,
        "related": [
            {"path": str(r.path), "line": r.span.line + 1, "message": r.message} for r in d.related
        ],
    }


def module_json(r: ModuleResult) -> dict[str, Any]:
    return {
        "name": r.name,
        "path": str(r.path),
        "status": r.status,
        "load_ms": round(r.load_ms, 3),
        "self_ms": round(r.self_ms, 3),
        "memory_bytes": r.memory.bytes,
        "diagnostics": [diagnostic_json(d) for d in r.diagnostics],
        "output": r.output,  # what the module printed (capped)
        "output_truncated": r.output_truncated,
    }


def report_json(report: CheckReport) -> dict[str, Any]:
    return {
        "version": JSON_FORMAT_VERSION,
        "python": report.python,
        "modules": [module_json(r) for r in report.results],
    }
