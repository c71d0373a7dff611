"""Profiles, the memory report, the load history and its regression diagnostic."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hotmod.core import Code, ModuleResult, sqlite_store
from hotmod.core import history as history_module
from hotmod.core.cachedir import workspace_cache_dir
from hotmod.core.history import History
from hotmod.core.results import Memory
from hotmod.server.cli import main as cli_main

from ..conftest import Workspace
from ..sources import SLOW

SLOWDEP = "import time\n\ntime.sleep(0.15)\n"  # 150 ms that belong to the import tree


def _slow_workspace(workspace: Workspace) -> None:
    workspace.write({"slow.py": SLOW, "slowdep.py": SLOWDEP})


def test_profile_ranks_the_slow_line_first_and_lists_the_slow_import(
    workspace: Workspace, tmp_path: Path
) -> None:
    _slow_workspace(workspace)
    with workspace.engine() as engine:
        profile = engine.profile("slow", html=tmp_path / "report.html")
    assert profile.ok and profile.error is None
    hottest = profile.hottest
    assert hottest[0].line == 7
    assert hottest[0].hits >= 40  # the loop's line runs once per iteration
    assert hottest[0].self_ms >= 150
    assert hottest[0].text.startswith("for _ in range(40)")
    line2 = next(line for line in profile.lines if line.line == 2)
    assert line2.ms >= 100 and line2.self_ms < line2.ms / 2  # the import's time is not its own
    slowdep = next(i for i in profile.imports if i.name == "slowdep")
    assert slowdep.project and slowdep.line == 2 and slowdep.ms >= 100
    assert profile.calls is not None and "helper" in json.dumps(_names(profile.calls))
    assert any(f.name == "slow.helper" for f in profile.functions)
    assert profile.html == tmp_path / "report.html"
    page = profile.html.read_text()
    assert "slow" in page and '<svg id="chart"' in page
    assert "import slowdep" in page  # the import is a box in the chart
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def _names(node: object) -> list[str]:
    name = getattr(node, "name", "")
    return [name, *(n for c in getattr(node, "children", ()) for n in _names(c))]


def test_profile_times_cold_third_party_imports(workspace: Workspace) -> None:
    # A stdlib package nobody imports at top level is not warm in the worker.
    workspace.write({"lazy.py": "def f():\n    import xml.dom.minidom\n\n\nf()\n"})
    with workspace.engine() as engine:
        profile = engine.profile("lazy")
    names = {i.name for i in profile.imports}
    assert "xml.dom.minidom" in names
    minidom = next(i for i in profile.imports if i.name == "xml.dom.minidom")
    assert not minidom.project and minidom.ms > 0 and minidom.children  # its own imports nest


def test_profile_of_a_failing_module_covers_it_up_to_the_failure(workspace: Workspace) -> None:
    workspace.write(
        {"broken.py": "import time\n\ntime.sleep(0.05)\nraise RuntimeError('boom')\nY = 2\n"}
    )
    with workspace.engine() as engine:
        profile = engine.profile("broken")
    assert not profile.ok
    assert profile.error is not None and "RuntimeError: boom" in profile.error
    assert profile.hottest[0].line == 3
    assert 5 not in {line.line for line in profile.lines}  # never ran


def test_cli_profile_and_history(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _slow_workspace(workspace)
    html = tmp_path / "out.html"
    args = ["--root", str(workspace.root), "--python", sys.executable]
    code = cli_main(["profile", "slow", "--html", str(html), "--format", "json", *args])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["module"] == "slow" and data["status"] == "ok"
    assert data["lines"][0]["line"] == 7 and data["html"] == str(html) and html.is_file()
    assert [i["name"] for i in data["imports"]] == ["slowdep"]

    code = cli_main(["profile", str(workspace.path("slow.py")), *args])
    text = capsys.readouterr().out
    assert code == 0 and "Hottest lines" in text and "slowdep" in text

    assert cli_main(["check", str(workspace.root), "--python", sys.executable]) == 0
    capsys.readouterr()
    assert cli_main(["history", "slowdep", "--root", str(workspace.root)]) == 0
    out = capsys.readouterr().out
    assert "slowdep: 1 loads" in out and " ok " in out
    assert cli_main(["history", "nothing.here", "--root", str(workspace.root)]) == 1
    assert cli_main(["profile", "nothing.here", *args]) == 2


def test_memory_report_ranks_a_50_mb_module_above_a_1_kb_one(workspace: Workspace) -> None:
    workspace.write(
        {
            "large.py": "DATA = [0] * (50 * 1024 * 1024 // 8)\n",
            "small.py": "DATA = b'x' * 1024\n",
        }
    )
    with workspace.engine() as engine:
        engine.check()
        report = engine.memory_report(measure=True)
    assert [m.module for m in report.modules] == ["large", "small"]
    assert report.modules[0].bytes >= 50 * 1024 * 1024
    assert report.modules[1].bytes < 64 * 1024
    assert report.loaded_modules == 2
    assert report.total_bytes == sum(m.bytes for m in report.modules)
    assert report.total_kb == round(report.total_bytes / 1024, 1)
    assert report.total_mb == round(report.total_bytes / 1024 / 1024, 2)
    assert report.worker_rss_bytes is not None and report.worker_rss_bytes > 5 * 1024 * 1024
    assert "worker" in report.message


def test_memory_report_lists_the_top_ten(workspace: Workspace) -> None:
    workspace.write({f"m{i:02}.py": f"DATA = [0] * {(i + 1) * 20_000}\n" for i in range(12)})
    with workspace.engine() as engine:
        engine.check()
        report = engine.memory_report(measure=True)
    assert len(report.modules) == 10 and report.loaded_modules == 12
    assert [m.module for m in report.modules[:2]] == ["m11", "m10"]
    assert report.total_bytes > sum(m.bytes for m in report.modules)  # totals cover all 12


def _set_delay(workspace: Workspace, seconds: float) -> None:
    body = f"import time\n\ntime.sleep({seconds})\n" if seconds else "X = 1\n"
    workspace.write({"mod.py": body})


def test_history_survives_a_restart_and_flags_a_regression_until_recovery(
    workspace: Workspace,
) -> None:
    _set_delay(workspace, 0)
    settings = {"regression_min_ms": 20, "regression_ratio": 1.5}
    with workspace.engine(**settings) as engine:
        for _ in range(5):
            engine.check(["mod"])
    with workspace.engine(**settings) as engine:  # a new engine: only the database remembers
        assert len(engine.history("mod")) == 5
        _set_delay(workspace, 0.15)
        slow = engine.check(["mod"]).results[0]
        trend = engine.trend("mod")
        assert trend is not None and trend.samples == 5 and trend.change > 1
        assert [d.code for d in slow.diagnostics] == [Code.LOAD_REGRESSION]
        assert slow.ok and "median" in slow.diagnostics[0].message
        assert engine.performance_summary().regressions == ("mod",)

        _set_delay(workspace, 0)
        recovered = engine.check(["mod"]).results[0]
        assert recovered.diagnostics == ()
        assert engine.performance_summary().regressions == ()
        series = engine.history("mod")
        summary_rows = {c.module: c for c in engine.performance_summary().history}
    assert len(series) == 7 and series[-2].self_ms >= 100
    assert summary_rows["mod"].samples >= 5 and summary_rows["mod"].median_ms is not None


def test_history_can_be_switched_off(workspace: Workspace) -> None:
    _set_delay(workspace, 0)
    with workspace.engine(history=False) as engine:
        engine.check()
        assert engine.trend("mod") is None
    assert not (workspace_cache_dir(workspace.root) / "history.sqlite3").exists()


def test_a_corrupt_history_database_is_replaced_with_a_warning(workspace: Workspace) -> None:
    _set_delay(workspace, 0)
    db = workspace_cache_dir(workspace.root) / "history.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    warnings: list[str] = []
    with workspace.engine() as engine:
        engine.on_warning = warnings.append
        report = engine.check()
        assert report.ok
        assert len(engine.history("mod")) == 1  # a fresh database took over
    assert any("unreadable" in w and "corrupt-" in w for w in warnings), warnings
    assert list(db.parent.glob("history.corrupt-*.sqlite3"))


def test_a_locked_history_database_warns_and_catches_up_later(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "RETRY_S", 0.2)
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)
    _set_delay(workspace, 0)
    db = workspace_cache_dir(workspace.root) / "history.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    locker = sqlite3.connect(db, isolation_level=None)  # another process's rollback journal
    locker.execute("CREATE TABLE other (x)")
    locker.execute("BEGIN EXCLUSIVE")
    warnings: list[str] = []
    try:
        with workspace.engine() as engine:
            engine.on_warning = warnings.append
            assert engine.check().ok
            engine._history.flush()  # type: ignore[union-attr]
            assert any("locked" in w for w in warnings), warnings
            locker.execute("COMMIT")
            engine._history.flush()  # type: ignore[union-attr]
            assert len(engine.history("mod")) == 1  # written once the lock went away
    finally:
        locker.close()


def _result(name: str, ms: float) -> ModuleResult:
    return ModuleResult(name, Path(f"/{name}.py"), True, ms, ms, Memory(0))


def test_two_servers_write_one_database_and_old_rows_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    writers = [History(tmp_path, path=path, keep=150) for _ in range(2)]

    def write(history: History, module: str) -> None:
        for i in range(200):
            history.observe(_result(module, float(i)), 1.5, 10)
            history.observe(_result("shared", float(i)), 1.5, 10)

    threads = [threading.Thread(target=write, args=(h, f"m{i}")) for i, h in enumerate(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for h in writers:
        h.close()
    reader = History(tmp_path, path=path)
    assert [len(reader.series(m, 1000)) for m in ("m0", "m1", "shared")] == [150, 150, 150]
    assert [p.self_ms for p in reader.series("m0", 3)] == [197.0, 198.0, 199.0]
    # And another process may write meanwhile (WAL: no reader waits for it).
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=5); "
        "c.execute('insert into loads (module, at, status, load_ms, self_ms, memory_bytes) "
        'values ("p", 0, "ok", 1, 1, 0)\'); c.commit()'
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)
    assert len(reader.series("p")) == 1


def test_sparkline_and_text_history_output(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert history_module.sparkline([1, 2, 3, 8]) == "▁▂▃█"
    assert history_module.sparkline([5, 5]) == "▁▁"
    _set_delay(workspace, 0)
    with workspace.engine() as engine:
        engine.check()
    out = io.StringIO()
    out.isatty = lambda: True  # type: ignore[method-assign]
    from hotmod.server.cli_profiling import history_command

    parser_args = _history_args(workspace)
    assert history_command(parser_args, out) == 0
    assert out.getvalue().splitlines()[-1] == "▁"


def _history_args(workspace: Workspace) -> object:
    import argparse

    return argparse.Namespace(
        module="mod", limit=50, format="text", root=str(workspace.root), config=None
    )


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


# `make test` installs chromium first; in CI a missing browser is a failure, not a skip.
@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="no chromium (apt-get install chromium)"
)
def test_the_html_report_runs_in_a_browser_without_errors(
    workspace: Workspace, tmp_path: Path
) -> None:
    _slow_workspace(workspace)
    with workspace.engine() as engine:
        profile = engine.profile("slow", html=tmp_path / "slow.html")
    assert profile.html is not None
    run = subprocess.run(
        [
            str(CHROMIUM),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'chrome'}",
            "--dump-dom",
            profile.html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = run.stdout
    assert 'data-ready="1"' in dom, run.stderr[-2000:]  # the script ran to its end
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    assert 'id="module">slow<' in dom and "<svg" in dom and 'class="n"' in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            str(CHROMIUM),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'chrome2'}",
            "--window-size=1200,900",
            f"--screenshot={shot}",
            profile.html.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_a_history_closed_while_another_process_holds_the_lock_still_writes(
    tmp_path: Path,
) -> None:
    """Closing writes what is queued even when another server holds the database
    longer than the busy timeout: nothing observed is lost at shutdown."""
    path = tmp_path / "history.sqlite3"
    history = History(tmp_path, path=path, keep=150)
    history.observe(_result("early", 1.0), 1.5, 10)
    assert history.flush()  # the database exists, in WAL mode
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN IMMEDIATE")  # a writer that keeps the lock for a while
    history.observe(_result("late", 2.0), 1.5, 10)
    release = threading.Timer(
        sqlite_store.BUSY_TIMEOUT_MS / 1000 + 0.5, lambda: locker.execute("COMMIT")
    )
    release.start()
    try:
        history.close()
    finally:
        release.join()
        locker.close()
    assert len(History(tmp_path, path=path).series("late", 10)) == 1
