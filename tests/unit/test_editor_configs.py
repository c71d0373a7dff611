"""The editor configurations docs/editors.md gives for Helix, Zed, Sublime Text
and Kate (editors not installable here) are read the way those editors read
them, and what they would send is what the server accepts.

Emacs's configuration runs for real in tests/e2e/emacs.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any

from hotmod.server.commands import COMMANDS
from hotmod.server.settings import parse_settings

from ..editor_docs import blocks, helix_languages


def _jsonblocks() -> list[Any]:
    return [json.loads(block) for block in blocks("json")]


def _accepted_as_trusted(options: object) -> None:
    settings, errors = parse_settings(options, "initializationOptions")
    assert errors == [] and settings.trusted is True, (options, errors)


def test_helix_languages_toml() -> None:
    helix = helix_languages()
    server = helix["language-server"]["hotmod"]
    assert [server["command"], *server["args"]] == ["hotmod", "serve"]
    _accepted_as_trusted(server["config"])  # Helix sends `config` as initializationOptions
    (python,) = helix["language"]
    assert python["name"] == "python" and "hotmod" in python["language-servers"]


def test_zed_extension_and_settings() -> None:
    tables = [tomllib.loads(block) for block in blocks("toml")]
    manifest = next(t for t in tables if "language_servers" in t)
    assert manifest["language_servers"]["hotmod"]["languages"] == ["Python"]
    cargo = next(t for t in tables if "package" in t)
    assert cargo["lib"]["crate-type"] == ["cdylib"] and "zed_extension_api" in cargo["dependencies"]
    (rust,) = blocks("rust")
    assert 'which("hotmod")' in rust and 'vec!["serve".into()]' in rust
    settings = next(j for j in _jsonblocks() if isinstance(j, dict) and "lsp" in j)
    _accepted_as_trusted(settings["lsp"]["hotmod"]["initialization_options"])


def test_sublime_text_lsp() -> None:
    blocks = _jsonblocks()
    client = next(j for j in blocks if isinstance(j, dict) and "hotmod" in j)["hotmod"]
    assert client["command"] == ["hotmod", "serve"] and client["selector"] == "source.python"
    _accepted_as_trusted(client["initialization_options"])
    palette = next(j for j in blocks if isinstance(j, list))
    for entry in palette:
        args = entry["args"]
        assert entry["command"] == "lsp_execute" and args["session_name"] == "hotmod"
        # "$document_id" expands to {"uri": <the current file>}
        assert args["command_args"] == ["$document_id"]
        assert "uri" in COMMANDS[args["command_name"]].keys, args


def test_kate_lsp_client() -> None:
    kate = next(j for j in _jsonblocks() if isinstance(j, dict) and "servers" in j)
    python = kate["servers"]["python"]
    assert python["command"] == ["hotmod", "serve"]
    assert "pyproject.toml" in python["rootIndicationFileNames"]
    _accepted_as_trusted(python["initializationOptions"])
