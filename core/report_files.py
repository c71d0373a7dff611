"""Markdown reports on disk, for editors that have no other way to show a command's result."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path

from .cachedir import workspace_cache_dir

KEEP = 20  # reports kept per workspace; older ones are deleted


def save_report(
    root: Path | str, name: str, markdown: str, environ: Mapping[str, str] | None = None
) -> Path:
    """Write ``markdown`` under the workspace's cache folder; returns the new file.

    Every report gets a file of its own: an editor that still shows the
    previous one (Emacs) would otherwise ask whether to re-read it from disk.
    """
    folder = workspace_cache_dir(root, environ) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "report"
    now = time.time_ns()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now // 10**9))
    stamp += f"-{now // 1000 % 10**6:06d}"
    path = folder / f"{stem}-{stamp}.md"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{stamp}-{n}.md"
    path.write_text(markdown, encoding="utf-8")
    _prune(folder)
    return path


# Written when: file times are too coarse (a kernel tick) to order reports
# written in quick succession.
_WRITTEN = re.compile(r"-(\d{8}-\d{6}-\d{6})(?:-(\d+))?\.md$")


def _written(path: Path) -> tuple[str, int]:
    match = _WRITTEN.search(path.name)
    return (match.group(1), int(match.group(2) or 1)) if match else ("", 0)


def _prune(folder: Path) -> None:
    for old in sorted(folder.glob("*.md"), key=_written)[:-KEEP]:
        old.unlink(missing_ok=True)
