"""Load history: every check's result per module, in an embedded SQLite database.

One database per workspace, in the user cache dir (see cachedir.py), so it
survives restarts and needs no server.  Writes happen on a background thread,
batched, so a save's diagnostics never wait for the disk.  Two language
servers on one workspace may share the file: WAL mode (readers never wait for
the writer), a busy timeout and short ``BEGIN IMMEDIATE`` transactions.

A broken database never breaks checking: a corrupt file is moved aside and
replaced, a locked one is retried later, and each is reported once through
``on_warning``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .cachedir import workspace_cache_dir
from .results import Code, Diagnostic, ModuleResult, Severity, Span

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_VERSION = 1
DEFAULT_KEEP = 200  # rows kept per module
WINDOW = 20  # recent ok loads the median is taken over
MIN_SAMPLES = 5  # fewer earlier loads: no trend, no regression verdict
BUSY_TIMEOUT_MS = 2000
BATCH_WAIT_S = 0.05  # collect rows this long after the first one, then write them at once
RETRY_S = 5.0  # a locked or unwritable database is tried again after this long
MAX_PENDING = 20_000  # rows kept in memory while the database cannot be written

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
        self.on_warning = on_warning
        self._lock = threading.Lock()
        self._recent: dict[str, deque[float]] = {}
        self._trends: dict[str, Trend | None] = {}
        self._queue: queue.Queue[HistoryPoint | threading.Event | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._loaded = threading.Event()
        self._closed = False
        self._warned: set[str] = set()
        self._conn: sqlite3.Connection | None = None  # the writer thread's

    # -- the hot path ---------------------------------------------------------------
    def observe(self, result: ModuleResult, ratio: float, min_ms: float) -> Trend | None:
        """Compare ``result`` with the module's recent loads, remember it, queue the write.

        A regression is a load slower than the median by more than ``ratio``
        *and* by more than ``min_ms``: both, so that neither a 1 ms module
        doubling nor a 2 s one jittering by 30 ms is one.
        """
        self._start()
        # The first check after a start waits (briefly) for the earlier loads.
        self._loaded.wait(timeout=1.0)
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
        self._queue.put(
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
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT module, at, status, load_ms, self_ms, memory_bytes FROM loads "
                "WHERE module = ? ORDER BY id DESC LIMIT ?",
                (module, limit),
            ).fetchall()
        return [HistoryPoint(*row) for row in reversed(rows)]

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=2.0)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            yield conn
        finally:
            conn.close()

    # -- lifecycle ----------------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything observed so far is written (or could not be)."""
        if self._thread is None or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued and stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._writer, name="hotmod-history", daemon=True)
            self._thread.start()

    # -- the writer thread ------------------------------------------------------------
    def _writer(self) -> None:
        pending: list[HistoryPoint] = []
        try:
            self._load_recent()
        finally:
            self._loaded.set()
        running = True
        while running:
            try:
                item = self._queue.get(timeout=RETRY_S if pending else None)
            except queue.Empty:
                item = None if self._closed else threading.Event()  # time to retry
            batch = [item]
            deadline = time.monotonic() + BATCH_WAIT_S
            while len(batch) < 1000:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            running = None not in batch
            pending.extend(x for x in batch if isinstance(x, HistoryPoint))
            if pending and self._write(pending):
                pending = []
            del pending[:-MAX_PENDING]
            for x in batch:
                if isinstance(x, threading.Event):
                    x.set()
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.executescript(_SCHEMA)
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('root', ?), ('schema', ?)",
                    (str(self.root), str(SCHEMA_VERSION)),
                )
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _load_recent(self) -> None:
        if not self.path.exists():
            return
        rows = self._with_database(
            "read the load history",
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

    def _write(self, points: list[HistoryPoint]) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO loads (module, at, status, load_ms, self_ms, memory_bytes) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (p.module, p.at, p.status, p.load_ms, p.self_ms, p.memory_bytes)
                        for p in points
                    ],
                )
                for module in {p.module for p in points}:
                    conn.execute(
                        "DELETE FROM loads WHERE module = ? AND id <= (SELECT id FROM loads"
                        " WHERE module = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                        (module, module, self.keep),
                    )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            return True

        return bool(self._with_database("record load times", write))

    def _with_database(self, doing: str, action: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run ``action`` on the database; on failure warn once, repair what can be, return None."""
        for attempt in range(2):
            try:
                result = action(self._connection())
            except sqlite3.OperationalError as exc:
                self._drop_connection()
                text = str(exc).lower()
                if "locked" in text or "busy" in text:
                    self._warn(
                        "locked",
                        f"the load history database {self.path} is locked by another "
                        f"process; cannot {doing} now, will retry",
                    )
                else:
                    self._warn("error", f"cannot {doing} in {self.path}: {exc}")
                return None
            except sqlite3.DatabaseError as exc:  # not a database, or a corrupt one
                self._drop_connection()
                if attempt == 0 and self._quarantine(exc):
                    continue
                self._warn("error", f"cannot {doing} in {self.path}: {exc}")
                return None
            except OSError as exc:
                self._warn("error", f"cannot {doing} in {self.path}: {exc.strerror or exc}")
                return None
            self._warned.discard("locked")  # it worked: a later lock is news again
            return result
        return None

    def _quarantine(self, exc: Exception) -> bool:
        """Move a corrupt database aside (kept for inspection) and start a new one."""
        stamp = int(time.time())
        aside = self.path.with_name(f"{self.path.stem}.corrupt-{stamp}{self.path.suffix}")
        try:
            os.replace(self.path, aside)
        except OSError:
            return False
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.remove(f"{self.path}{suffix}")
        self._warn(
            "corrupt",
            f"the load history database was unreadable ({exc}); moved it to {aside} "
            "and started a new one",
        )
        return True

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _warn(self, kind: str, message: str) -> None:
        log.warning("%s", message)
        if kind in self._warned:
            return
        self._warned.add(kind)
        if self.on_warning is not None:
            try:
                self.on_warning(message)
            except Exception:  # a broken callback must not stop the writer
                log.exception("history warning callback failed")


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
