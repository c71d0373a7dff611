"""Whether a link hotmod emits leads to something the user has."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

# [label](target) in Markdown; the renderer escapes spaces and ")" in targets
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def broken(url: str) -> str | None:
    """Why ``url`` leads nowhere, else None. A link must be a ``file:`` URI of an
    existing file, with at most a ``#L<line>`` fragment within the file: no
    documentation site is published."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return f"{url}: not a file the user has"
    path = Path(unquote(parts.path))
    if not path.is_file():
        return f"{url}: no such file"
    if parts.fragment:
        line = re.fullmatch(r"L(\d+)", parts.fragment)
        if line is None:
            return f"{url}: the fragment is not #L<line>"
        count = _lines(path)
        if not 1 <= int(line.group(1)) <= count:
            return f"{url}: the file has {count} lines"
    return None


def _lines(path: Path) -> int:
    """Lines an editor shows: an empty file still has its first."""
    return max(1, len(path.read_text(encoding="utf-8", errors="replace").splitlines()))


def line_of(url: str) -> str:
    """The line a ``file:…#L<n>`` link points at."""
    parts = urlsplit(url)
    n = int(parts.fragment.removeprefix("L"))
    return Path(unquote(parts.path)).read_text(encoding="utf-8").splitlines()[n - 1]


def markdown_links(text: str) -> list[str]:
    return MARKDOWN_LINK.findall(text)
