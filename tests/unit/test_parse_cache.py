"""Parsed imports kept between sessions by content (core/parse_cache.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hotmod.core import engine as engine_module
from hotmod.core.imports import ParsedModule
from hotmod.core.parse_cache import FILE_NAME, ParseCache

from ..conftest import Workspace

FILES = {
    "app/__init__.py": "from . import util\n",
    "app/util.py": "import json\n\ndef slug(x):\n    return json.dumps(x)\n",
    "app/models.py": (
        "from __future__ import annotations\n"
        "import app.util as u\n"
        "from app import util\n"
        "try:\n    import numpy as np\nexcept ImportError:\n    np = None\n"
        "def f():\n    from app.util import slug\n    return u.slug(1), util.slug\n"
        "ORDER = [c for c in 'ab']\n"
    ),
    "broken.py": "def f(:\n",
}


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The modules the engine parsed (rather than took from the cache)."""
    seen: list[str] = []
    real: Callable[..., ParsedModule] = engine_module.parse_imports

    def counting(info: object, source: bytes) -> ParsedModule:
        seen.append(getattr(info, "name", "?"))
        return real(info, source)

    monkeypatch.setattr(engine_module, "parse_imports", counting)
    return seen


def parsed_by_module(workspace: Workspace) -> dict[str, ParsedModule | None]:
    with workspace.engine() as engine:
        engine.scan()
        return {name: engine.parsed(name) for name in engine.modules}


def test_a_second_session_parses_nothing_and_gets_the_same_imports(
    workspace: Workspace, parses: list[str]
) -> None:
    workspace.write(FILES)
    first = parsed_by_module(workspace)
    assert sorted(parses) == ["app", "app.models", "app.util", "broken"]
    parses.clear()
    again = parsed_by_module(workspace)
    assert parses == []
    assert again == first
    assert not again["broken"].syntax_ok  # type: ignore[union-attr]


def test_an_edited_file_is_parsed_again_and_only_it(
    workspace: Workspace, parses: list[str]
) -> None:
    workspace.write(FILES)
    parsed_by_module(workspace)
    parses.clear()
    workspace.write({"app/util.py": "import csv\n"})
    again = parsed_by_module(workspace)
    assert parses == ["app.util"]
    assert [r.target for r in again["app.util"].imports] == ["csv"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "damage",
    [b"{not json", b'{"parser": "other", "entries": {}}', b'{"parser": 1}', b"[]"],
    ids=["corrupt", "other-parser", "no-entries", "wrong-shape"],
)
def test_a_damaged_or_foreign_cache_is_only_a_parse(
    workspace: Workspace, parses: list[str], damage: bytes
) -> None:
    workspace.write(FILES)
    first = parsed_by_module(workspace)
    cache = ParseCache(workspace.root).path
    assert cache.name == FILE_NAME and cache.exists()
    cache.write_bytes(damage)
    parses.clear()
    assert parsed_by_module(workspace) == first
    assert len(parses) == 4


def test_the_key_is_the_content_name_and_kind(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write({"a.py": "import os\n", "b.py": "import os\n"})
    with workspace.engine() as engine:
        a, b = engine.modules["a"], engine.modules["b"]
    assert ParseCache.key(a, b"import os\n") != ParseCache.key(b, b"import os\n")
    assert ParseCache.key(a, b"import os\n") != ParseCache.key(a, b"import sys\n")
    assert ParseCache.key(a, b"import os\n") == ParseCache.key(a, b"import os\n")
