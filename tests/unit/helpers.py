"""Small assertions shared by the unit tests."""

from __future__ import annotations

from hotmod.core import CheckReport, Diagnostic, ModuleResult


def by_name(report: CheckReport) -> dict[str, ModuleResult]:
    return {r.name: r for r in report.results}


def only_diagnostic(result: ModuleResult | None) -> Diagnostic:
    """The single diagnostic of a result (fails the test otherwise)."""
    assert result is not None
    assert len(result.diagnostics) == 1, result.diagnostics
    return result.diagnostics[0]


def line_of(source: str, needle: str) -> int:
    """0-based index of the first line of ``source`` containing ``needle``."""
    for index, text in enumerate(source.splitlines()):
        if needle in text:
            return index
    raise AssertionError(f"{needle!r} not in source")
