"""Turns change notifications into engine checks: coalesced, superseding, lossless.

One scheduler per workspace folder.  Every request bumps a *generation*.  A
running check polls it and stops early when a newer request arrived; the
modules it did not get to are queued again, so no module is left unchecked.
A result is published unless a newer generation's result for the same module
was published already: an older check never overwrites what a newer one found.

A run that fails as a whole (hotmod's own bug, a worker that cannot start) is
reported and its work tried once more with the next run; if that fails too,
the work is dropped: a failure must never re-queue itself forever and keep
every later change of the folder from being checked.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from hotmod.core.engine import Engine
from hotmod.core.filestamp import FileStamp, file_stamp
from hotmod.core.results import CheckReport, ModuleResult

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.03
RETRY_S = 1.0  # a run that failed is tried once more this much later

# job(should_cancel, deliver) -> report, run on a worker thread
Job = Callable[[Callable[[], bool], Callable[[ModuleResult], None]], CheckReport]


@dataclass(frozen=True)
class SchedulerHooks:
    """Where results go; all called on the event loop thread."""

    on_result: Callable[[ModuleResult], None]
    on_removed: Callable[[str], None]  # a module name that no longer exists
    on_run_start: Callable[[], None]
    on_run_end: Callable[[CheckReport | None], None]
    on_run_failed: Callable[[Exception], None]  # the run raised: say so, once per failure
    # The modules whose verdicts the user wants first: the documents open in the editor.
    open_modules: Callable[[], set[str]] = set


class Scheduler:
    def __init__(
        self, engine: Engine, hooks: SchedulerHooks, debounce_s: float = DEBOUNCE_S
    ) -> None:
        self.engine = engine
        self.hooks = hooks
        self.debounce_s = debounce_s
        self._generation = 0
        self._pending: set[str] = set()  # changed paths
        self._pending_modules: set[str] = set()  # modules a superseded run did not check
        self._published: dict[str, int] = {}  # module -> generation of its published result
        self._timer: asyncio.Handle | None = None
        self._drainer: asyncio.Task[None] | None = None
        self._run_lock = asyncio.Lock()
        self._stamps: dict[str, FileStamp] = {}
        self._closed = False
        self._settled = asyncio.Event()  # set whenever a run ends: see settled()
        self._retried: tuple[set[str], set[str]] | None = None  # work a failed run left

    @property
    def busy(self) -> bool:
        return (
            self._run_lock.locked()
            or bool(self._pending or self._pending_modules)
            or self._timer is not None
        )

    # -- change notifications ---------------------------------------------------
    def files_changed(self, paths: Iterable[str], *, save: bool = False) -> set[str]:
        """Files changed on disk (a save, a watcher event). Call on the loop thread.

        A save starts checking at once: the user is waiting, and a newer save
        supersedes it anyway.  Watcher events wait ``debounce_s`` so that a burst
        (a git checkout) becomes one run.  Outside a save, a path whose content
        stamp equals that of its last check is ignored: the editor's didSave and
        the file watcher report the same write, and it should be checked once.
        Returns the paths that will be checked.
        """
        if self._closed:
            return set()
        fresh = set()
        for path in paths:
            path = os.path.abspath(path)
            if save or self._stamps.get(path) != file_stamp(path):
                fresh.add(path)
        if not fresh:
            return fresh
        self._pending |= fresh
        self._generation += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if save:
            self._kick()
        else:
            self._timer = asyncio.get_running_loop().call_later(self.debounce_s, self._kick)
        return fresh

    def _kick(self) -> None:
        self._timer = None
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    def _kick_soon(self) -> None:
        if self._timer is None and not self._closed:
            self._timer = asyncio.get_running_loop().call_soon(self._kick)

    async def _drain(self) -> None:
        while (self._pending or self._pending_modules) and not self._closed:
            report = None
            async with self._run_lock:
                paths, self._pending = self._pending, set()
                modules, self._pending_modules = self._pending_modules, set()
                if self._timer is not None:
                    # This run takes the work the timer was to start: a timer
                    # left behind would keep the folder busy (never idle).
                    self._timer.cancel()
                    self._timer = None
                generation = self._generation
                for path in paths:
                    self._stamps[path] = file_stamp(path)
                try:
                    report = await self._execute(
                        generation,
                        self._backlog_job(paths, modules, self.hooks.open_modules()),
                        self.hooks.on_run_start,
                    )
                    self._retried = None
                except Exception as exc:
                    log.exception("checking %d changed files failed", len(paths))
                    self.hooks.on_run_failed(exc)
                    if self._retried is None or (paths, modules) != self._retried:
                        # Once more, a moment later (in case it was passing);
                        # the same work failing twice is dropped.
                        self._retried = (paths, modules)
                        self._pending |= paths
                        self._pending_modules |= modules
                        self._timer = asyncio.get_running_loop().call_later(RETRY_S, self._kick)
                        self.hooks.on_run_end(None)
                        self._settled.set()
                        return
                    self._retried = None
            if report is not None:
                self._pending_modules |= set(report.skipped)
                for name in report.removed:
                    self.hooks.on_removed(name)
            self.hooks.on_run_end(report)
            self._settled.set()

    def _backlog_job(self, paths: set[str], modules: set[str], wanted: set[str]) -> Job:
        """Changed paths first (the user is waiting for them), then the backlog;
        ``wanted``: open documents, checked before the other dependents."""

        def job(cancel: Callable[[], bool], deliver: Callable[[ModuleResult], None]) -> CheckReport:
            first = self.engine.check_paths(
                paths, should_cancel=cancel, on_result=deliver, first=wanted
            )
            rest = modules - {r.name for r in first.results} - set(first.skipped)
            if not rest:
                return first
            second = self.engine.check(
                rest, dependents=False, should_cancel=cancel, on_result=deliver, first=wanted
            )
            return replace(
                first,
                results=first.results + second.results,
                duration_ms=first.duration_ms + second.duration_ms,
                cancelled=first.cancelled or second.cancelled,
                skipped=first.skipped + second.skipped,
            )

        return job

    # -- explicit runs (commands, initial scan, settings changes) -----------------
    async def run(self, job: Job) -> CheckReport | None:
        """Run ``job(should_cancel, deliver)`` now, superseding whatever runs.

        Modules it does not get to because a newer request superseded it are
        checked by the next run.
        """
        self._generation += 1
        generation = self._generation
        report = None
        try:
            async with self._run_lock:
                report = await self._execute(generation, job, self.hooks.on_run_start)
        except asyncio.CancelledError:
            # The request was cancelled ($/cancelRequest): stop the engine too.
            if self._generation == generation:
                self._generation += 1
            raise
        finally:
            self.hooks.on_run_end(report)
            self._settled.set()
        if report is not None and report.skipped:
            self._pending_modules |= set(report.skipped)
            self._kick_soon()
        return report

    async def run_to_completion(self, job: Job) -> CheckReport | None:
        """``run``, and for the modules a newer change made it skip, the verdicts
        of the runs that checked them next: the whole report a command asked for.
        """
        report = await self.run(job)
        if report is None or not report.skipped:
            return report
        await self.settled()
        found = {r.name: r for r in report.results}
        for name in report.skipped:
            result = self.engine.result(name)
            if result is not None:
                found[name] = result
        left = tuple(n for n in report.skipped if n not in found)
        return replace(
            report,
            results=tuple(sorted(found.values(), key=lambda r: r.name)),
            skipped=left,
            cancelled=bool(left),
        )

    async def settled(self) -> None:
        """Wait until no run is under way or waiting (a superseded run's backlog included)."""
        while self.busy and not self._closed:
            self._settled.clear()
            await self._settled.wait()

    async def measure(self, job: Callable[..., None]) -> None:
        """Run ``job(should_cancel=...)`` between checks: a measurement, no results."""
        generation = self._generation
        loop = asyncio.get_running_loop()
        async with self._run_lock:
            await loop.run_in_executor(
                None, lambda: job(should_cancel=lambda: self._generation != generation)
            )

    async def _execute(
        self, generation: int, job: Job, started: Callable[[], None]
    ) -> CheckReport | None:
        """Run ``job`` on a thread; ``started`` (the status notification) runs only
        once the job is on its way, so that it never delays a check."""
        loop = asyncio.get_running_loop()

        def cancelled() -> bool:
            return self._closed or self._generation != generation

        def deliver(result: ModuleResult) -> None:
            loop.call_soon_threadsafe(self._deliver, result, generation)

        running = loop.run_in_executor(None, job, cancelled, deliver)
        started()
        return await running

    def _deliver(self, result: ModuleResult, generation: int) -> None:
        if self._closed or generation < self._published.get(result.name, -1):
            return  # a newer check of this module was published already
        self._published[result.name] = generation
        self.hooks.on_result(result)

    def close(self) -> None:
        self._closed = True
        self._settled.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
