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
    "traceMemory": "trace_memory",
    "sideEffects": "side_effects",
    "history": "history",
    "historyKeep": "history_keep",
    "regressionRatio": "regression_ratio",
    "regressionMinMs": "regression_min_ms",
}


@dataclass(frozen=True)
class Settings:
    engine: dict[str, Any] = field(default_factory=dict)  # validated engine overrides
    reload_on_save: bool = True
    trusted: bool | None = None  # None: not said


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
    engine: dict[str, Any] = {}
    for camel, snake in ENGINE_KEYS.items():
        value = raw.get(camel)
        if value in (None, "", [], {}):
            continue
        try:
            engine.update(validate({snake: value}, source))
        except ConfigError as exc:
            # Name the editor's key, not the file key.
            errors.append(str(exc).replace(f": {snake} must", f": {camel} must"))
    flags: dict[str, bool | None] = {"reloadOnSave": True, "trusted": None}
    for key in flags:
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            flags[key] = value
        else:
            errors.append(f"{source}: {key} must be true or false, got {value!r:.40}")
    return (
        Settings(
            engine=engine, reload_on_save=bool(flags["reloadOnSave"]), trusted=flags["trusted"]
        ),
        errors,
    )
