"""The documentation shipped with hotmod, and links into it that open locally.

docs/ sits beside this package both in a source tree and in an installed
wheel (pyproject.toml ships its Markdown as hotmod/docs/), so one relative
path finds it. No documentation site is published: a link is a ``file:`` URI
with a ``#L<line>`` fragment, which editors open at that line (the links of
the command reports are the same kind).
"""

from __future__ import annotations

import functools
from pathlib import Path

from hotmod.core.results import Code

DOCS = Path(__file__).resolve().parents[1] / "docs"
DIAGNOSTICS = DOCS / "diagnostics.md"


def diagnostic_href(code: Code) -> str | None:
    """The section of the diagnostics reference about ``code``; None without the file."""
    line = _sections(DIAGNOSTICS).get(code.value)
    return None if line is None else f"{DIAGNOSTICS.as_uri()}#L{line}"


@functools.cache
def _sections(page: Path) -> dict[str, int]:
    """``{title: 1-based line}`` of the page's ``## title`` headings, read once."""
    try:
        lines = page.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    return {line[3:].strip(): n for n, line in enumerate(lines, 1) if line.startswith("## ")}
