"""Each setting is declared once (core/config.py, server/settings.py); the rest follows it.

Checked here against the declarations: what editors may send (every client
name reaches the engine, and a bad value is named as the editor spells it),
the VS Code manifest's ``contributes.configuration``, and the docs tables
(rendered by tests/settings_docs.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hotmod.core.config import SETTINGS, Config, validate
from hotmod.core.setting import Rule, Setting, camel_case, declared
from hotmod.server.settings import ENGINE_SETTINGS, SERVER_SETTINGS, Settings, parse_settings

from .. import settings_docs

MANIFEST = Path(__file__).resolve().parents[2] / "editors" / "vscode" / "package.json"


def _good(rule: Rule) -> Any:
    """A value the rule accepts."""
    bound = rule.above if rule.above is not None else rule.at_least or 0
    return {
        "number": bound + 0.5,
        "integer": int(bound) + 1,
        "boolean": True,
        "string": rule.choices[-1] if rule.choices else "x",
        "array": ["x"],
        "object": {"A": "b"},
    }[rule.kind]


def _bad(rule: Rule) -> Any:
    """A value of the wrong type for the rule."""
    return "x" if rule.kind != "string" else 3


# -- what an editor may send ----------------------------------------------------------


def test_client_names_are_the_keys_in_camel_case_unless_declared() -> None:
    assert camel_case("import_timeout_s") == "importTimeoutS"
    assert camel_case("history") == "history"
    names = {s.key: s.client for s in declared(Config)}
    assert names["import_timeout_s"] == "importTimeoutS"
    assert names["regression_min_ms"] == "regressionMinMs"
    assert names["output_limit_bytes"] is None  # declared: no editor setting
    assert {s.key: s.client for s in SERVER_SETTINGS} == {
        "reload_on_save": "reloadOnSave",
        "trusted": "trusted",
    }


@pytest.mark.parametrize("each", ENGINE_SETTINGS, ids=lambda s: s.client)
def test_every_engine_setting_reaches_the_engine_under_its_client_name(each: Setting) -> None:
    assert each.client is not None
    value = _good(each.rule)
    settings, errors = parse_settings({each.client: value}, "settings")
    assert (settings.engine, errors) == ({each.key: value}, [])
    # ... and is what [tool.hotmod] accepts under the key
    assert validate({each.key: value}, "pyproject.toml") == {each.key: value}


@pytest.mark.parametrize("each", [*ENGINE_SETTINGS, *SERVER_SETTINGS], ids=lambda s: s.key)
def test_a_bad_client_value_is_named_as_the_editor_spells_it(each: Setting) -> None:
    value = _bad(each.rule)
    settings, errors = parse_settings({each.client: value, "other": 1}, "initializationOptions")
    assert errors == [
        f"initializationOptions: {each.client} must be {each.rule.expected}, "
        f"got {type(value).__name__} {value!r}"
    ]
    assert settings == Settings()  # dropped; the defaults stand


def test_server_switches_are_parsed_from_their_declarations() -> None:
    settings, errors = parse_settings({"hotmod": {"reloadOnSave": False, "trusted": True}})
    assert (settings.reload_on_save, settings.trusted, errors) == (False, True, [])
    assert parse_settings({})[0] == Settings(engine={}, reload_on_save=True, trusted=None)


# -- the VS Code manifest ------------------------------------------------------------------


def _empty(rule: Rule) -> Any:
    """What VS Code reports for an engine setting left unset: "not set", so the
    workspace's [tool.hotmod] applies (see settings.ts)."""
    return {"string": "", "array": [], "object": {}}.get(rule.kind) if not rule.choices else None


def expected_property(each: Setting) -> dict[str, Any]:
    """The parts of a ``hotmod.<client>`` manifest property the declaration decides."""
    engine = each.key in SETTINGS
    rule = each.rule
    unset = _empty(rule) if engine else each.default
    prop: dict[str, Any] = {
        "type": rule.kind if unset is not None else [rule.kind, "null"],
        "default": unset,
    }
    if rule.choices:
        prop["enum"] = [*rule.choices, *([None] if unset is None else [])]
    if rule.kind == "array":
        prop["items"] = {"type": "string"}
    if rule.kind == "object":
        prop["additionalProperties"] = {"type": "string"}
    if rule.at_least is not None:
        prop["minimum"] = rule.at_least
    elif rule.above is not None and rule.kind == "integer":
        prop["minimum"] = int(rule.above) + 1
    elif rule.above is not None:
        prop["exclusiveMinimum"] = rule.above
    if rule.at_most is not None:
        prop["maximum"] = rule.at_most
    description = each.description
    if engine:
        word = "`null`" if unset is None else "Empty"
        description += f" {word}: `[tool.hotmod] {each.key}`, else {each.default_text}."
    prop["markdownDescription"] = description
    return prop


def _manifest_categories() -> dict[str, dict[str, dict[str, Any]]]:
    """The manifest's settings, by category title: the server's category is titled
    like the extension (the extension sends exactly these), its own "Language Server"."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    categories: list[dict[str, Any]] = manifest["contributes"]["configuration"]
    return {c["title"]: c["properties"] for c in categories}


def _manifest_properties() -> dict[str, dict[str, Any]]:
    return {k: v for props in _manifest_categories().values() for k, v in props.items()}


CLIENT_SETTINGS = [s for s in (*ENGINE_SETTINGS, *SERVER_SETTINGS) if not s.initialization_only]


@pytest.mark.parametrize("each", CLIENT_SETTINGS, ids=lambda s: s.client)
def test_the_vscode_manifest_declares_each_setting_as_its_declaration_says(
    each: Setting,
) -> None:
    name = f"hotmod.{each.client}"
    properties = _manifest_properties()
    assert name in properties, f"package.json has no {name}"
    prop = properties[name]
    expected = expected_property(each)
    # VS Code-only remarks may follow the declared description.
    description = expected.pop("markdownDescription")
    assert prop.get("markdownDescription", "").startswith(description), (
        f"{name}: markdownDescription should start with:\n{description}"
    )
    assert {k: prop.get(k) for k in expected} == expected
    assert not {"minimum", "exclusiveMinimum", "maximum", "enum"} - expected.keys() & prop.keys()


def test_the_manifests_server_category_is_exactly_the_declared_settings() -> None:
    categories = _manifest_categories()
    assert list(categories) == ["hotmod", "Language Server"]
    assert set(categories["hotmod"]) == {f"hotmod.{s.client}" for s in CLIENT_SETTINGS}
    # The extension's own settings (hotmod.interpreter, ...): never a name the
    # server knows by another route, and never trust (workspace trust decides it).
    server_words = {camel_case(s.key) for s in (*declared(Config), *SERVER_SETTINGS)} | {
        s.key for s in (*declared(Config), *SERVER_SETTINGS)
    }
    own = {name.removeprefix("hotmod.") for name in categories["Language Server"]}
    assert own & server_words == set()
    assert own  # the client-only settings are still there to be told apart


# -- the docs ------------------------------------------------------------------------


@pytest.mark.parametrize("table", settings_docs.TABLES, ids=lambda t: f"{t.doc} {t.name}")
def test_the_docs_tables_are_rendered_from_the_declarations(
    table: settings_docs.Table,
) -> None:
    assert table.current() == table.rendered(), (
        f"docs/{table.doc}: the {table.name} table is out of date: "
        "run `.venv/bin/python -m tests.settings_docs`"
    )
