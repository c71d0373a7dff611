"""Watch module dirs for changes made outside the editor (git checkout, generators...)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)


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
    def __init__(self, callback: Callable[[list[str]], None]) -> None:
        self.callback = callback

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("created", "modified", "deleted", "moved"):
            return
        paths = [_text(event.src_path)]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(_text(dest))
        relevant = [
            p for p in paths if p.endswith(".py") or os.path.basename(p) == "pyproject.toml"
        ]
        if event.is_directory and event.event_type in ("deleted", "moved"):
            relevant = paths  # a package folder went away: rescan
        if relevant:
            self.callback(relevant)


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)


class Watcher:
    """A watchdog observer over some folders; ``callback`` runs on watchdog's thread."""

    def __init__(self, folders: Iterable[Path], callback: Callable[[list[str]], None]) -> None:
        self._observer = Observer()
        self._observer.daemon = True
        handler = _Handler(callback)
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
