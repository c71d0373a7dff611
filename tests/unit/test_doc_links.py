"""Each diagnostic code links to its own section of the reference shipped with hotmod;
the READMEs' links lead somewhere."""

from __future__ import annotations

from pathlib import Path

from hotmod.core.results import Code
from hotmod.server import reference

from ..links import broken, line_of, markdown_links


def test_every_code_links_to_its_section_of_the_shipped_reference() -> None:
    for code in Code:
        href = reference.diagnostic_href(code)
        assert href is not None, f"docs/diagnostics.md has no section '## {code.value}'"
        assert broken(href) is None, broken(href)
        assert line_of(href) == f"## {code.value}"


def test_readme_links_lead_to_files_of_the_repository() -> None:
    """The READMEs outside docs/ (which `make docs` checks strictly)."""
    repo = Path(__file__).resolve().parents[2]
    for readme in (repo / "README.md", repo / "editors" / "nvim" / "README.md"):
        for target in markdown_links(readme.read_text(encoding="utf-8")):
            assert "://" not in target, f"{readme}: {target} is not a file the user has"
            assert (readme.parent / target.partition("#")[0]).exists(), f"{readme}: {target}"
