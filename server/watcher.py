"""Watch module dirs for changes made outside the editor (git checkout, generators...)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

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


def outermost(folders: Iterable[Path]) -> list[Path]:
    """``folders`` without those inside another (one watch covers them)."""
    unique = sorted({str(f) for f in folders})
    return [Path(f) for f in unique if not any(f != o and f.startswith(o + os.sep) for o in unique)]


class Watcher:
    """A watchdog observer over some folders, minus what ``ignore`` says.

    ``callback`` gets the changed paths, on watchdog's thread. Each folder is watched
    without recursion (its own files: pyproject.toml, top-level modules) and each of
    its subfolders that ``ignore`` keeps, recursively: below a recursive watch
    watchdog watches every folder (an inotify watch each on Linux), so an excluded
    tree at the top (``.venv``, ``node_modules``, ``build``, ``.git``) costs nothing.
    Events from excluded folders further down are dropped.

    With ``settled``, a file's writing being over is told apart: files closed
    after writing or moved into place go to ``settled`` instead of ``callback``,
    so that a caller can act on a save at once and wait a moment after the other
    changes (a file still being written, or deleted to be written again, or a
    platform that reports no closes).
    """

    def __init__(
        self,
        folders: Iterable[Path],
        callback: Paths,
        ignore: Callable[[str], bool] = lambda path: False,
        *,
        settled: Paths | None = None,
    ) -> None:
        self._observer = Observer()
        self._observer.daemon = True
        self._callback = callback
        self._settled = settled
        self._ignore = ignore
        self._handler = _Handler(self)
        self._tops: set[str] = set()  # watched without recursion
        self._subtrees: dict[str, ObservedWatch] = {}  # their subfolders, recursively
        for folder in folders:
            if folder.is_dir() and self._schedule(str(folder), recursive=False) is not None:
                self._tops.add(str(folder))
                for sub in _subfolders(str(folder)):
                    self._watch_subtree(sub)
        self.active = bool(self._tops)

    @property
    def watched(self) -> dict[str, bool]:
        """Every watched folder, and whether its watch is recursive."""
        return {**dict.fromkeys(self._tops, False), **dict.fromkeys(self._subtrees, True)}

    def start(self) -> None:
        if self.active:
            self._observer.start()

    def stop(self) -> None:
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(timeout=2)

    def _schedule(self, folder: str, recursive: bool) -> ObservedWatch | None:
        try:
            return self._observer.schedule(self._handler, folder, recursive=recursive)
        except OSError as exc:  # e.g. the inotify watch limit
            log.warning("cannot watch %s: %s", folder, exc)
            return None

    def _watch_subtree(self, folder: str) -> bool:
        if folder in self._subtrees or self._ignore(folder):
            return False
        watch = self._schedule(folder, recursive=True)
        if watch is not None:
            self._subtrees[folder] = watch
        return watch is not None

    def _unwatch_subtree(self, folder: str) -> None:
        watch = self._subtrees.pop(folder, None)
        if watch is not None:
            with contextlib.suppress(KeyError, OSError):  # its emitter may be gone with it
                self._observer.unschedule(watch)

    def _folder_event(self, kind: str, src: str, dest: str) -> list[str]:
        """Keep one recursive watch per subfolder of a top folder as they come and go;
        the modules already inside a new one (its watch starts after they were written)."""
        found: list[str] = []
        if kind in ("deleted", "moved") and os.path.dirname(src) in self._tops:
            self._unwatch_subtree(src)
        new = dest if kind == "moved" else src if kind == "created" else ""
        if new and os.path.dirname(new) in self._tops and self._watch_subtree(new):
            found = list(_modules_in(new, self._ignore))
        return found

    def _changed(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        src = _text(event.src_path)
        if kind == "closed" and self._settled is not None:
            if src.endswith(".py") and not event.is_directory and not self._ignore(src):
                self._settled([src])
            return
        if kind not in ("created", "modified", "deleted", "moved"):
            return
        dest = _text(getattr(event, "dest_path", "") or "")
        paths = [src, dest] if dest else [src]
        relevant = [
            p for p in paths if p.endswith(".py") or os.path.basename(p) == "pyproject.toml"
        ]
        if event.is_directory:
            relevant = self._folder_event(kind, src, dest)
            if kind in ("deleted", "moved"):
                relevant += paths  # a package folder went away: rescan
        relevant = [p for p in relevant if not self._ignore(p)]
        if self._settled is not None and dest.endswith(".py") and dest in relevant:
            # A file moved into place is complete; where it came from may be
            # about to be written again (an editor keeping a backup).
            self._settled([dest])
            relevant.remove(dest)
        if relevant:
            self._callback(relevant)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher._changed(event)


def _text(path: str | bytes) -> str:
    return os.fsdecode(path)


def _subfolders(folder: str) -> Iterator[str]:
    """Its subfolders, symlinks excluded (watchdog does not follow them either)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield entry.path
        except OSError:
            continue


def _modules_in(folder: str, ignore: Callable[[str], bool]) -> Iterator[str]:
    for current, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not ignore(os.path.join(current, d))]
        yield from (os.path.join(current, f) for f in files if f.endswith(".py"))
