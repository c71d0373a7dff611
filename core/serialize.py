"""Plain JSON shapes of engine results (the CLI's ``--format json`` and command results)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, Union, cast

from .results import CheckReport, Diagnostic, ModuleResult

JSON_FORMAT_VERSION = 1
T = TypeVar("T")


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


def from_plain(cls: type[T], data: Any) -> T:
    """The inverse of ``to_jsonable`` for hotmod's frozen result types.

    Follows the dataclass's type hints (dataclasses, enums, paths, tuples,
    optional values, plain scalars); raises TypeError, ValueError or KeyError on
    data of another shape (e.g. written by another version of hotmod).
    """
    return cast(T, _converter(cast(Any, cls))(data))


Convert = Callable[[Any], Any]


@functools.cache
def _converter(hint: Any) -> Convert:
    """How to read data of type ``hint``, worked out once per type: the verdict
    cache reads thousands of results when an editor opens a project."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass_converter(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        inner = _converter(next(a for a in args if a is not type(None)))
        if type(None) not in args:
            return inner
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        item = _converter(args[0])

        def sequence(data: Any) -> Any:
            if not isinstance(data, list):
                raise TypeError(f"expected a list, got {type(data).__name__}")
            return tuple(item(v) for v in data)

        return sequence
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if hint is Path:
        return _path
    if hint is float:

        def number(data: Any) -> Any:
            if isinstance(data, (int, float)) and not isinstance(data, bool):
                return float(data)
            raise TypeError(f"expected float, got {type(data).__name__} {data!r:.60}")

        return number

    def scalar(data: Any) -> Any:
        if type(data) is hint:
            return data
        raise TypeError(f"expected {hint}, got {type(data).__name__} {data!r:.60}")

    return scalar


def _dataclass_converter(cls: type) -> Convert:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _converter(hints[f.name]) for f in dataclasses.fields(cls)}

    def convert(data: Any) -> Any:
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        return cls(**{k: fields[k](v) for k, v in data.items() if k in fields})

    return convert


@functools.lru_cache(maxsize=4096)
def _path(data: Any) -> Path:
    """Paths repeat (a module's file in each of its diagnostics): made once each."""
    if not isinstance(data, str):
        raise TypeError(f"expected a path, got {type(data).__name__}")
    return Path(data)


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
