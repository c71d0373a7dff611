"""One workspace folder: its engine, scheduler and watcher, and where its diagnostics went."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from hotmod.core.config import ConfigError
from hotmod.core.discovery import excluded
from hotmod.core.engine import Engine

from .scheduler import Scheduler, SchedulerHooks
from .settings import Settings

if TYPE_CHECKING:
    from .watcher import Watcher


@dataclass
class Progress:
    token: str
    total: int
    done: int = 0
    last_percent: int = -1


@dataclass
class Folder:
    uri: str
    path: Path
    settings: Settings
    engine: Engine | None = None
    scheduler: Scheduler | None = None
    watcher: Watcher | None = None
    error: str | None = None  # why this folder cannot be checked (config, interpreter)
    published: dict[str, str] = field(default_factory=dict)  # module -> uri with diagnostics
    progress: Progress | None = None

    def contains(self, path: str) -> bool:
        root = str(self.path)
        return path == root or path.startswith(root.rstrip(os.sep) + os.sep)

    def ignores(self, path: str) -> bool:
        """A change discovery would not look at (inside `.venv`, `node_modules`, anything
        `exclude` names): no reason to rescan.  The root's pyproject.toml always counts."""
        if self.engine is None:
            return False
        config = self.engine.config
        return path != str(config.root / "pyproject.toml") and excluded(config, path)

    def open(self, hooks: SchedulerHooks) -> None:
        """Load the configuration; runs no workspace code. Sets ``error`` on bad config."""
        try:
            self.engine = Engine(self.path, self.settings.engine)
            self.error = None
        except ConfigError as exc:
            self.engine, self.error = None, str(exc)
            return
        self.scheduler = Scheduler(self.engine, hooks)

    def reconfigure(self, settings: Settings, hooks: SchedulerHooks) -> None:
        self.settings = settings
        if self.engine is None:
            self.open(hooks)
            return
        try:
            self.engine.reconfigure(settings.engine)
            self.error = None
        except ConfigError as exc:
            self.error = str(exc)

    def watch(
        self, loop: asyncio.AbstractEventLoop, on_change: Callable[[Folder, list[str]], None]
    ) -> None:
        """Watch module dirs and the root (for pyproject.toml); ``on_change`` runs on ``loop``."""
        if self.engine is None or self.watcher is not None:
            return
        # Imported here: watchdog takes ~15 ms to import, and the server
        # answers `initialize` before any folder is watched.
        from .watcher import Watcher, outermost

        roots = outermost((*self.engine.config.module_dirs, self.path))

        def changed(paths: list[str]) -> None:
            loop.call_soon_threadsafe(on_change, self, paths)

        self.watcher = Watcher(roots, changed, self.ignores)
        self.watcher.start()

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        if self.scheduler is not None:
            self.scheduler.close()
        if self.engine is not None:
            self.engine.close()
