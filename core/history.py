"""Load history: every check's result per module, in an embedded SQLite database.

One database per workspace, in the user cache dir (see cachedir.py), so it
survives restarts and needs no server; written in the background, shared by
two servers, repaired when corrupt: see sqlite_store.py.  A broken database
never breaks checking.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .cachedir import workspace_cache_dir
from .results import Code, Diagnostic, ModuleResult, Severity, Span
from .sqlite_store import SqliteStore

SCHEMA_VERSION = 1
DEFAULT_KEEP = 200  # rows kept per module
WINDOW = 20  # recent ok loads the median is taken over
MIN_SAMPLES = 5  # fewer earlier loads: no trend, no regression verdict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS loads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    module TEXT NOT NULL,
    at REAL NOT NULL,
    status TEXT NOT NULL,
    load_ms REAL NOT NULL,
    self_ms REAL NOT NULL,
    memory_bytes INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS loads_by_module ON loads (module, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class HistoryPoint:
    module: str
    at: float  # Unix time
    status: str  # "ok" | "error"
    load_ms: float
    self_ms: float
    memory_bytes: int


@dataclass(frozen=True)
class Trend:
    """A load compared with the median of the module's recent ok loads before it."""

    self_ms: float
    median_ms: float
    samples: int
    change: float  # (self_ms - median) / median: 0.38 is 38 % slower
    regression: bool


class History:
    """The history of one workspace. Thread-safe; ``observe`` never blocks on the disk."""

    def __init__(
        self,
        root: Path | str,
        *,
        path: Path | None = None,
        keep: int = DEFAULT_KEEP,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root)
        self.path = path or workspace_cache_dir(root) / "history.sqlite3"
        self.keep = keep
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}
        self._trends: dict[str, Trend | None] = {}
        self._store: SqliteStore[HistoryPoint] = SqliteStore(
            self.path,
            "the load history database",
            _SCHEMA,
            self._write,
            on_start=self._load_recent,
            on_warning=on_warning,
            thread_name="hotmod-history",
        )

    # -- the hot path ---------------------------------------------------------------
    def observe(self, result: ModuleResult, ratio: float, min_ms: float) -> Trend | None:
        """Compare ``result`` with the module's recent loads, remember it, queue the write.

        A regression is a load slower than the median by more than ``ratio``
        *and* by more than ``min_ms``: both, so that neither a 1 ms module
        doubling nor a 2 s one jittering by 30 ms is one.
        """
        self._store.start()
        # The first check after a start waits (briefly) for the earlier loads.
        self._store.started.wait(timeout=1.0)
        with self._lock:
            recent = self._recent.setdefault(result.name, deque(maxlen=WINDOW))
            trend = None
            if result.ok and len(recent) >= MIN_SAMPLES:
                # Imported here: statistics pulls in decimal (~30 ms), which
                # the server need not pay before it answers `initialize`.
                import statistics

                median = statistics.median(recent)
                change = (result.self_ms - median) / median if median > 0 else 0.0
                trend = Trend(
                    self_ms=result.self_ms,
                    median_ms=median,
                    samples=len(recent),
                    change=change,
                    regression=result.self_ms > median * ratio and result.self_ms - median > min_ms,
                )
            if result.ok:  # a failed import's time is not a load time
                recent.append(result.self_ms)
            self._trends[result.name] = trend
        self._store.put(
            HistoryPoint(
                module=result.name,
                at=time.time(),
                status=result.status,
                load_ms=result.load_ms,
                self_ms=result.self_ms,
                memory_bytes=result.memory.bytes,
            )
        )
        return trend

    def trend(self, module: str) -> Trend | None:
        """The trend of the module's latest load (None without enough history)."""
        with self._lock:
            return self._trends.get(module)

    # -- reading ----------------------------------------------------------------------
    def series(self, module: str, limit: int = DEFAULT_KEEP) -> list[HistoryPoint]:
        """The module's loads, oldest first (what is written so far, plus what is queued)."""
        self.flush()
        if not self.path.exists():
            return []
        with self._store.reader() as conn:
            rows = conn.execute(
                "SELECT module, at, status, load_ms, self_ms, memory_bytes FROM loads "
                "WHERE module = ? ORDER BY id DESC LIMIT ?",
                (module, limit),
            ).fetchall()
        return [HistoryPoint(*row) for row in reversed(rows)]

    # -- lifecycle ----------------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything observed so far is written (or could not be)."""
        return self._store.flush(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued and stop the writer thread."""
        self._store.close(timeout)

    # -- the writer thread ------------------------------------------------------------
    def _load_recent(self) -> None:
        rows = self._store.read(
            "read the recent loads",
            lambda conn: conn.execute(
                "SELECT module, self_ms FROM ("
                " SELECT module, self_ms, ROW_NUMBER() OVER"
                " (PARTITION BY module ORDER BY id DESC) AS n FROM loads WHERE status = 'ok'"
                ") WHERE n <= ? ORDER BY module, n DESC",
                (WINDOW,),
            ).fetchall(),
        )
        if not rows:
            return
        earlier: dict[str, list[float]] = {}
        for module, self_ms in rows:
            earlier.setdefault(module, []).append(float(self_ms))
        with self._lock:
            for module, values in earlier.items():
                seen_meanwhile = list(self._recent.get(module, ()))
                self._recent[module] = deque(values + seen_meanwhile, maxlen=WINDOW)

    def _write(self, conn: sqlite3.Connection, points: Sequence[HistoryPoint]) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('root', ?), ('schema', ?)",
            (str(self.root), str(SCHEMA_VERSION)),
        )
        conn.executemany(
            "INSERT INTO loads (module, at, status, load_ms, self_ms, memory_bytes) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(p.module, p.at, p.status, p.load_ms, p.self_ms, p.memory_bytes) for p in points],
        )
        for module in {p.module for p in points}:
            conn.execute(
                "DELETE FROM loads WHERE module = ? AND id <= (SELECT id FROM loads"
                " WHERE module = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (module, module, self.keep),
            )


def regression_diagnostic(result: ModuleResult, trend: Trend) -> Diagnostic:
    """``load-regression``: the module imports markedly slower than it recently did."""
    return Diagnostic(
        path=result.path,
        span=Span(0, 0, 0, 0),
        code=Code.LOAD_REGRESSION,
        severity=Severity.INFORMATION,
        message=(
            f"module '{result.name}' now takes {trend.self_ms:.0f} ms to import, "
            f"{100 * trend.change:+.0f}% over its median of {trend.median_ms:.0f} ms "
            f"(last {trend.samples} loads); profile it to see which line"
        ),
    )


def sparkline(values: list[float]) -> str:
    """``▁▂▅█``: one character per value, scaled between the smallest and largest."""
    bars = "▁▂▃▄▅▆▇█"
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(
        bars[0] if span <= 0 else bars[min(7, int((v - low) / span * 7.999))] for v in values
    )
