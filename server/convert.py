"""Engine values -> LSP types. Pure functions: no I/O, no server state."""

from __future__ import annotations

from hotmod.core.imports import ParsedModule
from hotmod.core.results import Code, Diagnostic, ModuleResult, Severity, Span
from lsprotocol import types
from pygls import uris

SOURCE = "hotmod"
DOCS_URL = "https://hotmod.readthedocs.io/en/latest/diagnostics/#{code}"
# An import statement gets a cost lens when importing it took at least this long.
IMPORT_LENS_MIN_MS = 20.0

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
}


def path_to_uri(path: object) -> str:
    uri: str | None = uris.from_fs_path(str(path))
    assert uri is not None
    return uri


def uri_to_path(uri: str) -> str | None:
    """A filesystem path for ``file:`` URIs, None for other schemes (``untitled:``...)."""
    if not uri.startswith("file:"):
        return None
    return uris.to_fs_path(uri)


def lsp_range(span: Span) -> types.Range:
    return types.Range(
        start=types.Position(line=max(span.line, 0), character=max(span.column, 0)),
        end=types.Position(line=max(span.end_line, 0), character=max(span.end_column, 0)),
    )


def lsp_diagnostic(d: Diagnostic) -> types.Diagnostic:
    return types.Diagnostic(
        range=lsp_range(d.span),
        message=d.message,
        severity=_SEVERITY[d.severity],
        code=d.code.value,
        code_description=types.CodeDescription(href=DOCS_URL.format(code=d.code.value)),
        source=SOURCE,
        related_information=[
            types.DiagnosticRelatedInformation(
                location=types.Location(uri=path_to_uri(r.path), range=lsp_range(r.span)),
                message=r.message,
            )
            for r in d.related
        ]
        or None,
    )


def visible(d: Diagnostic, dev_mode: bool) -> bool:
    """Slow-load warnings are a dev-mode concern."""
    return dev_mode or d.code is not Code.SLOW_LOAD


def format_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} B"


def module_lens(result: ModuleResult, reloads: int) -> types.CodeLens:
    memory = format_bytes(result.memory.bytes)
    title = f"{result.self_ms:.1f} ms · {memory} · reloaded {reloads}\u00d7"
    if not result.ok:
        title += " · failed"
    return types.CodeLens(
        range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
        command=types.Command(
            title=title, command="hotmod.reloadModule", arguments=[{"module": result.name}]
        ),
    )


def import_lenses(parsed: ParsedModule, costs: dict[str, float], name: str) -> list[types.CodeLens]:
    """One lens per import statement whose imports cost at least IMPORT_LENS_MIN_MS."""
    per_line: dict[int, tuple[list[str], float]] = {}
    for ref in parsed.imports:
        if ref.in_function or ref.maybe_member:
            continue
        cost = costs.get(ref.target)
        if cost is None:
            continue
        names, total = per_line.get(ref.line, ([], 0.0))
        per_line[ref.line] = ([*names, ref.target], total + cost)
    lenses = []
    for line, (names, total) in sorted(per_line.items()):
        if total < IMPORT_LENS_MIN_MS:
            continue
        lenses.append(
            types.CodeLens(
                range=types.Range(start=types.Position(line, 0), end=types.Position(line, 0)),
                command=types.Command(
                    title=f"import {', '.join(names)} — {total:.0f} ms",
                    command="hotmod.reloadModule",
                    arguments=[{"module": name}],
                ),
            )
        )
    return lenses
