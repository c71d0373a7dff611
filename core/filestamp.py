"""A file's change stamp: tells a changed file from an unchanged one without reading it."""

from __future__ import annotations

import os

FileStamp = tuple[int, int]  # (mtime in ns, size in bytes)

NO_FILE: FileStamp = (-1, -1)


def file_stamp(path: str | os.PathLike[str]) -> FileStamp:
    """``(mtime_ns, size)`` of ``path``; ``NO_FILE`` when it cannot be stat'ed (gone, denied)."""
    try:
        st = os.stat(path)
    except OSError:
        return NO_FILE
    return (st.st_mtime_ns, st.st_size)
