"""An exception as data, whatever the exception (or the module that raised it) does.

Runs in a check child after user code: every attribute is read through the C
descriptors of the built-in types (a class may override ``__getattribute__``,
``args``, ``__traceback__`` or ``name`` with code of its own), every value is
checked for its type, sizes and frame counts are capped, and each step that
can still fail falls back to less detail.  Describing an exception never
raises: a fresh interpreter always prints *something*, and so does hotmod.

What runs user code on purpose: ``str(exc)``, as a fresh interpreter's
traceback display does, guarded.
"""

from __future__ import annotations

from os import sep
from typing import Any, List, Optional, Tuple

from .protocol import ErrorInfo, Frame, SyntaxInfo
from .safe import (
    exact_int,
    exact_str,
    exception_traceback,
    private_builtins,
    type_module,
    type_name,
    type_qualname,
)

private_builtins(globals())

# A long traceback (infinite recursion) keeps its two ends: the outer one has
# the import chain, the inner one the failing line.
HEAD_FRAMES = 100
TAIL_FRAMES = 100
MESSAGE_LIMIT = 4000

_syntax_members = {
    name: SyntaxError.__dict__[name].__get__
    for name in ("filename", "lineno", "offset", "text", "msg", "end_lineno", "end_offset")
    if name in SyntaxError.__dict__  # end_* are 3.10+
}
_import_name = ImportError.__dict__["name"].__get__
_import_path = ImportError.__dict__["path"].__get__


def _class_text(getter: Any, cls: type, default: str) -> str:
    try:
        return exact_str(getter(cls, type), 300) or default
    except BaseException:
        return default


def classify(exc: BaseException) -> ErrorInfo:
    """What the exception is, without running any of its code."""
    cls = type(exc)
    name = _class_text(type_name, cls, "Exception")
    module = _class_text(type_module, cls, "")
    qualname = _class_text(type_qualname, cls, name)
    return {
        "type": name,
        "qualname": module + "." + qualname if module else qualname,
        "is_import_error": issubclass(cls, ImportError),
        "is_memory_error": issubclass(cls, MemoryError),
        "is_syntax_error": issubclass(cls, SyntaxError),
        "is_system_exit": issubclass(cls, SystemExit),
    }


def message(exc: BaseException) -> str:
    """``str(exc)``, as the traceback display shows it; never raises."""
    try:
        return exact_str(str(exc), MESSAGE_LIMIT)
    except BaseException:  # a hostile __str__ must not hide the verdict
        return "<unprintable %s object>" % _class_text(type_name, type(exc), "exception")


def describe(exc: BaseException, info: ErrorInfo, cwd: str) -> ErrorInfo:
    """``info`` (from ``classify``) completed with the message, frames and details."""
    info["message"] = message(exc)
    try:
        frames, omitted = frames_of(exception_traceback(exc), cwd)
        info["frames"] = frames
        if omitted:
            info["frames_omitted"] = omitted
    except BaseException as failure:  # e.g. an audit hook refusing frame access
        info["frames"] = []
        info["frames_unreadable"] = _class_text(type_name, type(failure), "error")
    if info.get("is_syntax_error"):
        try:
            info["syntax"] = _syntax(exc, cwd)
        except BaseException:
            pass
    if info.get("is_import_error"):
        info["import_name"] = _member_text(_import_name, exc)
        path = _member_text(_import_path, exc)
        info["import_path"] = absolute(path, cwd) if path else None
    return info


def _member_text(getter: Any, exc: BaseException) -> Optional[str]:
    try:
        value = getter(exc)
    except BaseException:
        return None
    return exact_str(value, 4096) if isinstance(value, str) else None


def _member_int(name: str, exc: BaseException) -> Optional[int]:
    getter = _syntax_members.get(name)
    if getter is None:
        return None
    try:
        value = exact_int(getter(exc))
    except BaseException:
        return None
    return value if value is not None and -(1 << 31) < value < (1 << 31) else None


def _syntax(exc: BaseException, cwd: str) -> SyntaxInfo:
    filename = _member_text(_syntax_members["filename"], exc)
    return {
        "file": absolute(filename, cwd) if filename and not filename.startswith("<") else None,
        "line": _member_int("lineno", exc),
        "offset": _member_int("offset", exc),
        "end_line": _member_int("end_lineno", exc),
        "end_offset": _member_int("end_offset", exc),
        "text": _member_text(_syntax_members["text"], exc),
        "msg": _member_text(_syntax_members["msg"], exc) or "",
    }


def frames_of(tb: Any, cwd: str) -> Tuple[List[Frame], int]:
    """The traceback's frames, outermost first; long ones keep both ends.

    Only C attributes of traceback, frame and code objects are read; the
    columns come from ``co_positions`` (3.11+) at the failing instruction.
    """
    chain = []
    while tb is not None and type(tb).__name__ == "traceback":
        chain.append(tb)
        tb = tb.tb_next
    omitted = 0
    if len(chain) > HEAD_FRAMES + TAIL_FRAMES:
        omitted = len(chain) - HEAD_FRAMES - TAIL_FRAMES
        chain = chain[:HEAD_FRAMES] + chain[-TAIL_FRAMES:]
    return [_frame(entry, cwd) for entry in chain], omitted


def _frame(tb: Any, cwd: str) -> Frame:
    code = tb.tb_frame.f_code
    filename = exact_str(code.co_filename, 4096)
    line = exact_int(tb.tb_lineno)
    frame: Frame = {
        "file": filename if filename.startswith("<") else absolute(filename, cwd),
        "line": line if line is not None and line > 0 else 1,
        "function": exact_str(code.co_name, 300),
    }
    positions = getattr(code, "co_positions", None)
    lasti = exact_int(tb.tb_lasti)
    if positions is not None and lasti is not None and lasti >= 0:
        try:
            index = lasti // 2
            for number, position in enumerate(positions()):
                if number == index:
                    start, end, col, end_col = position
                    if start == line:
                        frame["end_line"] = end
                        frame["col"] = col
                        frame["end_col"] = end_col
                    break
        except BaseException:
            pass
    return frame


def absolute(path: str, cwd: str) -> str:
    """``path`` made absolute against the working directory the check started in.

    Not ``os.path.abspath``: it asks ``os.getcwd()`` now, after a module may
    have changed directory, and looks up ``os`` functions a module may replace.
    """
    if path.startswith(sep) or (sep == "\\" and path[1:3] in (":\\", ":/")):
        return path
    return cwd.rstrip(sep) + sep + path
