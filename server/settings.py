"""Client settings (camelCase, from the editor) -> engine overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hotmod.core.config import ConfigError, validate

# editor setting -> [tool.hotmod] key
ENGINE_KEYS = {
    "moduleDirs": "module_dirs",
    "exclude": "exclude",
    "python": "python",
    "env": "env",
    "importTimeoutS": "import_timeout_s",
    "memoryLimitMb": "memory_limit_mb",
    "slowThresholdMs": "slow_threshold_ms",
    "devMode": "dev_mode",
}
SERVER_KEYS = frozenset({"reloadOnSave", "trusted"})


@dataclass(frozen=True)
class Settings:
    engine: dict[str, Any] = field(default_factory=dict)  # validated engine overrides
    reload_on_save: bool = True
    trusted: bool | None = None  # None: not said


def parse_settings(raw: object, source: str = "settings") -> Settings:
    """Validate editor settings; unknown keys are ignored (editors send their own).

    Empty values (``""``, ``[]``, ``None``) mean "not set": VS Code sends
    every declared setting, defaults included.
    """
    if raw is None:
        return Settings()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected an object, got {type(raw).__name__}")
    nested = raw.get("hotmod")
    if isinstance(nested, Mapping):  # {"hotmod": {...}} from didChangeConfiguration
        raw = nested
    engine: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ENGINE_KEYS and value not in (None, "", [], {}):
            engine[ENGINE_KEYS[key]] = value
    try:
        engine = validate(engine, source)
    except ConfigError as exc:
        # Name the editor's key, not the file key, in the message.
        message = str(exc)
        for camel, snake in ENGINE_KEYS.items():
            message = message.replace(f": {snake} must", f": {camel} must")
        raise ConfigError(message) from None
    reload_on_save = raw.get("reloadOnSave", True)
    if not isinstance(reload_on_save, bool):
        raise ConfigError(f"{source}: reloadOnSave must be true or false")
    trusted = raw.get("trusted")
    if trusted is not None and not isinstance(trusted, bool):
        raise ConfigError(f"{source}: trusted must be true or false")
    return Settings(engine=engine, reload_on_save=reload_on_save, trusted=trusted)
