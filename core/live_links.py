"""Connections to the live agents of a workspace (``hotmod run`` and the server use them).

A ``LiveLinks`` finds the agents in the rendezvous folder (hotmod.live's
``rendezvous.py``) that it may control, connects to each with its token, keeps
what they say of themselves (``LiveProcess``), sends them verified changes
(``apply``) and hears what other controllers applied.  What an agent sends is
checked against hotmod.live's protocol declarations first: it is a user's
program.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from hotmod.live import rendezvous
from hotmod.live.protocol import AgentInfo, Applied

from .untrusted import validated

log = logging.getLogger(__name__)

Controller = Literal["run", "server"]
POLL_S = 1.0  # how often the rendezvous folder is looked at, and agents asked what they hold
CONNECT_TIMEOUT_S = 2.0
APPLY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LiveProcess:
    """A program that takes verified changes."""

    pid: int
    argv: tuple[str, ...]
    python: str
    workspace: Path
    modules: frozenset[str]  # project modules it has loaded
    applied: int  # changes applied so far
    supervisor: str | None  # the socket of the ``hotmod run`` that started it, if any
    started: float

    @property
    def command(self) -> str:
        return " ".join(self.argv) or f"pid {self.pid}"


@dataclass(frozen=True)
class Refusal:
    path: Path
    line: int  # 1-based
    reason: str


@dataclass(frozen=True)
class StaleReference:
    path: Path  # the holder's file
    line: int  # 1-based
    holder: str
    name: str
    why: str


@dataclass(frozen=True)
class ApplyOutcome:
    """What one process did with one change."""

    pid: int
    ok: bool
    files: tuple[Path, ...]
    summary: str
    changed: int  # things updated in place
    refused: tuple[Refusal, ...] = ()
    stale: tuple[StaleReference, ...] = ()
    running: tuple[str, ...] = ()
    error: str = ""
    ms: float = 0.0
    by_other: bool = False  # applied at another controller's request
    modules: tuple[str, ...] = ()  # the modules it changed

    @classmethod
    def of(cls, raw: Applied, by_other: bool = False) -> ApplyOutcome:
        return cls(
            pid=raw["pid"],
            ok=raw["ok"],
            files=tuple(Path(f) for f in raw["files"]),
            summary=raw["summary"],
            changed=len(raw["changes"]),
            refused=tuple(Refusal(Path(r["path"]), r["line"], r["reason"]) for r in raw["refused"]),
            stale=tuple(
                StaleReference(Path(s["path"]), s["line"], s["holder"], s["name"], s["why"])
                for s in raw["stale"]
            ),
            running=tuple(raw["running"]),
            error=raw["error"],
            ms=raw["ms"],
            by_other=by_other,
            modules=tuple(sorted({c["module"] for c in raw["changes"]})),
        )

    @classmethod
    def failed(cls, pid: int, error: str) -> ApplyOutcome:
        return cls(pid=pid, ok=False, files=(), summary="", changed=0, error=error)


def _process(info: AgentInfo) -> LiveProcess:
    return LiveProcess(
        pid=info["pid"],
        argv=tuple(info["argv"]),
        python=info["python"],
        workspace=Path(info["workspace"]),
        modules=frozenset(info["modules"]),
        applied=info["applied"],
        supervisor=info["supervisor"],
        started=info["started"],
    )


@dataclass
class _Link:
    name: str
    sock: socket.socket
    process: LiveProcess
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    pending: dict[int, Future[dict[str, Any]]] = field(default_factory=dict)
    closed: bool = False

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        with self.send_lock:
            self.sock.sendall(data)


class LiveLinks:
    """The agents this controller may send changes to, kept connected."""

    def __init__(
        self,
        controller: Controller,
        accept: Callable[[LiveProcess, str], bool],
        *,
        on_change: Callable[[], None] | None = None,
        on_applied: Callable[[ApplyOutcome], None] | None = None,
        announce: Sequence[Path] = (),
    ) -> None:
        """``accept(process, entry_name)``: whether to control it.  ``announce``: the
        workspaces this controller checks and applies for (``hotmod run`` leaves them
        to it)."""
        self.controller = controller
        self._accept = accept
        self._on_change = on_change
        self._on_applied = on_applied
        self._links: dict[str, _Link] = {}
        self._refused: set[str] = set()  # entries not to try again
        self._lock = threading.Lock()
        self._discovering = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = threading.Event()
        self._announced = ""
        if announce:
            self._announced = rendezvous.new_name(controller)
            entry = {
                "kind": controller,
                "pid": os.getpid(),
                "workspaces": [str(p) for p in announce],
            }
            rendezvous.publish(self._announced, entry)
        self._poller = threading.Thread(target=self._poll, name="hotmod-live-links", daemon=True)
        self._poller.start()

    # -- what there is ---------------------------------------------------------------
    def processes(self) -> list[LiveProcess]:
        with self._lock:
            return sorted((link.process for link in self._links.values()), key=lambda p: p.pid)

    def refresh(self) -> list[LiveProcess]:
        """Connect to the agents that appeared, forget those that went away, and ask
        each what it has loaded now."""
        changed = self._discover()
        for link in self._links_now():
            changed |= self._ask_info(link)
        if changed and self._on_change is not None:
            self._on_change()
        return self.processes()

    def _discover(self) -> bool:
        with self._discovering:
            changed = False
            entries = {e["name"]: e for e in rendezvous.entries("agent")}
            with self._lock:
                known = set(self._links)
            for name in known - set(entries):
                changed |= self._forget(name)
            for name, entry in entries.items():
                if name in known or name in self._refused:
                    continue
                link = self._connect(name, entry)
                if link is None:
                    continue
                with self._lock:
                    self._links[name] = link
                threading.Thread(target=self._listen, args=(link,), daemon=True).start()
                changed = True
            return changed

    def _links_now(self) -> list[_Link]:
        with self._lock:
            return list(self._links.values())

    def _connect(self, name: str, entry: dict[str, Any]) -> _Link | None:
        path, token = entry.get("socket"), entry.get("token")
        published = validated(AgentInfo, entry)  # what the agent wrote when it started
        if not isinstance(path, str) or not isinstance(token, str) or published is None:
            self._refused.add(name)
            return None
        if not self._accept(_process(published), name):
            self._refused.add(name)  # another workspace's program: not even connected to
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(path)
            sock.sendall(
                json.dumps({"op": "hello", "token": token, "controller": self.controller}).encode()
                + b"\n"
            )
            reader = sock.makefile("rb")
            line = reader.readline(1 << 22)
            reader.close()
        except OSError as exc:
            log.debug("cannot connect to %s: %s", name, exc)
            sock.close()
            if isinstance(exc, (ConnectionRefusedError, FileNotFoundError)):
                rendezvous.withdraw(name)  # its process died and the pid was reused
            return None
        welcome = _parsed(line)
        info = validated(AgentInfo, welcome.get("info")) if welcome else None
        if info is None:
            sock.close()
            self._refused.add(name)
            return None
        process = _process(info)
        if not self._accept(process, name):
            sock.close()
            self._refused.add(name)
            return None
        sock.settimeout(None)
        return _Link(name, sock, process)

    def _forget(self, name: str) -> bool:
        with self._lock:
            link = self._links.pop(name, None)
        if link is None:
            return False
        link.closed = True
        for future in link.pending.values():
            if not future.done():
                future.set_result({"event": "gone"})
        with contextlib.suppress(OSError):
            link.sock.close()
        return True

    def _ask_info(self, link: _Link) -> bool:
        """Refresh what ``link``'s program has loaded; whether that changed."""
        answer = self._request(link, {"op": "info"}, CONNECT_TIMEOUT_S)
        info = validated(AgentInfo, answer) if answer else None
        if info is None:
            return False
        process = _process(info)
        if process == link.process:
            return False
        link.process = process
        return True

    # -- talking -----------------------------------------------------------------------
    def _request(self, link: _Link, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        request = next(self._ids)
        future: Future[dict[str, Any]] = Future()
        link.pending[request] = future
        try:
            link.send({**message, "id": request})
            return future.result(timeout)
        except (OSError, FutureTimeout):
            return {}
        finally:
            link.pending.pop(request, None)

    def _listen(self, link: _Link) -> None:
        reader = link.sock.makefile("rb")
        try:
            while not link.closed:
                line = reader.readline(1 << 24)
                if not line:
                    break
                message = _parsed(line)
                if message is None:
                    continue
                self._received(link, message)
        except (OSError, ValueError):
            pass
        finally:
            reader.close()
            if self._forget(link.name) and self._on_change is not None:
                self._on_change()

    def _received(self, link: _Link, message: dict[str, Any]) -> None:
        event = message.get("event")
        request = message.get("id")
        if isinstance(request, int) and request in link.pending:
            link.pending[request].set_result(message)
            return
        if event == "applied" and self._on_applied is not None:
            raw = validated(Applied, message)
            if raw is not None:
                outcome = ApplyOutcome.of(raw, by_other=True)
                self._count(link, outcome)
                self._on_applied(outcome)

    def _count(self, link: _Link, outcome: ApplyOutcome) -> None:
        if outcome.ok and outcome.changed:
            link.process = replace(link.process, applied=link.process.applied + 1)

    def apply(
        self, files: Iterable[tuple[Path, str]], *, rerun: bool | None = None
    ) -> list[ApplyOutcome]:
        """Send verified files (path, digest) to every program; what each did."""
        if self._discover() and self._on_change is not None:
            self._on_change()
        message: dict[str, Any] = {
            "op": "apply",
            "files": [{"path": str(path), "digest": digest} for path, digest in files],
        }
        if rerun is not None:
            message["rerun"] = rerun
        links = self._links_now()
        outcomes: list[ApplyOutcome] = []
        results: list[tuple[_Link, Future[dict[str, Any]]]] = []
        for link in links:
            request = next(self._ids)
            future: Future[dict[str, Any]] = Future()
            link.pending[request] = future
            try:
                link.send({**message, "id": request})
            except OSError:
                link.pending.pop(request, None)
                continue
            results.append((link, future))
        for link, future in results:
            try:
                answer = future.result(APPLY_TIMEOUT_S)
            except FutureTimeout:
                answer = {}
            raw = validated(Applied, answer)
            if raw is None:
                error = (
                    "exited before answering"
                    if answer.get("event") == "gone"
                    else f"no answer in {APPLY_TIMEOUT_S:g} s (is it stopped in a debugger?)"
                )
                outcomes.append(ApplyOutcome.failed(link.process.pid, error))
                continue
            outcome = ApplyOutcome.of(raw)
            self._count(link, outcome)
            outcomes.append(outcome)
        if outcomes and self._on_change is not None:
            self._on_change()
        return outcomes

    # -- background --------------------------------------------------------------------
    def _poll(self) -> None:
        while not self._closed.wait(POLL_S):
            try:
                self.refresh()
            except Exception:  # the folder or an agent misbehaving: try again later
                log.debug("live links: refresh failed", exc_info=True)

    def close(self) -> None:
        self._closed.set()
        for name in list(self._links):
            link = self._links.get(name)
            if link is not None:
                with contextlib.suppress(OSError):
                    link.send({"op": "bye"})
            self._forget(name)
        if self._announced:
            rendezvous.withdraw(self._announced)

    def __enter__(self) -> LiveLinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parsed(line: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def servers_for(workspace: Path) -> list[dict[str, Any]]:
    """Language servers that check and apply for ``workspace`` (``hotmod run`` defers)."""
    found = []
    for entry in rendezvous.entries("server"):
        spaces = entry.get("workspaces")
        if isinstance(spaces, list) and any(
            isinstance(s, str) and rendezvous.related(s, str(workspace)) for s in spaces
        ):
            found.append(entry)
    return found
