"""Workspace configuration: ``[tool.hotmod]`` layered under caller overrides."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .setting import (
    boolean,
    declared,
    number,
    one_of,
    setting,
    string_list,
    string_table,
    text,
    whole_number,
)

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
    """Effective settings for one workspace. Paths are absolute.

    Each field but ``root`` is a setting, declared once here: its rule, default
    and description (see setting.py).  ``[tool.hotmod]`` keys are the field
    names; editors send them in camelCase.
    """

    root: Path
    module_dirs: tuple[Path, ...] = setting(
        string_list("directory paths"),
        "Folders (relative to the workspace root) that hold the project's importable modules.",
        default_text='`["src"]` if `src/` holds code, else `["."]`',
    )
    python: str = setting(
        text("a path to a Python interpreter"),
        "The Python that imports the project's modules (it needs the project's dependencies, "
        "not hotmod).",
        default_text="the workspace's `.venv`, else `venv`, else `$VIRTUAL_ENV`, else hotmod's own",
    )
    exclude: tuple[str, ...] = setting(
        string_list("glob patterns"),
        "Glob patterns of files and folders that are not modules, besides the built-in ones "
        "(hidden and build folders, `site-packages`, `setup.py`, …).",
        default=DEFAULT_EXCLUDE,
        default_text="`[]` (added to the built-in list)",
    )
    env: Mapping[str, str] = setting(
        string_table(),
        "Extra environment variables for the process that imports the project's modules.",
        default_factory=dict,
    )
    import_timeout_s: float = setting(
        # A day: longer is no timeout at all, and no timer takes infinity.
        number(above=0, at_most=86400, unit="seconds"),
        "Seconds one module's import may take before it is stopped and reported as a `timeout`.",
        default=10.0,
    )
    memory_limit_mb: int = setting(
        whole_number(above=0, unit="megabytes"),
        "Memory one check may add, in MB, before allocations fail and the module is reported "
        "as `memory-limit`.",
        default=1024,
    )
    slow_threshold_ms: float = setting(
        number(at_least=0, unit="milliseconds"),
        "In dev mode, a module whose own top-level code takes longer than this many "
        "milliseconds gets a `slow-load` warning; also the threshold of the performance "
        "summary's slow loads.",
        default=100.0,
    )
    dev_mode: bool = setting(
        boolean(),
        "Dev mode: also report slow imports (`slow-load`). `HOTMOD_DEV_MODE` sets it too, over "
        "`[tool.hotmod]`; the toggle-dev-mode command switches it for the running server only.",
        default=False,
    )
    output_limit_bytes: int = setting(
        whole_number(above=0, unit="bytes"),
        "How many bytes of what a module prints while it is imported are kept per check; "
        "the rest is counted and dropped.",
        default=64 * 1024,
        client=None,  # nothing in an editor shows the output
    )
    trace_memory: bool = setting(
        boolean(),
        "Measure memory with tracemalloc on every check: exact bytes per file, about 10x "
        "slower imports. The memory report command measures this way on demand anyway.",
        default=False,
    )
    side_effects: str = setting(
        one_of("warn", "block", "off"),
        "What to do about what a module does when it is imported (network, processes, file "
        "writes; see `security.md`): `warn` reports it, `block` stops it during checks, `off` "
        "ignores it.",
        default="warn",
    )
    verdict_cache: bool = setting(
        boolean(),
        "Keep each module's last verdict in hotmod's cache folder, with what it depends on, "
        "and show those still valid as soon as an editor opens the workspace, marked as cached "
        "until the first check has verified them (see `performance.md`).",
        default=True,
    )
    history: bool = setting(
        boolean(),
        "Record every check's load time per module in the workspace's history (hotmod's cache "
        "folder), for trends, `load-regression` notes and the performance summary.",
        default=True,
    )
    history_keep: int = setting(
        whole_number(above=0, unit="loads"),
        "How many loads per module the history keeps.",
        default=200,
    )
    regression_ratio: float = setting(
        number(above=1),
        "A load is a `load-regression` when it is slower than the module's recent median by "
        "this factor **and** by at least `regression_min_ms`.",
        default=1.5,
    )
    regression_min_ms: float = setting(
        number(at_least=0, unit="milliseconds"),
        "…and slower than the median by at least this many milliseconds (see `regression_ratio`).",
        default=25.0,
    )
    live_reload: bool = setting(
        boolean(),
        "In a trusted workspace, the language server applies each save whose checks pass (the "
        "module and its dependents) in place to the running programs of the workspace that take "
        "changes (`hotmod run`, `hotmod.live.attach()`, `%load_ext hotmod.live`; see `live.md`).",
        default=True,
    )
    live_rerun: bool = setting(
        boolean(),
        "A change to a module's top-level code (a call, a registration) is applied by re-running "
        "the module in the running program, instead of being refused as needing a restart. Its "
        "side effects then happen again (see `live.md`).",
        default=False,
    )


SETTINGS = {s.key: s for s in declared(Config)}


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
    """Check keys and values; the error names the source, the key, what was expected and
    what was given."""
    clean: dict[str, Any] = {}
    for key, value in values.items():
        declared_setting = SETTINGS.get(key)
        if declared_setting is None:
            known = ", ".join(sorted(SETTINGS))
            raise ConfigError(f"{source}: unknown key {key!r} (known keys: {known})")
        problem = declared_setting.problem(value, source)
        if problem:
            raise ConfigError(problem)
        clean[key] = value
    return clean


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
