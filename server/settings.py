"""Client settings (camelCase, from the editor) -> engine overrides and server switches.

The engine's settings are declared on ``Config`` (core/config.py); the
server's own switches on ``Settings`` below, the same way.  Editors send both
under their camelCase names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hotmod.core.config import Config
from hotmod.core.setting import Setting, boolean, declared, setting

# The engine settings an editor may send: those with a client name.
ENGINE_SETTINGS: tuple[Setting, ...] = tuple(s for s in declared(Config) if s.client)


@dataclass(frozen=True)
class Settings:
    engine: dict[str, Any] = field(default_factory=dict)  # validated engine overrides
    reload_on_save: bool = setting(
        boolean(),
        "Re-import a module and its dependents when the file is saved. Off, the server ignores "
        "`didSave`; its own file watcher still checks files changed on disk.",
        default=True,
    )
    trusted: bool | None = setting(  # None: not said
        boolean(),
        "Lets the server run the workspace's code; until then it reports syntax errors only. "
        "Read from `initializationOptions` only, once per session (or `hotmod serve --trust`).",
        default=None,
        default_text="not trusted",
        initialization_only=True,
    )


SERVER_SETTINGS: tuple[Setting, ...] = declared(Settings)

_UNSET: tuple[object, ...] = (None, "", [], {})  # "not set": VS Code sends every setting


def parse_settings(raw: object, source: str = "settings") -> tuple[Settings, list[str]]:
    """Validate editor settings key by key: a bad key is reported and dropped, the rest kept.

    Unknown keys are ignored (editors send their own).  Empty values (``""``,
    ``[]``, ``None``) mean "not set": VS Code sends every declared setting.
    """
    if raw is None:
        return Settings(), []
    if not isinstance(raw, Mapping):
        return Settings(), [f"{source}: expected an object, got {type(raw).__name__}"]
    nested = raw.get("hotmod")
    if isinstance(nested, Mapping):  # {"hotmod": {...}} from didChangeConfiguration
        raw = nested
    errors: list[str] = []
    engine = _read(ENGINE_SETTINGS, raw, source, errors)
    switches = _read(SERVER_SETTINGS, raw, source, errors)
    return Settings(engine=engine, **switches), errors


def _read(
    settings: tuple[Setting, ...], raw: Mapping[str, Any], source: str, errors: list[str]
) -> dict[str, Any]:
    """The valid values of ``settings`` in ``raw`` by key; a bad one goes to ``errors``."""
    values: dict[str, Any] = {}
    for each in settings:
        name = each.client or each.key
        value = raw.get(name)
        if value in _UNSET:
            continue
        problem = each.problem(value, source, name)  # names the editor's key
        if problem:
            errors.append(problem)
        else:
            values[each.key] = value
    return values
