"""The scheduler with a fake engine: supersede, cancel, re-queue, de-duplicate.

Runs in milliseconds: no worker, no server.  The fake engine checks modules
one at a time on the scheduler's thread pool, polling ``should_cancel``
between them as the real engine does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import pytest
from hotmod.core.engine import Engine
from hotmod.core.results import CheckReport, Memory, ModuleResult
from hotmod.server import scheduler as scheduler_module
from hotmod.server.scheduler import Scheduler, SchedulerHooks


def result(name: str, ok: bool = True) -> ModuleResult:
    return ModuleResult(name, Path(f"/ws/{name}.py"), ok, 1.0, 1.0, Memory(0))


class FakeEngine:
    """``check_paths`` checks ``a.py`` and its dependents; each check waits for a go."""

    def __init__(self, dependents: dict[str, list[str]]) -> None:
        self.dependents = dependents
        self.checked: list[str] = []
        self.gate = threading.Semaphore(1000)  # acquire per module checked
        self.fail = 0  # the next runs that raise
        self.results: dict[str, ModuleResult] = {}

    def _run(
        self,
        names: Iterable[str],
        should_cancel: Callable[[], bool] | None,
        on_result: Callable[[ModuleResult], None] | None,
    ) -> CheckReport:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("a bug in the engine")
        names = list(names)
        done: list[ModuleResult] = []
        for name in names:
            if should_cancel is not None and should_cancel():
                break
            self.gate.acquire()
            self.checked.append(name)
            checked = result(name)
            self.results[name] = checked
            done.append(checked)
            if on_result is not None:
                on_result(checked)
        skipped = tuple(n for n in names if n not in {r.name for r in done})
        return CheckReport("3.11", tuple(done), 1.0, cancelled=bool(skipped), skipped=skipped)

    def check_paths(self, paths: Iterable[str], **kwargs: Any) -> CheckReport:
        names: list[str] = []
        for path in sorted(paths):
            name = Path(path).stem
            names += [name, *self.dependents.get(name, [])]
        return self._run(dict.fromkeys(names), kwargs.get("should_cancel"), kwargs.get("on_result"))

    def check(self, names: Iterable[str] | None, **kwargs: Any) -> CheckReport:
        return self._run(names or [], kwargs.get("should_cancel"), kwargs.get("on_result"))

    def result(self, name: str) -> ModuleResult | None:
        return self.results.get(name)


class Recorder:
    def __init__(self) -> None:
        self.published: list[str] = []
        self.failures: list[Exception] = []
        self.ends: list[CheckReport | None] = []

    def hooks(self) -> SchedulerHooks:
        return SchedulerHooks(
            on_result=lambda r: self.published.append(r.name),
            on_removed=lambda name: None,
            on_run_start=lambda: None,
            on_run_end=self.ends.append,
            on_run_failed=self.failures.append,
        )


def make(engine: FakeEngine, recorder: Recorder) -> Scheduler:
    return Scheduler(cast(Engine, engine), recorder.hooks(), debounce_s=0.0)


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_a_newer_save_supersedes_a_run_and_nothing_is_left_unchecked(
    tmp_path: Path,
) -> None:
    engine = FakeEngine({"a": [f"dep{i}" for i in range(20)]})
    engine.gate = threading.Semaphore(3)  # the first run gets three modules in, then waits
    recorder = Recorder()
    scheduler = make(engine, recorder)
    scheduler.files_changed([str(tmp_path / "a.py")], save=True)
    await until(lambda: len(engine.checked) == 3)
    scheduler.files_changed([str(tmp_path / "b.py")], save=True)  # supersedes the first run
    for _ in range(100):
        engine.gate.release()
    await scheduler.settled()
    # b (the newer save) came before the first run's backlog, which was not lost.
    assert engine.checked.index("b") < engine.checked.index("dep19")
    assert set(engine.checked) >= {"a", "b", *(f"dep{i}" for i in range(20))}
    assert not scheduler.busy
    scheduler.close()


async def test_an_older_result_never_overwrites_a_newer_one(tmp_path: Path) -> None:
    engine = FakeEngine({})
    recorder = Recorder()
    scheduler = make(engine, recorder)
    scheduler._deliver(result("a"), 2)
    scheduler._deliver(result("a"), 1)  # from a superseded run, arriving late
    assert recorder.published == ["a"]
    scheduler.close()


async def test_a_failing_run_is_reported_retried_once_then_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "RETRY_S", 0.01)
    engine = FakeEngine({})
    engine.fail = 2  # the run and its retry
    recorder = Recorder()
    scheduler = make(engine, recorder)
    scheduler.files_changed([str(tmp_path / "a.py")], save=True)
    await until(lambda: len(recorder.failures) == 2)
    await scheduler.settled()
    assert not scheduler.busy and engine.checked == []
    # The folder is not poisoned: the next save is checked.
    scheduler.files_changed([str(tmp_path / "b.py")], save=True)
    await until(lambda: "b" in recorder.published)
    assert engine.checked == ["b"] and len(recorder.failures) == 2
    scheduler.close()


async def test_a_run_that_fails_once_is_checked_by_the_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "RETRY_S", 0.01)
    engine = FakeEngine({"a": ["c"]})
    engine.fail = 1
    recorder = Recorder()
    scheduler = make(engine, recorder)
    scheduler.files_changed([str(tmp_path / "a.py")], save=True)
    await until(lambda: "c" in recorder.published)
    assert len(recorder.failures) == 1 and engine.checked == ["a", "c"]
    scheduler.close()


async def test_a_cancelled_command_stops_its_run(tmp_path: Path) -> None:
    engine = FakeEngine({})
    engine.gate = threading.Semaphore(1)
    recorder = Recorder()
    scheduler = make(engine, recorder)
    names = [f"m{i}" for i in range(10)]
    task = asyncio.ensure_future(
        scheduler.run(lambda cancel, deliver: engine.check(names, should_cancel=cancel,
                                                           on_result=deliver))
    )  # fmt: skip
    await until(lambda: len(engine.checked) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    engine.gate.release()  # the module being checked when the request was cancelled
    await until(lambda: len(engine.checked) == 2)
    await asyncio.sleep(0.05)
    assert len(engine.checked) == 2  # it stopped at the next poll
    for _ in range(10):  # nothing is waiting any more; release the pool's thread anyway
        engine.gate.release()
    scheduler.close()


async def test_run_to_completion_answers_for_every_module_despite_a_newer_change(
    tmp_path: Path,
) -> None:
    engine = FakeEngine({})
    engine.gate = threading.Semaphore(2)
    recorder = Recorder()
    scheduler = make(engine, recorder)
    names = ["m0", "m1", "m2", "m3"]
    task = asyncio.ensure_future(
        scheduler.run_to_completion(
            lambda cancel, deliver: engine.check(names, should_cancel=cancel, on_result=deliver)
        )
    )
    await until(lambda: len(engine.checked) == 2)
    scheduler.files_changed([str(tmp_path / "x.py")], save=True)
    for _ in range(10):
        engine.gate.release()
    report = await task
    assert report is not None
    assert [r.name for r in report.results] == names and not report.skipped
    scheduler.close()


async def test_a_watcher_event_for_a_write_already_checked_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("X = 1\n")
    engine = FakeEngine({})
    recorder = Recorder()
    scheduler = make(engine, recorder)
    scheduler.files_changed([str(path)], save=True)
    await until(lambda: engine.checked == ["a"])
    await scheduler.settled()
    scheduler.files_changed([str(path)])  # the watcher reports the same write
    await asyncio.sleep(0.05)
    assert engine.checked == ["a"]
    path.write_text("X = 22\n")  # a new write is checked
    scheduler.files_changed([str(path)])
    await until(lambda: engine.checked == ["a", "a"])
    scheduler.close()
