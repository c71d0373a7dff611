"""Superseding checks: newer saves win, and no module is left unchecked."""

from __future__ import annotations

import asyncio
from pathlib import Path

from .conftest import Session, write


def slow_broken(n: int) -> str:
    return f"import time\n\ntime.sleep(0.3)\nraise ValueError('broken {n}')\n"


async def test_a_save_during_the_initial_check_loses_no_module(
    lsp: Session, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    write(root, {f"m{i}.py": slow_broken(i) for i in range(8)} | {"ok.py": "X = 1\n"})
    await lsp.start(root)
    # Save while the initial check (8 x 0.3 s on 2 cores) is under way.
    await lsp.until(lambda: any(lsp.diagnostics(root / f"m{i}.py") for i in range(8)))
    lsp.save(root / "ok.py", "X = 2\n")
    await lsp.until(
        lambda: all(lsp.codes(root / f"m{i}.py") == ["exception"] for i in range(8)), 30
    )
    await lsp.idle()
    assert lsp.diagnostics(root / "ok.py") == []


async def test_a_newer_save_of_another_file_keeps_the_older_verdict(
    lsp: Session, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    write(root, {"a.py": "X = 1\n", "b.py": "Y = 1\n"})
    await lsp.start(root)
    await lsp.idle()
    lsp.save(root / "a.py", slow_broken(1))
    await asyncio.sleep(0.1)  # a's check is running
    lsp.save(root / "b.py", "raise KeyError('b')\n")
    await lsp.until(lambda: lsp.codes(root / "b.py") == ["exception"])
    await lsp.until(lambda: lsp.codes(root / "a.py") == ["exception"], 20)
    assert "broken 1" in lsp.diagnostics(root / "a.py")[0].message


async def test_reload_on_save_off_checks_only_on_command(lsp: Session, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root, {"a.py": "X = 1\n"})
    await lsp.start(root, reloadOnSave=False)
    await lsp.idle()
    lsp.save(root / "a.py", "raise ValueError('now broken')\n")
    await asyncio.sleep(1.0)  # neither the save nor the file watcher triggers a check
    assert lsp.diagnostics(root / "a.py") == []
    result = await lsp.command("hotmod.reloadModule", {"module": "a"})
    assert result["result"]["status"] == "error"
    await lsp.until(lambda: lsp.codes(root / "a.py") == ["exception"])


async def test_reload_command_superseded_before_it_starts_still_answers(
    lsp: Session, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    write(root, {"a.py": "X = 1\n", "b.py": "Y = 1\n", "c.py": "Z = 1\n"})
    await lsp.start(root)
    await lsp.idle()
    lsp.save(root / "a.py", slow_broken(1))  # a's check holds the run for 0.3 s
    await asyncio.sleep(0.1)
    reload = asyncio.ensure_future(lsp.command("hotmod.reloadModule", {"module": "b"}))
    await asyncio.sleep(0.05)  # the command waits for a's check to end
    lsp.save(root / "c.py", "Z = 2\n")  # newer than the command: supersedes it
    result = await reload
    assert result["result"] is not None, result
    assert (result["result"]["name"], result["result"]["status"]) == ("b", "ok")


async def test_reload_all_superseded_by_a_save_still_reports_every_module(
    lsp: Session, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    write(root, {f"m{i}.py": "import time\n\ntime.sleep(0.1)\n" for i in range(6)})
    await lsp.start(root)
    await lsp.idle()
    reload_all = asyncio.ensure_future(lsp.command("hotmod.reloadAll"))
    await asyncio.sleep(0.15)  # a few modules in
    lsp.save(root / "m5.py", "raise KeyError('m5')\n")  # supersedes the rest of the run
    report = await reload_all
    assert report["modules"] == 6 and report["cancelled"] is False
    statuses = {r["name"]: r["status"] for r in report["results"]}
    assert statuses == {f"m{i}": "error" if i == 5 else "ok" for i in range(6)}
