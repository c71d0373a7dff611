"""Which saved files may go to the running programs, decided from the verdicts.

A saved file is sent to the live agents once its own verdict and the verdicts
of every module that depends on it are ok, each from a check of the file's
current content (the agent re-checks that digest before applying).  A save
whose check failed or was superseded stays pending: the next save that passes
brings it along, so a change is never lost and never applied half-verified.
``hotmod run`` and the language server decide the same way through this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .engine import Engine
from .live_links import ApplyOutcome, LiveLinks
from .results import Code, ModuleResult


@dataclass(frozen=True)
class LiveDecision:
    """What became of the saves pending after a check."""

    files: tuple[Path, ...]  # sent to the programs
    outcomes: tuple[ApplyOutcome, ...]  # one per program
    blocked_by: tuple[ModuleResult, ...] = ()  # failing verdicts that kept the saves back
    waiting: tuple[Path, ...] = ()  # saves still pending (not checked, or failing)

    @property
    def applied(self) -> bool:
        return bool(self.outcomes) and all(o.ok for o in self.outcomes)


class LiveApplier:
    """Keeps saves pending until their verdicts allow them, then applies them."""

    def __init__(
        self, engine: Engine, links: LiveLinks, *, rerun: Callable[[], bool] = lambda: False
    ) -> None:
        self.engine = engine
        self.links = links
        self._rerun = rerun
        self._pending: set[Path] = set()
        self._lock = threading.Lock()

    def saved(self, paths: Iterable[Path | str]) -> None:
        """Files saved (or changed on disk) whose checks are under way."""
        with self._lock:
            self._pending.update(Path(p).absolute() for p in paths)

    @property
    def pending(self) -> tuple[Path, ...]:
        with self._lock:
            return tuple(sorted(self._pending))

    def checked(self, *, rerun: bool | None = None) -> LiveDecision | None:
        """After a check: apply the pending saves whose verdicts are all ok.

        None when nothing is pending.  Saves are applied together or not at all:
        one failing verdict among them and their dependents keeps all of them.
        """
        with self._lock:
            pending = sorted(self._pending)
        if not pending:
            return None
        files: list[tuple[Path, str]] = []
        gone: list[Path] = []
        blocked: list[ModuleResult] = []
        waiting: list[Path] = []
        names = []
        for path in pending:
            info = self.engine.module_for_path(path)
            if info is None or not path.is_file():
                gone.append(path)  # deleted, or not a module: nothing to apply
                continue
            result = self.engine.result(info.name)
            if result is None or result.cached or not result.digest:
                waiting.append(path)
                continue
            if not result.ok:
                blocked.append(result)
                continue
            files.append((path, result.digest))
            names.append(info.name)
        for name in sorted(self.engine.dependents(names) - set(names)):
            result = self.engine.result(name)
            if result is not None and not result.ok and not result.cached:
                blocked.append(result)
        with self._lock:
            self._pending.difference_update(gone)
        if blocked or waiting or not files:
            return LiveDecision((), (), tuple(blocked), tuple(waiting + [f for f, _ in files]))
        outcomes = self.links.apply(files, rerun=self._rerun() if rerun is None else rerun)
        with self._lock:
            self._pending.difference_update(f for f, _ in files)
        return LiveDecision(tuple(f for f, _ in files), tuple(outcomes))


def describe(decision: LiveDecision, root: Path) -> list[str]:
    """One line per program, as ``hotmod run`` prints them."""

    def shown(path: Path) -> str:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return str(path)

    if decision.blocked_by:
        # The module that fails by itself, not one failing because it imports it.
        failure = next(
            (
                r
                for r in decision.blocked_by
                if r.diagnostics and r.diagnostics[0].code != Code.DEPENDENCY_ERROR
            ),
            decision.blocked_by[0],
        )
        where = shown(failure.path)
        message = failure.diagnostics[0].message if failure.diagnostics else "check failed"
        line = failure.diagnostics[0].span.line + 1 if failure.diagnostics else 1
        return [f"not applied: {where}:{line}: {message}"]
    if not decision.outcomes:
        return []
    files = ", ".join(shown(f) for f in decision.files)
    lines = []
    many = len(decision.outcomes) > 1
    for outcome in decision.outcomes:
        where = f" in pid {outcome.pid}" if many else ""
        if outcome.ok:
            lines.append(f"applied {files}{where}: {outcome.summary} ({outcome.ms:.1f} ms)")
            lines += [
                f"  stale: {shown(s.path)}:{s.line} still holds {s.name}" for s in outcome.stale
            ]
            lines += [
                f"  running: {r} keeps its old code until its next call" for r in outcome.running
            ]
        else:
            reason = outcome.error or (
                f"{shown(outcome.refused[0].path)}:{outcome.refused[0].line}: needs restart: "
                f"{outcome.refused[0].reason}"
                if outcome.refused
                else "not applied"
            )
            lines.append(f"not applied{where}: {reason}")
    return lines
