"""The configuration snippets docs/editors.md gives for editors without a hotmod
extension, as the editors would read them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

EDITORS = Path(__file__).resolve().parents[1] / "docs" / "editors.md"


def blocks(language: str) -> list[str]:
    """The ```language blocks of the section "Other editors"."""
    text = EDITORS.read_text(encoding="utf-8")
    other = text[text.index("## Other editors") :]
    return re.findall(rf"```{language}\n(.*?)```", other, re.DOTALL)


def helix_languages() -> dict[str, Any]:
    """The documented `languages.toml`."""
    tables = [tomllib.loads(block) for block in blocks("toml")]
    return next(t for t in tables if "language-server" in t)
