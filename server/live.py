"""Live reload through the language server: one ``FolderLive`` per trusted workspace folder.

The facts are core's: ``LiveLinks`` keeps the running programs of the folder's
workspace that take changes, ``LiveApplier`` decides which saves may go to them
(only those whose checks and their dependents' passed).  This keeps what the
editor shows of them: which modules each program has loaded, how often a
module was applied, and the refusals that still stand (a change that needs a
restart, until that file is applied).  Every exchange with the programs runs
on a thread of its own, one at a time, off the event loop: an apply takes a
few milliseconds, but 10 s when a program is stopped in a debugger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from hotmod.core.engine import Engine
from hotmod.core.live_apply import LiveApplier, LiveDecision
from hotmod.core.live_links import ApplyOutcome, LiveLinks, LiveProcess, Refusal
from hotmod.live import rendezvous
from hotmod.live.agent import digest

RESTART_TIMEOUT_S = 5.0  # for the ``hotmod run`` supervisor to take a restart

T = TypeVar("T")


@dataclass(frozen=True)
class LeftOut:
    """A loaded module that ``apply now`` did not send, and why."""

    module: str
    why: str


@dataclass(frozen=True)
class ApplyNow:
    decision: LiveDecision
    left_out: tuple[LeftOut, ...]


class RestartError(Exception):
    """The restart could not be asked for; the message says why, for the user."""


class FolderLive:
    """The programs that take changes of one workspace folder, and what became of them.

    ``on_change`` (any thread): the programs, what they loaded or the refusals
    changed.  ``on_heard`` (any thread): another controller applied a change.
    """

    def __init__(
        self,
        root: Path,
        engine: Engine,
        *,
        on_change: Callable[[], None],
        on_heard: Callable[[ApplyOutcome], None],
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.engine = engine
        self._on_change = on_change
        self._on_heard = on_heard
        self._lock = threading.Lock()
        self._refused: dict[int, dict[Path, tuple[Refusal, ...]]] = {}  # pid -> file -> why
        self._applied: dict[str, int] = {}  # module -> changes applied to it
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="hotmod-live")
        self.links = LiveLinks(
            "server",
            self._accepts,
            on_change=self._changed,
            on_applied=self._heard,
            announce=[self.root],
        )
        self.applier = LiveApplier(engine, self.links, rerun=lambda: engine.config.live_rerun)

    def _accepts(self, process: LiveProcess, entry: str) -> bool:
        """A program of this workspace (or of a project inside it, or around it)."""
        return rendezvous.related(str(process.workspace), str(self.root))

    # -- what there is ---------------------------------------------------------------
    def processes(self) -> list[LiveProcess]:
        return self.links.processes()

    def module_state(self, module: str) -> tuple[int, int] | None:
        """How many programs have ``module`` loaded, and how often a change was applied
        to it; None when none has."""
        count = sum(module in p.modules for p in self.processes())
        if not count:
            return None
        with self._lock:
            return count, self._applied.get(module, 0)

    def refusals(self) -> dict[Path, list[Refusal]]:
        """The refusals that still stand, per file (once each, whichever programs said it)."""
        found: dict[Path, list[Refusal]] = {}
        with self._lock:
            for files in self._refused.values():
                for path, refusals in files.items():
                    shown = found.setdefault(path, [])
                    shown += [r for r in refusals if r not in shown]
        return found

    # -- what happens --------------------------------------------------------------------
    def saved(self, paths: Iterable[str]) -> None:
        """Saves whose checks were just scheduled."""
        self.applier.saved(paths)

    async def checked(self) -> LiveDecision | None:
        """After the run that checked them: apply the saves whose verdicts allow it."""
        decision = await self._run(self.applier.checked)
        if decision is not None and decision.outcomes:
            self._record(decision.outcomes, decision.files)
        return decision

    async def apply_now(self, rerun: bool | None = None) -> ApplyNow:
        """Send the verified content of every module the programs have loaded."""

        def job() -> ApplyNow:
            files, left_out = self._verified()
            if not files:
                return ApplyNow(LiveDecision((), ()), left_out)
            outcomes = self.links.apply(files, rerun=rerun)
            paths = tuple(f for f, _ in files)
            self._record(outcomes, paths)
            return ApplyNow(LiveDecision(paths, tuple(outcomes)), left_out)

        return await self._run(job)

    async def restart(self, process: LiveProcess) -> None:
        """Ask the ``hotmod run`` that started ``process`` to restart it."""
        await self._run(lambda: _restart(process))

    async def _run(self, job: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, job)

    def _verified(self) -> tuple[list[tuple[Path, str]], tuple[LeftOut, ...]]:
        """The files of the modules loaded in the programs whose content on disk
        passed its check, and so did its dependents'."""
        modules = self.engine.modules
        loaded = sorted({m for p in self.processes() for m in p.modules if m in modules})
        files: list[tuple[Path, str]] = []
        left_out = []
        for name in loaded:
            info = modules[name]
            result = self.engine.result(name)
            if result is None or result.cached or not result.digest:
                left_out.append(LeftOut(name, "not checked yet"))
                continue
            if not result.ok:
                left_out.append(LeftOut(name, "it fails to import"))
                continue
            failing = sorted(
                d
                for d in self.engine.dependents([name]) - {name}
                if (r := self.engine.result(d)) is not None and not r.ok and not r.cached
            )
            if failing:
                left_out.append(LeftOut(name, f"{failing[0]}, which depends on it, fails"))
                continue
            try:
                current = digest(info.path.read_bytes())
            except OSError as exc:
                left_out.append(LeftOut(name, f"cannot read it: {exc.strerror}"))
                continue
            if current != result.digest:
                left_out.append(LeftOut(name, "it changed since its check"))
                continue
            files.append((info.path, result.digest))
        return files, tuple(left_out)

    # -- keeping track -------------------------------------------------------------------
    def _record(self, outcomes: Iterable[ApplyOutcome], sent: Iterable[Path]) -> None:
        """What the programs did with files ``sent``: a file applied clears its
        refusals in that program; a refused change replaces them."""
        sent = {_real(f) for f in sent}
        changed: set[str] = set()
        with self._lock:
            for outcome in outcomes:
                mine = self._refused.setdefault(outcome.pid, {})
                files = sent | {_real(f) for f in outcome.files}
                if outcome.ok:
                    changed.update(outcome.modules)
                    for path in files:
                        mine.pop(path, None)
                elif outcome.refused:
                    for path in files:
                        mine.pop(path, None)
                    for refusal in outcome.refused:
                        path = _real(refusal.path)
                        mine[path] = (*mine.get(path, ()), refusal)
                if not mine:
                    del self._refused[outcome.pid]
            for module in changed:
                self._applied[module] = self._applied.get(module, 0) + 1
        self._on_change()

    def _changed(self) -> None:
        attached = {p.pid for p in self.links.processes()}
        with self._lock:
            for pid in set(self._refused) - attached:
                del self._refused[pid]  # it exited (or restarted): its refusals went with it
        self._on_change()

    def _heard(self, outcome: ApplyOutcome) -> None:
        self._record([outcome], outcome.files)
        self._on_heard(outcome)

    def close(self) -> None:
        self.links.close()
        self._thread.shutdown(wait=False, cancel_futures=True)


def _real(path: Path | str) -> Path:
    """Agents speak of files by their real paths."""
    return Path(os.path.realpath(path))


def _restart(process: LiveProcess) -> None:
    """Send ``restart`` to the socket of the supervisor entry that started ``process``."""
    if not process.supervisor:
        raise RestartError(
            f"pid {process.pid} ({process.command}) was not started by `hotmod run`: "
            "restart it yourself"
        )
    entry = next(
        (e for e in rendezvous.entries("supervisor") if e.get("socket") == process.supervisor),
        None,
    )
    if entry is None:
        raise RestartError(f"the `hotmod run` that started pid {process.pid} is gone")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(RESTART_TIMEOUT_S)
    try:
        sock.connect(process.supervisor)
        sock.sendall(json.dumps({"op": "restart"}).encode() + b"\n")
        with sock.makefile("rb") as reader:
            line = reader.readline(1 << 16)
    except TimeoutError:
        raise RestartError(
            f"the `hotmod run` of pid {process.pid} did not answer in {RESTART_TIMEOUT_S:g} s"
        ) from None
    except OSError as exc:
        raise RestartError(f"cannot reach the `hotmod run` of pid {process.pid}: {exc}") from None
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    try:
        answer = json.loads(line) if line.strip() else {}
    except ValueError:
        answer = {}
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, str) and error:
        raise RestartError(f"`hotmod run` did not restart pid {process.pid}: {error}")
