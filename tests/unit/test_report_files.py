"""Markdown report files for clients without a hotmod extension (core/report_files.py)."""

from __future__ import annotations

from pathlib import Path

from hotmod.core.cachedir import workspace_cache_dir
from hotmod.core.report_files import KEEP, save_report


def test_each_report_is_a_new_file_in_the_workspace_cache(tmp_path: Path) -> None:
    env = {"HOTMOD_CACHE_DIR": str(tmp_path / "cache")}
    first = save_report(tmp_path / "ws", "reload-shop.cart", "# one\n", env)
    second = save_report(tmp_path / "ws", "reload-shop.cart", "# two\n", env)
    assert first != second  # an editor showing the first is not asked to re-read it
    assert first.parent == workspace_cache_dir(tmp_path / "ws", env) / "reports"
    assert first.name.startswith("reload-shop.cart-") and first.suffix == ".md"
    assert (first.read_text(), second.read_text()) == ("# one\n", "# two\n")
    odd = save_report(tmp_path / "ws", "profile-a/b c", "x", env)
    assert odd.parent == first.parent and odd.name.startswith("profile-a_b_c-")


def test_only_the_newest_reports_are_kept(tmp_path: Path) -> None:
    env = {"HOTMOD_CACHE_DIR": str(tmp_path / "cache")}
    written = [save_report(tmp_path, "status", f"{i}\n", env) for i in range(KEEP + 5)]
    left = sorted(written[0].parent.glob("*.md"))
    assert len(left) == KEEP
    assert {p.read_text() for p in left} == {f"{i}\n" for i in range(5, KEEP + 5)}
