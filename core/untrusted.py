"""Data from an untrusted process, checked against the protocol's declarations.

A check's result comes from a process that ran user code (hotmod.core.worker):
it is checked against the TypedDicts of ``worker/protocol.py`` before the
engine reads it, so that the declaration is the only description of the wire
format.  ``validated`` never raises: a value of the wrong type is dropped
(an optional key, a list item), replaced by nothing, or makes its enclosing
object invalid (a required key).  Sizes are bounded: numbers, string lengths,
list lengths and nesting depth.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, is_typeddict

T = TypeVar("T")

MAX_INT = 2**53  # beyond this a number is not a count, a line or a size
MAX_FLOAT = 1e15
MAX_STR = 1 << 20  # characters; longer strings are cut
MAX_ITEMS = 100_000  # list and dict entries; more are dropped
MAX_DEPTH = 200

_INVALID = object()
_hints: dict[type, dict[str, Any]] = {}


def validated(schema: type[T], value: object) -> T | None:
    """``value`` if it fits ``schema`` (a TypedDict), cleaned; None if it does not."""
    result = _check(schema, value, 0)
    return None if result is _INVALID else cast(T, result)


def _check(schema: Any, value: object, depth: int) -> Any:
    if depth > MAX_DEPTH:
        return _INVALID
    if schema is Any:
        return value
    if schema is None or schema is type(None):
        return None if value is None else _INVALID
    if schema is bool:
        return value if type(value) is bool else _INVALID
    if schema is int:
        return value if type(value) is int and -MAX_INT <= value <= MAX_INT else _INVALID
    if schema is float:
        if type(value) in (int, float) and math.isfinite(value) and abs(value) <= MAX_FLOAT:  # type: ignore[arg-type]
            return float(value)  # type: ignore[arg-type]
        return _INVALID
    if schema is str:
        return value[:MAX_STR] if type(value) is str else _INVALID
    if is_typeddict(schema):
        return _check_typeddict(schema, value, depth)
    origin, args = get_origin(schema), get_args(schema)
    if origin is Literal:
        return value if any(type(value) is type(a) and value == a for a in args) else _INVALID
    if origin is Union or origin is types.UnionType:
        for option in args:
            checked = _check(option, value, depth)
            if checked is not _INVALID:
                return checked
        return _INVALID
    if origin is list:
        if type(value) is not list:
            return _INVALID
        items = (_check(args[0], item, depth + 1) for item in value[:MAX_ITEMS])
        return [item for item in items if item is not _INVALID]
    if origin is dict:
        if type(value) is not dict:
            return _INVALID
        clean = {}
        for key, item in list(value.items())[:MAX_ITEMS]:
            checked = _check(args[1], item, depth + 1)
            if type(key) is str and checked is not _INVALID:
                clean[key[:MAX_STR]] = checked
        return clean
    if origin is tuple:
        if type(value) not in (list, tuple) or len(value) != len(args):  # type: ignore[arg-type]
            return _INVALID
        checked = tuple(_check(a, v, depth + 1) for a, v in zip(args, value, strict=True))  # type: ignore[call-overload]
        return _INVALID if any(item is _INVALID for item in checked) else checked
    raise TypeError(f"untrusted: no rule for {schema!r}")  # a protocol declaration hotmod lacks


def _check_typeddict(schema: type, value: object, depth: int) -> Any:
    if type(value) is not dict:
        return _INVALID
    hints = _hints.get(schema)
    if hints is None:
        hints = _hints[schema] = typing.get_type_hints(schema)
    required: frozenset[str] = getattr(schema, "__required_keys__", frozenset())
    clean = {}
    for key, hint in hints.items():
        if key not in value:
            if key in required:
                return _INVALID
            continue
        checked = _check(hint, value[key], depth + 1)
        if checked is _INVALID:
            if key in required:
                return _INVALID
            continue
        clean[key] = checked
    return clean
