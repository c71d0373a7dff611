"""What ``hotmod run`` does with saves: check them, apply the verified ones, say what happened.

Without a language server for the workspace, the module dirs are watched; a
saved file is checked with the engine (it and its dependents, fresh imports)
and ``LiveApplier`` sends it to the programs this ``hotmod run`` started once
the verdicts allow, one line per save (``describe``).  When a language server
announces the workspace, it checks and applies (each save is checked once,
not once there and again here): this only prints what it hears was applied,
until the server goes away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from hotmod.core.discovery import excluded
from hotmod.core.engine import Engine
from hotmod.core.live_apply import LiveApplier, LiveDecision, describe
from hotmod.core.live_links import ApplyOutcome, LiveLinks, servers_for
from hotmod.live.agent import digest

from .watcher import Watcher, outermost

# A change seen without its file being closed after writing (still being
# written, deleted to be written again, or a platform reporting no closes) is
# checked once nothing more happened to it for this long.
SETTLE_S = 0.05
# Outcomes another controller applied arrive one program at a time: gathered
# for this long, a change applied to several programs is told in one go.
HEARD_S = 0.05

# (ms the check took: the saved modules and their dependents, the decision that followed)
Checked = Callable[[float, LiveDecision | None], None]


class LiveRun:
    """Follows the saves of ``engine``'s workspace for the programs of one supervisor."""

    def __init__(
        self,
        engine: Engine,
        supervisor: str,  # its socket: the agents name their supervisor by it
        say: Callable[[str], None],
        *,
        rerun: bool = False,
        on_checked: Checked | None = None,
    ) -> None:
        """``say``: one line for the user.  ``on_checked``: after each check (benchmarks)."""
        self.engine = engine
        self.root = engine.root
        self.say = say
        self._on_checked = on_checked
        self.links = LiveLinks(
            "run", lambda process, name: process.supervisor == supervisor, on_applied=self._heard
        )
        self.applier = LiveApplier(engine, self.links, rerun=lambda: rerun)
        self._due: dict[str, float] = {}  # path -> when to check it (monotonic)
        self._seen: dict[str, str] = {}  # path -> digest of the content last handled
        self._wake = threading.Condition()
        self._closed = False
        self.deferring = False
        self._heard_lock = threading.Lock()
        self._heard_now: list[ApplyOutcome] = []
        self._heard_timer: threading.Timer | None = None
        self._watcher = Watcher(
            outermost(engine.config.module_dirs),
            self._changed,
            lambda path: excluded(engine.config, path),
            settled=self._settled,
        )
        self._thread = threading.Thread(target=self._loop, name="hotmod-run-check", daemon=True)

    def start(self) -> None:
        self._defer()
        self._watcher.start()
        self._thread.start()

    def close(self) -> None:
        self._watcher.stop()
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.links.close()
        with self._heard_lock:
            if self._heard_timer is not None:
                self._heard_timer.cancel()
        self._say_heard()

    # -- saves -------------------------------------------------------------------------
    def _changed(self, paths: list[str]) -> None:
        self._schedule(paths, SETTLE_S)

    def _settled(self, paths: list[str]) -> None:
        self._schedule(paths, 0.0)

    def _schedule(self, paths: list[str], delay: float) -> None:
        at = time.monotonic() + delay
        with self._wake:
            for path in paths:
                if path.endswith(".py"):
                    self._due[path] = at  # written again: wait again
            self._wake.notify()

    def _loop(self) -> None:
        if not self.deferring:
            self._quietly(self.engine.check, ())  # starts the worker before the first save
        while True:
            with self._wake:
                while True:
                    if self._closed:
                        return
                    now = time.monotonic()
                    due = sorted(p for p, at in self._due.items() if at <= now)
                    if due:
                        break
                    self._wake.wait(min(self._due.values()) - now if self._due else None)
                for path in due:
                    del self._due[path]
            self._quietly(self.check, due)

    def _quietly(self, job: Callable[..., object], *args: object) -> None:
        try:
            job(*args)
        except Exception as exc:  # a worker that cannot start, hotmod's own bug: say, go on
            self.say(f"cannot check: {exc}")

    def check(self, paths: list[str]) -> LiveDecision | None:
        """Check the files whose content changed since last time, and apply them
        if their verdicts allow."""
        fresh = []
        for path in paths:
            content = _digest(path)
            if self._seen.get(path) != content:
                self._seen[path] = content
                fresh.append(path)
        if not fresh or self._defer():
            return None
        self.applier.saved(fresh)
        start = time.perf_counter()
        self.engine.check_paths(fresh)
        check_ms = (time.perf_counter() - start) * 1000.0
        decision = self.applier.checked()
        lines = describe(decision, self.root) if decision is not None else []
        if decision is not None and decision.files and not decision.outcomes:
            shown = self._shown(decision.files)
            lines = [f"checked {shown}: ok, but no process of the program is attached"]
        for line in lines:
            self.say(line)
        if self._on_checked is not None:
            self._on_checked(check_ms, decision)
        return decision

    def _shown(self, files: tuple[Path, ...]) -> str:
        return ", ".join(
            f.relative_to(self.root).as_posix() if f.is_relative_to(self.root) else str(f)
            for f in files
        )

    # -- an editor's language server -----------------------------------------------------
    def _defer(self) -> bool:
        """Whether a language server checks and applies for this workspace (said
        when that changes)."""
        servers = servers_for(self.root)
        if servers and not self.deferring:
            pids = ", ".join(str(s.get("pid")) for s in servers)
            self.say(
                f"the editor's hotmod (pid {pids}) checks and applies changes to {self.root}; "
                "what it applies is shown here"
            )
        elif self.deferring and not servers:
            self.say("the editor's hotmod has gone: checking changes here again")
        self.deferring = bool(servers)
        return self.deferring

    def _heard(self, outcome: ApplyOutcome) -> None:
        """Another controller (the language server) applied a change to a program."""
        if outcome.ok and not outcome.files:
            return  # that program had not loaded the file: nothing happened there
        with self._heard_lock:
            self._heard_now.append(outcome)
            if self._heard_timer is None:
                self._heard_timer = threading.Timer(HEARD_S, self._say_heard)
                self._heard_timer.daemon = True
                self._heard_timer.start()

    def _say_heard(self) -> None:
        with self._heard_lock:
            outcomes, self._heard_now = self._heard_now, []
            self._heard_timer = None
        changes: dict[tuple[Path, ...], list[ApplyOutcome]] = {}
        for outcome in outcomes:
            changes.setdefault(outcome.files, []).append(outcome)
        for files, group in changes.items():
            for line in describe(LiveDecision(files, tuple(group)), self.root):
                self.say(line)


def _digest(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return digest(f.read())
    except OSError:
        return ""  # gone: that is a change too, once
