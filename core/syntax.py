"""Syntax checks that run no code: all hotmod does in an untrusted workspace."""

from __future__ import annotations

import importlib.util
import warnings

from .diagnose import SourceLines, syntax_span
from .discovery import ModuleInfo
from .results import Code, Diagnostic, Severity
from .worker.protocol import SyntaxInfo


def syntax_diagnostics(
    info: ModuleInfo, lines: SourceLines | None = None
) -> tuple[Diagnostic, ...]:
    """Compile ``info``'s source without executing it (the server's own Python grammar)."""
    try:
        source = info.path.read_bytes()
    except OSError:
        return ()
    try:
        # Compile text, not bytes: CPython gives columns of errors in bytes
        # source in UTF-8 bytes, wrong on lines with non-ASCII characters.
        text: str | bytes = importlib.util.decode_source(source)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        text = source  # let compile() word the encoding problem itself
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, str(info.path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        syntax: SyntaxInfo = {
            "file": str(info.path),
            "line": exc.lineno,
            "offset": exc.offset,
            "end_line": exc.end_lineno,
            "end_offset": exc.end_offset,
        }
        return (
            Diagnostic(
                path=info.path,
                span=syntax_span(syntax, lines or SourceLines()),
                code=Code.SYNTAX_ERROR,
                severity=Severity.ERROR,
                message=f"{type(exc).__name__}: {exc.msg}",
            ),
        )
    except ValueError as exc:  # e.g. null bytes in the source
        return (
            Diagnostic(
                path=info.path,
                span=(lines or SourceLines()).whole_line(str(info.path), 1),
                code=Code.SYNTAX_ERROR,
                severity=Severity.ERROR,
                message=f"SyntaxError: {exc}",
            ),
        )
    return ()
