"""The dev-mode API: reloads, refresh, performance summary and memory report."""

from __future__ import annotations

import pytest
from hotmod.core import Code, Engine, ReloadOutcome, Severity, load_config

from ..conftest import Workspace
from .helpers import by_name, only_diagnostic

SLEEPY = "import time\ntime.sleep({seconds})\n"


def test_reload_single_module_returns_its_fresh_result(workspace: Workspace) -> None:
    workspace.write({"a.py": "VALUE = 1\n", "b.py": "import a\n", "c.py": "X = 3\n"})
    with workspace.engine() as engine:
        outcome = ReloadOutcome.of("a", engine.check(["a"]))
    assert outcome.module == "a"
    assert outcome.result is not None
    assert outcome.result.name == "a"
    assert outcome.result.ok
    assert outcome.result.path == workspace.path("a.py")
    # Its dependents are re-checked with it; an unrelated module is not.
    assert [r.name for r in outcome.dependents] == ["b"]


def test_reload_reports_a_broken_module(workspace: Workspace) -> None:
    workspace.write({"a.py": "raise RuntimeError('nope')\n"})
    with workspace.engine() as engine:
        outcome = ReloadOutcome.of("a", engine.check(["a"]))
    assert outcome.result is not None and not outcome.result.ok
    assert only_diagnostic(outcome.result).code == Code.EXCEPTION


def test_reload_of_a_cancelled_check_has_no_verdict(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n", "b.py": "import a\n"})
    with workspace.engine() as engine:
        report = engine.check(["a"], should_cancel=lambda: True)
    outcome = ReloadOutcome.of("a", report)
    assert outcome.module == "a"
    assert {r.name for r in report.results} == {
        r.name for r in (outcome.dependents + ((outcome.result,) if outcome.result else ()))
    }
    assert ReloadOutcome.of("a", None) == ReloadOutcome("a", None, ())


def test_reload_all_checks_every_module(workspace: Workspace) -> None:
    workspace.write(
        {
            "a.py": "X = 1\n",
            "pkg/__init__.py": "",
            "pkg/b.py": "import a\n",
            "pkg/c.py": "raise ValueError('c')\n",
        }
    )
    with workspace.engine() as engine:
        report = engine.reload_all()
        assert set(engine.results()) == {"a", "pkg", "pkg.b", "pkg.c"}
    assert sorted(by_name(report)) == ["a", "pkg", "pkg.b", "pkg.c"]
    assert [r.name for r in report.failed] == ["pkg.c"]
    assert not report.ok


def test_reload_all_with_nothing_loaded_is_an_empty_report(workspace: Workspace) -> None:
    workspace.write({"README.txt": "no Python here\n"})
    with workspace.engine() as engine:
        report = engine.reload_all()
        assert engine.results() == {}
    assert report.results == ()
    assert report.ok
    assert report.failed == ()


def test_refresh_picks_up_new_and_deleted_files(workspace: Workspace) -> None:
    workspace.write({"keep.py": "X = 1\n", "gone.py": "Y = 2\n"})
    with workspace.engine() as engine:
        engine.check()
        assert engine.result("gone") is not None
        workspace.path("gone.py").unlink()
        workspace.write({"new.py": "import keep\n"})
        outcome = engine.refresh()
        assert outcome.added == ("new",)
        assert outcome.removed == ("gone",)
        assert outcome.report.removed == ("gone",)
        assert sorted(by_name(outcome.report)) == ["keep", "new"]
        assert engine.result("gone") is None
        assert set(engine.modules) == {"keep", "new"}
        new = engine.result("new")
        assert new is not None and new.ok


def test_reloading_one_module_leaves_other_results_intact(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n", "b.py": "import a\n", "other.py": "Z = 1\n"})
    with workspace.engine() as engine:
        engine.check()
        other_before = engine.result("other")
        a_before = engine.result("a")
        engine.check(["a"])
        assert engine.result("other") is other_before
        assert engine.result("a") is not a_before
        assert engine.reloads("other") == 0


def test_reload_counts_first_check_is_not_a_reload(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n", "b.py": "Y = 1\n"})
    with workspace.engine() as engine:
        assert engine.reloads("a") == 0
        engine.check()
        assert engine.reloads("a") == 0
        engine.check(["a"])
        assert engine.reloads("a") == 1
        engine.check(["a"])
        assert engine.reloads("a") == 2
        assert engine.reloads("b") == 0
        assert engine.performance_summary().reload_counts == {"a": 2, "b": 0}


def test_performance_summary_without_data(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n"})
    with workspace.engine() as engine:
        summary = engine.performance_summary()
    assert summary.total_loads == 0
    assert summary.average_load_ms == 0.0
    assert summary.slowest == ()
    assert summary.slow_loads == ()
    assert summary.reload_counts == {}
    assert summary.slow_threshold_ms == 100.0
    assert summary.message == "No modules loaded yet."


def test_performance_summary_with_data(workspace: Workspace) -> None:
    files = {f"m{i}.py": f"X = {i}\n" for i in range(6)}
    files["sleepy.py"] = SLEEPY.format(seconds=0.2)
    workspace.write(files)
    with workspace.engine(slow_threshold_ms=150) as engine:
        engine.check()
        engine.check(["m0"])
        summary = engine.performance_summary()
    assert summary.total_scans >= 1
    assert summary.average_scan_ms >= 0.0
    assert summary.total_loads == 8  # 7 modules, then m0 again
    assert summary.average_load_ms > 0.0
    # The top five by the module's own time, slowest first.
    assert len(summary.slowest) == 5
    assert [t.self_ms for t in summary.slowest] == sorted(
        (t.self_ms for t in summary.slowest), reverse=True
    )
    assert summary.slowest[0].module == "sleepy"
    assert summary.slowest[0].self_ms >= 200.0
    assert summary.slowest[0].load_ms >= summary.slowest[0].self_ms
    assert summary.slowest[0].import_ms >= summary.slowest[0].load_ms
    assert "sleepy" in [t.module for t in summary.slow_loads]
    assert summary.slow_threshold_ms == 150
    assert summary.reload_counts["m0"] == 1
    assert summary.reload_counts["sleepy"] == 0
    assert summary.message.startswith("8 loads")


def test_module_sleeping_reports_at_least_its_sleep(workspace: Workspace) -> None:
    workspace.write({"sleepy.py": SLEEPY.format(seconds=0.2)})
    with workspace.engine() as engine:
        result = engine.check().results[0]
    assert result.ok
    assert result.load_ms >= 200.0
    assert result.self_ms >= 200.0


def test_slow_load_warning_in_dev_mode(workspace: Workspace) -> None:
    workspace.write({"sleepy.py": SLEEPY.format(seconds=0.15)})
    with workspace.engine(dev_mode=True, slow_threshold_ms=50) as engine:
        engine.check()
        result = engine.result("sleepy")
        summary = engine.performance_summary()
    assert result is not None
    assert result.ok  # a warning, not a failure
    diagnostic = only_diagnostic(result)
    assert diagnostic.code == Code.SLOW_LOAD
    assert diagnostic.severity == Severity.WARNING
    assert diagnostic.path == workspace.path("sleepy.py")
    assert "sleepy" in diagnostic.message and "50 ms" in diagnostic.message
    assert [t.module for t in summary.slow_loads] == ["sleepy"]


def test_no_slow_load_warning_outside_dev_mode(workspace: Workspace) -> None:
    workspace.write({"sleepy.py": SLEEPY.format(seconds=0.15)})
    with workspace.engine(dev_mode=False, slow_threshold_ms=50) as engine:
        result = engine.check().results[0]
    assert result.ok
    assert result.diagnostics == ()


def test_no_slow_load_warning_under_the_threshold(workspace: Workspace) -> None:
    workspace.write({"sleepy.py": SLEEPY.format(seconds=0.15)})
    with workspace.engine(dev_mode=True, slow_threshold_ms=60_000) as engine:
        result = engine.check().results[0]
        assert engine.performance_summary().slow_loads == ()
    assert result.diagnostics == ()


def test_toggling_dev_mode_takes_effect_on_the_next_check(workspace: Workspace) -> None:
    workspace.write({"sleepy.py": SLEEPY.format(seconds=0.15)})
    with workspace.engine(slow_threshold_ms=50) as engine:
        assert engine.check().results[0].diagnostics == ()
        assert engine.set_dev_mode(True) is True
        assert engine.dev_mode
        assert only_diagnostic(engine.check().results[0]).code == Code.SLOW_LOAD


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "True", "yes", "YES", "Yes"])
def test_dev_mode_env_var_turns_dev_mode_on(workspace: Workspace, value: str) -> None:
    assert load_config(workspace.root, environ={"HOTMOD_DEV_MODE": value}).dev_mode is True
    with Engine(workspace.root, environ={"HOTMOD_DEV_MODE": value}) as engine:
        assert engine.dev_mode is True


@pytest.mark.parametrize("value", ["0", "false", "no"])
def test_dev_mode_env_var_turns_dev_mode_off(workspace: Workspace, value: str) -> None:
    workspace.write({"pyproject.toml": "[tool.hotmod]\ndev_mode = true\n"})
    assert load_config(workspace.root, environ={}).dev_mode is True
    # The environment wins over [tool.hotmod] ...
    assert load_config(workspace.root, environ={"HOTMOD_DEV_MODE": value}).dev_mode is False
    with Engine(workspace.root, environ={"HOTMOD_DEV_MODE": value}) as engine:
        assert engine.dev_mode is False
    # ... and the caller's settings win over the environment.
    on = load_config(workspace.root, {"dev_mode": True}, environ={"HOTMOD_DEV_MODE": value})
    assert on.dev_mode is True


def test_dev_mode_env_var_unset_means_default(workspace: Workspace) -> None:
    assert load_config(workspace.root, environ={}).dev_mode is False
    assert load_config(workspace.root, environ={"HOTMOD_DEV_MODE": ""}).dev_mode is False


def test_memory_report_sorted_largest_first_top_ten(workspace: Workspace) -> None:
    sizes = {f"m{i:02d}": (i + 1) * 100_000 for i in range(12)}
    workspace.write({f"{name}.py": f"DATA = bytearray({size})\n" for name, size in sizes.items()})
    with workspace.engine() as engine:
        engine.check()
        quick = engine.memory_report()  # from every check: the import's RSS growth
        report = engine.memory_report(measure=True)  # re-checked with tracemalloc
    for each in (quick, report):
        assert each.loaded_modules == 12
        assert len(each.modules) == 10
        assert [m.bytes for m in each.modules] == sorted(
            (m.bytes for m in each.modules), reverse=True
        )
        assert each.total_kb == round(each.total_bytes / 1024, 1)
        assert each.total_mb == round(each.total_bytes / (1024 * 1024), 2)
        assert each.message.startswith("12 modules hold")
    assert not any(m.traced for m in quick.modules)
    # Measured: each module's own retained bytes, so the order is exact.
    assert all(m.traced for m in report.modules)
    assert [m.module for m in report.modules] == [f"m{i:02d}" for i in range(11, 1, -1)]
    for entry in report.modules:
        assert sizes[entry.module] <= entry.bytes < sizes[entry.module] + 50_000
    assert report.total_bytes >= sum(sizes.values())  # all twelve, not just the top ten


def test_memory_report_with_empty_registry(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n"})
    with workspace.engine() as engine:
        for report in (engine.memory_report(), engine.memory_report(measure=True)):
            assert report.modules == ()
            assert report.total_bytes == 0
            assert report.loaded_modules == 0
            assert report.message == "No modules loaded yet."
        assert engine.results() == {}


def test_status_counts_broken_modules(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n", "b.py": "import missing_module_xyz\n"})
    with workspace.engine() as engine:
        before = engine.status()
        assert before.worker_pid is None  # nothing runs before the first check
        engine.check()
        status = engine.status()
    assert status.module_count == 2
    assert status.broken_count == 1
    assert status.worker_pid is not None
    assert status.last_check_ms is not None


def test_the_saved_module_is_checked_before_its_dependents(workspace: Workspace) -> None:
    # Dependents whose names sort before the hub must not delay the hub's verdict.
    workspace.write({"zhub.py": "X = 1\n"} | {f"a{i:02d}.py": "import zhub\n" for i in range(6)})
    with workspace.engine() as engine:
        engine.check()
        delivered: list[str] = []
        report = engine.check_paths(
            [workspace.path("zhub.py")], on_result=lambda r: delivered.append(r.name)
        )
    assert delivered[0] == "zhub"
    assert [r.name for r in report.results] == sorted(delivered)  # reports stay sorted by name
