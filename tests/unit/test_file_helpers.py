"""The shared small helpers: a file's change stamp and byte counts for people."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hotmod.core.bytesize import format_bytes
from hotmod.core.filestamp import NO_FILE, file_stamp


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (1024 * 1024 - 1, "1024.0 KB"),
        (1024 * 1024, "1.0 MB"),
        (5 * 1024 * 1024 + 512 * 1024, "5.5 MB"),
        (-1, "-1 B"),
        (-1536, "-1.5 KB"),  # memory released by an import: same units, with its sign
        (-3 * 1024 * 1024, "-3.0 MB"),
    ],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


def test_stamp_changes_with_the_file_and_not_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("X = 1\n")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    first = file_stamp(path)
    assert first == file_stamp(str(path)) == (1_000_000_000, 6)  # str or Path alike
    path.write_text("X = 22\n")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert file_stamp(path) != first  # same mtime, new size
    path.write_text("X = 1\n")
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    assert file_stamp(path) != first  # same size, new mtime


def test_stamp_of_a_missing_file(tmp_path: Path) -> None:
    assert file_stamp(tmp_path / "gone.py") == NO_FILE
    assert file_stamp(tmp_path) != NO_FILE  # a folder exists: it has a stamp
