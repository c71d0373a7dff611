"""What the worker's code uses after user code ran, captured before it ran.

A module under check may replace builtins (``builtins.isinstance = None``) or
attributes of the standard library (``os.write``, ``json.dumps``,
``time.perf_counter``).  A fresh ``python -c "import m"`` reports its
exception in C and is not affected; hotmod's harness must not be either.

Two rules keep it so:

- every worker module calls ``private_builtins(globals())`` before defining
  anything: its functions then look up builtins in a snapshot taken when the
  worker started (CPython binds a function's builtins from its module's
  ``__builtins__``), not in the ``builtins`` module user code can change;
- functions of other modules are bound by ``from x import y`` when the worker
  starts, never looked up as ``x.y`` at call time.

This file is imported first, before any user or third-party code runs.
"""

from __future__ import annotations

import builtins as _builtins
from typing import Any, Dict

_SNAPSHOT: Dict[str, Any] = dict(_builtins.__dict__)


def private_builtins(namespace: Dict[str, Any]) -> None:
    """Make the functions defined after this call in ``namespace`` use the snapshot."""
    namespace["__builtins__"] = _SNAPSHOT


private_builtins(globals())

# Descriptors read straight from the C types: a class may override
# ``__getattribute__``, ``__name__`` or ``__traceback__`` with code of its own,
# which a fresh interpreter's C error display never runs either.
type_name = type.__dict__["__name__"].__get__
type_qualname = type.__dict__["__qualname__"].__get__
type_module = type.__dict__["__module__"].__get__
exception_traceback = BaseException.__dict__["__traceback__"].__get__
exception_args = BaseException.__dict__["args"].__get__
join = "".join


def exact_str(value: object, limit: int = 4000) -> str:
    """``value`` as a plain ``str`` (a subclass's methods never run), at most ``limit`` long."""
    if type(value) is not str:
        if not isinstance(value, str):
            return ""
        value = join((value,))  # copies the characters, calls no method of the subclass
    text: str = value
    return text if len(text) <= limit else text[:limit]


def exact_int(value: object) -> Any:
    """``value`` as a plain ``int``, or None (bools, floats and others are not ints)."""
    if type(value) is int:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__index__(value)  # the C value, not a subclass's __int__
    return None
