"""The verdict cache: every module's last verdict, shown at once when an editor opens.

A verdict is a function of what the fresh import read: the project files it
executed (their exact bytes: the worker reports a digest of each), the modules
it looked for and did not find (one may appear in the project since; a module
file may also be shadowed by a new package of the same name), the files it read
and the folders its code listed below the workspace, and, for everything else,
the interpreter, the packages installed for it (the mtimes of its
``sys.path`` folders, which installing or removing a distribution changes),
the environment and hotmod's settings.
Each stored verdict carries that *fingerprint*; a verdict is reused only if
every part of it is as it was.

Cached verdicts are shown marked as cached and always re-verified in the
background (the engine's first check replaces them), so what the key cannot
see (a third-party file edited in place, an environment variable on the
volatile list below, a file that changed during the check that recorded it)
costs at most a verdict shown until its re-verification.

One SQLite database per workspace (sqlite_store.py: shared by two servers,
corrupt files set aside), one row per module, bounded; a new hotmod version,
protocol or schema starts from nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from .cachedir import workspace_cache_dir
from .config import Config
from .results import Code, ModuleResult
from .serialize import from_plain, to_jsonable
from .sqlite_store import SqliteStore
from .worker.codecache import digest  # the worker's, for the files the engine reads itself
from .worker.protocol import PROTOCOL_VERSION, Depends

SCHEMA_VERSION = 1
MAX_ROWS = 50_000  # one row per module name ever checked; the oldest go first
# Environment variables that differ between an editor's and a terminal's
# session without changing what a module does: left out of the key.
VOLATILE_ENV = (
    "_", "COLORTERM", "COLUMNS", "DBUS_", "DISPLAY", "ELECTRON_", "EMACS", "GIO_", "GPG_TTY",
    "HISTFILE", "HOTMOD_CACHE_DIR", "INSIDE_EMACS", "INVOCATION_ID", "JOURNAL_STREAM",
    "KITTY_", "LINES", "LS_COLORS", "MYVIMRC", "NVIM", "OLDPWD", "PS1", "PWD",
    "PYTEST_CURRENT_TEST", "SHLVL",
    "SSH_", "STY", "TERM", "TMUX", "VIMRUNTIME", "VSCODE_", "WAYLAND_", "WINDOWID",
    "XDG_SESSION_", "XDG_VTNR",
)  # fmt: skip
# The settings a verdict and its diagnostics depend on (not the history's).
KEYED_SETTINGS = (
    "module_dirs", "python", "exclude", "env", "import_timeout_s", "memory_limit_mb",
    "output_limit_bytes", "side_effects", "trace_memory", "dev_mode", "slow_threshold_ms",
)  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    module TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_by_time ON verdicts (at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def environment_key(config: Config, sys_path: Sequence[str], environ: Mapping[str, str]) -> str:
    """Everything but the project's own files that a verdict depends on, as one digest."""
    module_dirs = {str(d) for d in config.module_dirs}
    env = {**environ, **config.env}
    parts = {
        "hotmod": __version__,
        "protocol": PROTOCOL_VERSION,
        "schema": SCHEMA_VERSION,
        "python": _interpreter(config.python),
        "sys_path": [(p, _mtime(p)) for p in sys_path if p not in module_dirs],
        "env": sorted((k, v) for k, v in env.items() if not k.startswith(VOLATILE_ENV)),
        "settings": [to_jsonable(getattr(config, name)) for name in KEYED_SETTINGS],
    }
    return digest(json.dumps(parts, sort_keys=True, default=str).encode())


def _interpreter(python: str) -> list[Any]:
    exe = shutil.which(python) if os.sep not in python else python
    if not exe:
        return [python]
    real = os.path.realpath(exe)
    return [exe, real, _stat(exe), _stat(real)]


def _stat(path: str) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return []
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


class Looker:
    """What files and folders hold now, each looked at once per pass."""

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._folders: dict[str, str] = {}
        self._paths: dict[str, bool] = {}

    def file(self, path: str) -> str:
        if path not in self._files:
            try:
                with open(path, "rb") as f:
                    self._files[path] = digest(f.read())
            except OSError:
                self._files[path] = "missing"
        return self._files[path]

    def exists(self, path: str) -> bool:
        if path not in self._paths:
            self._paths[path] = os.path.exists(path)
        return self._paths[path]

    def folder(self, path: str) -> str:
        """A digest of a folder's names, hidden ones and ``__pycache__`` left out
        (editors' swap and backup files come and go there while one types)."""
        if path not in self._folders:
            try:
                names = sorted(
                    n for n in os.listdir(path) if not n.startswith(".") and n != "__pycache__"
                )
            except OSError:
                names = ["\0missing"]
            self._folders[path] = digest("\0".join(names).encode("utf-8", "surrogateescape"))
        return self._folders[path]


@dataclass(frozen=True)
class Fingerprint:
    sources: Mapping[str, str]  # file -> digest of the bytes executed
    missing: tuple[str, ...]  # modules looked for and not found
    reads: Mapping[str, str]  # file -> digest
    listed: Mapping[str, str]  # folder -> digest of its names

    @classmethod
    def of(cls, depends: Depends, look: Looker) -> Fingerprint:
        """From what the worker reported; what it only named is looked at now."""
        return cls(
            sources=dict(depends.get("sources", {})),
            missing=tuple(depends.get("missing", [])),
            reads={p: look.file(p) for p in depends.get("reads", [])},
            listed={p: look.folder(p) for p in depends.get("listed", [])},
        )

    def holds(self, look: Looker, module_dirs: Sequence[str]) -> bool:
        return (
            all(look.file(p) == d for p, d in self.sources.items())
            and not any(_shadowed(p, look) for p in self.sources)
            and not any(_appeared(name, module_dirs, look) for name in self.missing)
            and all(look.file(p) == d for p, d in self.reads.items())
            and all(look.folder(p) == d for p, d in self.listed.items())
        )

    def plain(self) -> str:
        parts = [self.sources, self.missing, self.reads, self.listed]
        return json.dumps(parts, separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        sources, missing, reads, listed = json.loads(text)
        return cls(dict(sources), tuple(missing), dict(reads), dict(listed))


def _shadowed(source: str, look: Looker) -> bool:
    """A package of the module's name next to it now takes precedence over it."""
    if not source.endswith(".py") or os.path.basename(source) == "__init__.py":
        return False
    return look.exists(os.path.join(source[:-3], "__init__.py"))


def _appeared(name: str, module_dirs: Sequence[str], look: Looker) -> bool:
    """Whether a module the import looked for and did not find is in the project now."""
    parts = name.split(".")
    for base in module_dirs:
        folder = os.path.join(base, *parts[:-1])
        if len(parts) > 1 and not look.exists(folder):
            continue  # not a package of this module dir (third-party: the key covers it)
        candidate = os.path.join(folder, parts[-1])
        if look.exists(candidate + ".py") or look.exists(candidate):
            return True
    return False


@dataclass(frozen=True)
class _Row:
    environment: str
    result: ModuleResult
    depends: Depends
    sys_path: tuple[str, ...]


class VerdictCache:
    """The stored verdicts of one workspace.  ``store`` never blocks on the disk."""

    def __init__(
        self,
        root: Path | str,
        *,
        path: Path | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path or workspace_cache_dir(root) / "verdicts.sqlite3"
        self._store: SqliteStore[_Row] = SqliteStore(
            self.path,
            "the verdict cache",
            _SCHEMA,
            self._write,
            on_warning=on_warning,
            thread_name="hotmod-verdicts",
        )

    def store(
        self, environment: str, result: ModuleResult, depends: Depends, sys_path: Sequence[str]
    ) -> None:
        """Remember ``result`` with what it depends on (written in the background)."""
        self._store.put(_Row(environment, result, depends, tuple(sys_path)))

    def sys_path(self) -> list[str] | None:
        """The interpreter's ``sys.path`` when verdicts were last stored (for the key)."""
        row = self._store.read(
            "read the interpreter's paths",
            lambda conn: conn.execute("SELECT value FROM meta WHERE key = 'sys_path'").fetchone(),
        )
        try:
            paths = json.loads(row[0]) if row else None
        except ValueError:
            return None
        return [str(p) for p in paths] if isinstance(paths, list) else None

    def load(
        self, environment: str, modules: Mapping[str, Path], module_dirs: Sequence[str]
    ) -> dict[str, ModuleResult]:
        """The stored verdicts of ``modules`` (name -> file) whose fingerprint holds now."""
        rows = self._store.read(
            "read the stored verdicts",
            lambda conn: conn.execute(
                "SELECT module, fingerprint, result FROM verdicts WHERE environment = ?",
                (environment,),
            ).fetchall(),
        )
        look = Looker()
        found: dict[str, ModuleResult] = {}
        for name, fingerprint, data in rows or ():
            path = modules.get(name)
            if path is None:
                continue
            try:
                if not Fingerprint.parse(fingerprint).holds(look, module_dirs):
                    continue
                result = from_plain(ModuleResult, json.loads(data))
            except (ValueError, TypeError, KeyError):  # a row of another version: skip it
                continue
            if result.path == path:
                found[name] = replace(result, cached=True)
        return found

    def flush(self, timeout: float = 5.0) -> bool:
        return self._store.flush(timeout)

    def close(self) -> None:
        self._store.close()

    # -- the writer thread ------------------------------------------------------------
    def _write(self, conn: sqlite3.Connection, rows: Sequence[_Row]) -> None:
        look = Looker()
        now = time.time()
        conn.executemany(
            "INSERT OR REPLACE INTO verdicts (module, environment, fingerprint, result, at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    row.result.name,
                    row.environment,
                    Fingerprint.of(row.depends, look).plain(),
                    json.dumps(to_jsonable(_storable(row.result)), separators=(",", ":")),
                    now,
                )
                for row in rows
            ],
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('sys_path', ?), ('schema', ?)",
            (json.dumps(list(rows[-1].sys_path)), str(SCHEMA_VERSION)),
        )
        conn.execute(
            "DELETE FROM verdicts WHERE module IN (SELECT module FROM verdicts"
            " ORDER BY at DESC LIMIT -1 OFFSET ?)",
            (MAX_ROWS,),
        )


def _storable(result: ModuleResult) -> ModuleResult:
    """A verdict as worth keeping: not the remark about one slow load."""
    kept = tuple(d for d in result.diagnostics if d.code is not Code.LOAD_REGRESSION)
    return replace(result, diagnostics=kept, worker_pid=None, cached=False)
