"""Stopping the file watcher leaves no ERROR line in the server's log."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from hotmod.server.watcher import Watcher


def test_watchdogs_stop_race_message_is_dropped_and_others_are_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inotify_log = logging.getLogger("watchdog.observers.inotify")
    with caplog.at_level(logging.DEBUG, logger="watchdog.observers.inotify"):
        inotify_log.error("InotifyEmitter.queue_events() called when the thread is inactive")
        inotify_log.error("a real inotify problem")
    assert [r.getMessage() for r in caplog.records] == ["a real inotify problem"]


def test_stopping_while_files_change_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    with caplog.at_level(logging.WARNING):
        for round_ in range(5):
            watcher = Watcher([tmp_path], seen.extend)
            watcher.start()
            (tmp_path / f"m{round_}.py").write_text("x = 1\n")
            time.sleep(0.01)
            watcher.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
