"""Each diagnostic code links to its own section of the reference shipped with hotmod."""

from __future__ import annotations

from hotmod.core.results import Code
from hotmod.server import reference

from ..links import broken, line_of


def test_every_code_links_to_its_section_of_the_shipped_reference() -> None:
    for code in Code:
        href = reference.diagnostic_href(code)
        assert href is not None, f"docs/diagnostics.md has no section '## {code.value}'"
        assert broken(href) is None, broken(href)
        assert line_of(href) == f"## {code.value}"
