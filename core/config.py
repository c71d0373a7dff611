"""Workspace configuration: ``[tool.hotmod]`` layered under caller overrides."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".*",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "*.egg-info",
    "setup.py",
    "__main__.py",
)

_TRUTHY = frozenset({"1", "true", "yes", "on"})


class ConfigError(Exception):
    """A configuration problem, worded for the user (names the file and key)."""


@dataclass(frozen=True)
class Config:
    """Effective settings for one workspace. Paths are absolute."""

    root: Path
    module_dirs: tuple[Path, ...]
    python: str
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    env: Mapping[str, str] = field(default_factory=dict)
    import_timeout_s: float = 10.0
    memory_limit_mb: int = 1024
    slow_threshold_ms: float = 100.0
    dev_mode: bool = False
    output_limit_bytes: int = 64 * 1024
    trace_memory: bool = False
    side_effects: str = "warn"  # "warn", "block" or "off": see docs/security.md
    history: bool = True  # record load times per module (docs/profiling.md)
    history_keep: int = 200  # loads kept per module
    regression_ratio: float = 1.5  # load-regression: slower than the median by this factor...
    regression_min_ms: float = 25.0  # ...and by at least this many ms


SIDE_EFFECT_MODES = ("warn", "block", "off")

# key -> (expected python type(s), description used in error messages)
_SCHEMA: dict[str, tuple[tuple[type, ...], str]] = {
    "module_dirs": ((list,), "a list of directory paths"),
    "exclude": ((list,), "a list of glob patterns"),
    "python": ((str,), "a path to a Python interpreter"),
    "env": ((dict,), "a table of string values"),
    "import_timeout_s": ((int, float), "a positive number of seconds"),
    "memory_limit_mb": ((int,), "a positive whole number of megabytes"),
    "slow_threshold_ms": ((int, float), "a non-negative number of milliseconds"),
    "dev_mode": ((bool,), "true or false"),
    "output_limit_bytes": ((int,), "a positive whole number of bytes"),
    "trace_memory": ((bool,), "true or false"),
    "side_effects": ((str,), 'one of "warn", "block" or "off"'),
    "history": ((bool,), "true or false"),
    "history_keep": ((int,), "a positive whole number of loads"),
    "regression_ratio": ((int, float), "a number greater than 1"),
    "regression_min_ms": ((int, float), "a non-negative number of milliseconds"),
}


def env_dev_mode(environ: Mapping[str, str] | None = None) -> bool | None:
    """``HOTMOD_DEV_MODE``: ``1``/``true``/``yes``/``on`` (any case) is on; unset is None."""
    value = (environ if environ is not None else os.environ).get("HOTMOD_DEV_MODE")
    if value is None or value.strip() == "":
        return None
    return value.strip().lower() in _TRUTHY


def read_pyproject(path: Path) -> dict[str, Any]:
    """The ``[tool.hotmod]`` table of ``path`` ({} when the file or table is absent)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get("hotmod", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.hotmod] must be a table")
    return table


def validate(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Check keys and types; the error names the key, the source and the expectation."""
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _SCHEMA:
            known = ", ".join(sorted(_SCHEMA))
            raise ConfigError(f"{source}: unknown key {key!r} (known keys: {known})")
        types, expected = _SCHEMA[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if ok and isinstance(value, list):
            ok = all(isinstance(v, str) for v in value)
        if ok and isinstance(value, dict):
            ok = all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        if ok and key in ("import_timeout_s", "memory_limit_mb", "output_limit_bytes"):
            ok = value > 0
        if ok and key == "slow_threshold_ms":
            ok = value >= 0
        if ok and key == "history_keep":
            ok = value > 0
        if ok and key == "regression_ratio":
            ok = value > 1
        if ok and key == "regression_min_ms":
            ok = value >= 0
        if ok and key == "side_effects":
            ok = value in SIDE_EFFECT_MODES
        if not ok:
            raise ConfigError(f"{source}: {key} must be {expected}, got {_describe(value)}")
        clean[key] = value
    return clean


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def default_python(root: Path, environ: Mapping[str, str] | None = None) -> str:
    """The workspace's own venv, else the active one, else this interpreter."""
    environ = os.environ if environ is None else environ
    candidates = [root / ".venv", root / "venv"]
    if environ.get("VIRTUAL_ENV"):
        candidates.append(Path(environ["VIRTUAL_ENV"]))
    for venv in candidates:
        exe = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        if exe.is_file():
            return str(exe)
    return sys.executable


def detect_module_dirs(root: Path) -> tuple[Path, ...]:
    """``src/`` layout when ``src`` holds Python code, else the workspace root."""
    src = root / "src"
    if src.is_dir() and any(
        p.suffix == ".py" or (p.is_dir() and p.name.isidentifier() and p.name != "__pycache__")
        for p in src.iterdir()
    ):
        return (src,)
    return (root,)


def load_config(
    root: Path | str,
    overrides: Mapping[str, Any] | None = None,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Effective config: defaults < ``[tool.hotmod]`` < ``HOTMOD_DEV_MODE`` < overrides."""
    root = Path(os.path.abspath(root))
    if not root.is_dir():
        raise ConfigError(f"{root}: workspace folder does not exist")
    file = Path(config_file) if config_file is not None else root / "pyproject.toml"
    if config_file is not None and not file.is_file():
        raise ConfigError(f"{file}: config file not found")
    values = validate(read_pyproject(file), f"{file} [tool.hotmod]")
    env_dev = env_dev_mode(environ)
    if env_dev is not None:
        values["dev_mode"] = env_dev
    if overrides:
        values.update(validate({k: v for k, v in overrides.items() if v is not None}, "settings"))
    return _build(root, values, environ)


def _build(root: Path, values: Mapping[str, Any], environ: Mapping[str, str] | None) -> Config:
    def resolve(p: str) -> Path:
        return Path(os.path.abspath(root / os.path.expanduser(p)))

    if "module_dirs" in values:
        module_dirs = tuple(resolve(p) for p in values["module_dirs"])
        missing = [str(d) for d in module_dirs if not d.is_dir()]
        if missing:
            raise ConfigError(f"module_dirs: no such folder: {', '.join(missing)}")
    else:
        module_dirs = detect_module_dirs(root)
    python = values.get("python")
    if python:
        python = str(resolve(python)) if ("/" in python or os.sep in python) else python
    else:
        python = default_python(root, environ)
    config = Config(root=root, module_dirs=module_dirs, python=python)
    simple = {
        f.name: values[f.name]
        for f in fields(Config)
        if f.name in values and f.name not in ("module_dirs", "python")
    }
    if "exclude" in simple:
        simple["exclude"] = DEFAULT_EXCLUDE + tuple(simple["exclude"])
    if "env" in simple:
        simple["env"] = dict(simple["env"])
    return replace(config, **simple)
