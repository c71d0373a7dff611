"""Engine values -> LSP types. Pure functions: no server state (the shipped
diagnostics reference is read once, for its links)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotmod.core.bytesize import format_bytes
from hotmod.core.history import Trend
from hotmod.core.imports import ParsedModule
from hotmod.core.profile import ModuleProfile
from hotmod.core.report_markdown import format_ms
from hotmod.core.results import Code, Diagnostic, ModuleResult, Severity, Span
from lsprotocol import types
from pygls import uris

from . import reference

if TYPE_CHECKING:  # live reload's modules are imported once it is used
    from hotmod.core.live_links import Refusal

SOURCE = "hotmod"
CACHED_SOURCE = "hotmod (cached)"
LIVE_SOURCE = "hotmod live"  # what live reload could not apply to a running program
# An import statement gets a cost lens when importing it took at least this long.
IMPORT_LENS_MIN_MS = 20.0
# After a profile, up to this many top-level lines get a lens: those taking at
# least HOT_LINE_MIN_SHARE of the import and HOT_LINE_MIN_MS.
HOT_LINES = 3
HOT_LINE_MIN_SHARE = 0.05
HOT_LINE_MIN_MS = 1.0
# The load-time trend shows on the module lens from this change on.
TREND_MIN_CHANGE = 0.05

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


def lsp_diagnostic(d: Diagnostic, cached: bool = False) -> types.Diagnostic:
    """``cached``: a verdict of an earlier session, not verified yet (its source says so)."""
    href = reference.diagnostic_href(d.code)
    return types.Diagnostic(
        range=lsp_range(d.span),
        message=d.message,
        severity=_SEVERITY[d.severity],
        code=d.code.value,
        code_description=types.CodeDescription(href=href) if href else None,
        source=CACHED_SOURCE if cached else SOURCE,
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


def module_lens(result: ModuleResult, reloads: int, trend: Trend | None = None) -> types.CodeLens:
    memory = format_bytes(result.memory.bytes)
    # Its own code (and its trend), then what `python -c "import m"` spends on it:
    # like `python -X importtime`'s self and cumulative, parent packages included.
    title = (
        f"self {format_ms(result.self_ms)}{trend_text(trend)} · "
        f"import {format_ms(result.import_ms)} · {memory} · reloaded {reloads}\u00d7"
    )
    if not result.ok:
        title += " · failed"
    return types.CodeLens(
        range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
        command=types.Command(
            title=title, command="hotmod.reloadModule", arguments=[{"module": result.name}]
        ),
    )


def live_lens(processes: int, applied: int, uri: str) -> types.CodeLens:
    """On a module running programs have loaded: in how many, and how often it was applied."""
    title = f"live in {processes} process{'' if processes == 1 else 'es'}"
    if applied:
        title += f" \u00b7 applied {applied}\u00d7"
    return types.CodeLens(
        range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
        command=types.Command(
            title=title, command="hotmod.liveProcesses", arguments=[{"uri": uri}]
        ),
    )


def live_diagnostic(refusal: Refusal) -> types.Diagnostic:
    """A change that the running programs did not take: it needs a restart."""
    line = max(refusal.line - 1, 0)
    return types.Diagnostic(
        range=types.Range(start=types.Position(line, 0), end=types.Position(line + 1, 0)),
        message=f"needs restart: {refusal.reason}",
        severity=types.DiagnosticSeverity.Warning,
        source=LIVE_SOURCE,
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


def trend_text(trend: Trend | None) -> str:
    """`` ▲ 38% vs median``, or nothing when the history is short or the change small."""
    if trend is None or abs(trend.change) < TREND_MIN_CHANGE:
        return ""
    arrow = "\u25b2" if trend.change > 0 else "\u25bc"
    return f" {arrow} {abs(trend.change) * 100:.0f}% vs median"


def hot_line_lenses(profile: ModuleProfile) -> list[types.CodeLens]:
    """Lenses on the hottest top-level lines of a profile (own time, imports excluded)."""
    total = profile.total_ms or 1.0
    lenses = []
    for line in profile.hottest[:HOT_LINES]:
        if line.self_ms < HOT_LINE_MIN_MS or line.self_ms < HOT_LINE_MIN_SHARE * total:
            continue
        title = f"hot line: {line.self_ms:.1f} ms ({100 * line.self_ms / total:.0f}% of the import)"
        if line.hits > 1:
            title += f" · {line.hits}\u00d7"
        if line.self_bytes >= 1024:
            title += f" · +{format_bytes(line.self_bytes)}"
        position = types.Position(line.line - 1, 0)
        lenses.append(
            types.CodeLens(
                range=types.Range(start=position, end=position),
                command=types.Command(
                    title=title,
                    command="hotmod.profileModule",
                    arguments=[{"module": profile.module}],
                ),
            )
        )
    return lenses
