"""Watch module dirs for changes made outside the editor (git checkout, generators...)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

Paths = Callable[[list[str]], None]


class _QuietStop(logging.Filter):
    """Drops watchdog 7's "queue_events() called when the thread is inactive".

    Stopping an observer races with its emitter: an event read just before
    ``on_thread_stop`` is then dropped with an ERROR line although nothing is
    wrong (the server is shutting the watch down on purpose).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_QuietStop())


class _Handler(FileSystemEventHandler):
    def __init__(self, callback: Paths, settled: Paths | None) -> None:
        self.callback = callback
        self.settled = settled

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind == "closed" and self.settled is not None:
            path = _text(event.src_path)
            if path.endswith(".py") and not event.is_directory:
                self.settled([path])
            return
        if kind not in ("created", "modified", "deleted", "moved"):
            return
        paths = [_text(event.src_path)]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(_text(dest))
        relevant = [
            p for p in paths if p.endswith(".py") or os.path.basename(p) == "pyproject.toml"
        ]
        if event.is_directory and kind in ("deleted", "moved"):
            relevant = paths  # a package folder went away: rescan
        if self.settled is not None and dest and not event.is_directory:
            # A file moved into place is complete; where it came from may be
            # about to be written again (an editor keeping a backup).
            target = _text(dest)
            if target.endswith(".py"):
                self.settled([target])
                relevant = [p for p in relevant if p != target]
        if relevant:
            self.callback(relevant)


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)


def outermost(folders: Iterable[Path]) -> list[Path]:
    """``folders`` without those inside another (one recursive watch covers them)."""
    unique = sorted({str(f) for f in folders})
    return [Path(f) for f in unique if not any(f != o and f.startswith(o + os.sep) for o in unique)]


class Watcher:
    """A watchdog observer over some folders; the callbacks run on watchdog's thread.

    ``callback`` gets the paths created, modified, deleted or moved.  With
    ``settled``, a file's writing being over is told apart: files closed after
    writing or moved into place go to ``settled`` instead, so that a caller can
    act on a save at once and wait a moment after the other changes (a file
    still being written, or deleted to be written again, or a platform that
    reports no closes).
    """

    def __init__(
        self, folders: Iterable[Path], callback: Paths, *, settled: Paths | None = None
    ) -> None:
        self._observer = Observer()
        self._observer.daemon = True
        handler = _Handler(callback, settled)
        scheduled = 0
        for folder in folders:
            if folder.is_dir():
                try:
                    self._observer.schedule(handler, str(folder), recursive=True)
                    scheduled += 1
                except OSError as exc:  # e.g. the inotify watch limit
                    log.warning("cannot watch %s: %s", folder, exc)
        self.active = scheduled > 0

    def start(self) -> None:
        if self.active:
            self._observer.start()

    def stop(self) -> None:
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout=2)
