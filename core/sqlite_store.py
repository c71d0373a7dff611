"""A SQLite database of hotmod's own, written on a background thread, never in the way.

The load history and the verdict cache keep their data in one database each,
per workspace, in hotmod's cache folder.  What they share is here:

- writes are queued and done on one thread, in batches (a save's diagnostics
  never wait for the disk), and what could not be written is retried later;
- two language servers may use one file: WAL mode (readers never wait for the
  writer), a busy timeout, short ``BEGIN IMMEDIATE`` transactions;
- a corrupt file is moved aside (kept for inspection) and replaced, a locked
  one is retried, and each problem is reported once through ``on_warning``;
- reads use read-only connections of their own, from any thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

BUSY_TIMEOUT_MS = 2000
BATCH_WAIT_S = 0.05  # collect items this long after the first one, then write them at once
RETRY_S = 5.0  # a locked or unwritable database is tried again after this long
CLOSE_RETRY_S = 3.0  # and when closing, for this long (within close()'s wait)
MAX_PENDING = 20_000  # items kept in memory while the database cannot be written


class SqliteStore(Generic[T]):
    """One database: ``put`` queues items, ``write_batch`` stores a batch of them.

    ``schema``: statements run on every new connection (``CREATE ... IF NOT
    EXISTS``); ``name``: what the database is, for messages ("the load history
    database"); ``on_start``: run on the writer thread before anything is
    written (e.g. loading recent data).
    """

    def __init__(
        self,
        path: Path,
        name: str,
        schema: str,
        write_batch: Callable[[sqlite3.Connection, Sequence[T]], None],
        *,
        on_start: Callable[[], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        thread_name: str = "hotmod-store",
    ) -> None:
        self.path = path
        self.name = name
        self.schema = schema
        self.write_batch = write_batch
        self.on_start = on_start
        self.on_warning = on_warning
        self.thread_name = thread_name
        self._lock = threading.Lock()
        self._queue: queue.Queue[T | threading.Event | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._warned: set[str] = set()
        self._conn: sqlite3.Connection | None = None  # the writer thread's
        self.started = threading.Event()  # set once on_start has run

    # -- writing ----------------------------------------------------------------------
    def put(self, item: T) -> None:
        self.start()
        self._queue.put(item)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything put so far is written (or could not be)."""
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

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._writer, name=self.thread_name, daemon=True)
            self._thread.start()

    def _writer(self) -> None:
        pending: list[T] = []
        try:
            if self.on_start is not None:
                self.on_start()
        finally:
            self.started.set()
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
            pending.extend(x for x in batch if x is not None and not isinstance(x, threading.Event))
            if pending and self._write(pending):
                pending = []
            if not running and pending:
                pending = self._last_tries(pending)
            del pending[:-MAX_PENDING]
            for x in batch:
                if isinstance(x, threading.Event):
                    x.set()
        self._drop_connection()

    def _last_tries(self, pending: list[T]) -> list[T]:
        """Closing: another process (a second server) may hold the lock beyond the
        busy timeout; what is queued is tried again until ``CLOSE_RETRY_S``."""
        deadline = time.monotonic() + CLOSE_RETRY_S
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if self._write(pending):
                return []
        return pending

    def _write(self, items: list[T]) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self.write_batch(conn, items)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            return True

        return bool(self.with_database("write to", write))

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
                conn.executescript(self.schema)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    # -- reading -----------------------------------------------------------------------
    @contextlib.contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection (raises sqlite3.Error / OSError when unreadable)."""
        conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=2.0)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            yield conn
        finally:
            conn.close()

    def read(self, doing: str, action: Callable[[sqlite3.Connection], R]) -> R | None:
        """``action`` on a read-only connection; None (and a warning) when unreadable."""
        if not self.path.exists():
            return None
        try:
            with self.reader() as conn:
                return action(conn)
        except (sqlite3.Error, OSError) as exc:
            self._warn("read", f"cannot {doing} from {self.name} {self.path}: {exc}")
            return None

    # -- trouble ------------------------------------------------------------------------
    def with_database(self, doing: str, action: Callable[[sqlite3.Connection], R]) -> R | None:
        """``action`` on the writer's connection; on failure warn once, repair what can
        be (a corrupt file is moved aside and replaced), return None."""
        for attempt in range(2):
            try:
                result = action(self._connection())
            except sqlite3.OperationalError as exc:
                self._drop_connection()
                text = str(exc).lower()
                if "locked" in text or "busy" in text:
                    self._warn(
                        "locked",
                        f"{self.name} {self.path} is locked by another process; "
                        f"cannot {doing} it now, will retry",
                    )
                else:
                    self._warn("error", f"cannot {doing} {self.name} {self.path}: {exc}")
                return None
            except sqlite3.DatabaseError as exc:  # not a database, or a corrupt one
                self._drop_connection()
                if attempt == 0 and self._quarantine(exc):
                    continue
                self._warn("error", f"cannot {doing} {self.name} {self.path}: {exc}")
                return None
            except OSError as exc:
                self._warn(
                    "error", f"cannot {doing} {self.name} {self.path}: {exc.strerror or exc}"
                )
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
            f"{self.name} was unreadable ({exc}); moved it to {aside} and started a new one",
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
                log.exception("%s: warning callback failed", self.name)
