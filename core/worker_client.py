"""Start and talk to the worker (``hotmod.core.worker``) in the project's interpreter.

Every wait on the worker has a deadline here, on the engine's side: the worker
runs user code's children and can itself be stopped (a module that sends
SIGSTOP to its parent) or wedged.  A monitor thread pings a worker that has
been silent while checks are pending; one that is stopped is resumed
(SIGCONT), one that does not answer is killed with everything it started, and
its pending checks fail with ``WorkerDied`` (the engine retries them, one at a
time).  What the worker sends is validated against the protocol's
declarations before anyone reads it (``untrusted.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from .untrusted import validated
from .worker import launch
from .worker.protocol import (
    CancelRequest,
    ChangedRequest,
    CheckRequest,
    CheckResult,
    FilesRequest,
    InitRequest,
    PingRequest,
    PongEvent,
    ReadyEvent,
    ResultEvent,
    SideEffectMode,
    WarmedEvent,
    WarmInfo,
    WarmRequest,
)
from .worker.wire import encode

log = logging.getLogger(__name__)

# The monitor looks this often; a worker silent this long while checks are
# pending is pinged; one stopped is resumed after a ping waited this long...
MONITOR_INTERVAL_S = 0.25
PING_AFTER_S = 1.0
RESUME_AFTER_S = 1.0
# ...and one that still does not answer after this long is killed (the zygote
# answers between any two steps of its loop; nothing it does takes seconds
# but warm-up, which has its own deadline).
WEDGED_AFTER_S = 10.0


class WorkerError(Exception):
    """The worker cannot run (missing or broken interpreter); worded for the user."""


class WorkerDied(Exception):
    """The worker process went away while a check was pending."""


class Worker:
    """One warm zygote process; thread-safe."""

    def __init__(
        self,
        python: str,
        cwd: Path,
        paths: Sequence[Path],
        files: Iterable[str],
        warm: Iterable[str] | None = (),
        env: Mapping[str, str] | None = None,
        ready_timeout_s: float = 120.0,
        max_children: int | None = None,
    ) -> None:
        self.python = python
        self.cwd = cwd
        self.paths = [str(p) for p in paths]
        self._files = sorted(str(f) for f in files)
        # None: not known yet (the engine is still reading the project): the
        # worker starts, compiles, and waits for it (set_warm).
        self._warm: list[str] | None = None if warm is None else sorted(set(warm))
        self.env = dict(env or {})
        self.ready_timeout_s = ready_timeout_s
        self.max_children = max_children
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[CheckResult]] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._req_fd: int | None = None
        self._ready = threading.Event()
        self._info: ReadyEvent | None = None
        self._restarts: list[float] = []
        self._closed = False
        self._output_tail: list[str] = []
        self._last_heard = 0.0
        self._ping: tuple[int, float] | None = None  # seq, when sent
        self._warming_since: float | None = None
        self.resumed = 0  # times the monitor resumed a stopped worker (for tests and logs)
        # Launched and not known ready yet: (interpreter, process, output pump).
        self._launched: tuple[str, subprocess.Popen[bytes], threading.Thread] | None = None

    # -- lifecycle ------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    @property
    def python_version(self) -> str:
        return self._info["python"] if self._info else ""

    @property
    def sys_path(self) -> list[str]:
        """Where the interpreter finds modules (the verdict cache keys on these folders)."""
        return list(self._info["sys_path"]) if self._info else []

    @property
    def warm_report(self) -> dict[str, WarmInfo]:
        """Third-party modules pre-imported: what each cost cold, and whether it worked."""
        return dict(self._info["warm"]) if self._info else {}

    def start(self) -> None:
        """Start the worker (unless started) and wait until it is ready."""
        with self._lock:
            if not self._running_locked():
                self._launch_locked()
            self._wait_ready_locked()

    def launch(self) -> None:
        """Start the worker without waiting: it compiles the project meanwhile, and
        waits for ``set_warm`` (when the warm list was not known) before it is ready."""
        with self._lock:
            if not self._running_locked():
                self._launch_locked()

    def _running_locked(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def set_warm(self, warm: Iterable[str]) -> None:
        """The warm list of a worker created without one; ``add_warm`` after that."""
        with self._lock:
            if self._warm is None:
                self._warm = sorted(set(warm))
                if self._req_fd is not None:
                    self._send_locked(WarmRequest(op="warm", modules=self._warm))
                return
        self.add_warm(warm)

    def _launch_locked(self) -> None:
        exe = shutil.which(self.python) if os.sep not in self.python else self.python
        if not exe or not os.path.isfile(exe):
            raise WorkerError(
                f"Python interpreter not found: {self.python} "
                "(set `python` in [tool.hotmod] or pass --python)"
            )
        self._backoff()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        env = {**os.environ, **self.env}
        try:
            proc = subprocess.Popen(
                launch.command(exe, str(req_r), str(resp_w)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(req_r, resp_w),
                cwd=self.cwd,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            for fd in (req_r, req_w, resp_r, resp_w):
                os.close(fd)
            raise WorkerError(f"cannot run Python interpreter {exe}: {exc.strerror}") from None
        os.close(req_r)
        os.close(resp_w)
        self._proc = proc
        self._req_fd = req_w
        self._ready.clear()
        self._info = None
        self._output_tail = []
        self._ping = None
        self._warming_since = None
        pump = threading.Thread(target=self._pump_output, args=(proc,), daemon=True)
        pump.start()
        self._launched = (exe, proc, pump)
        threading.Thread(target=self._read_events, args=(proc, resp_r), daemon=True).start()
        threading.Thread(target=self._monitor, args=(proc,), daemon=True).start()
        init: InitRequest = {
            "op": "init",
            "paths": self.paths,
            "files": self._files,
            "max_children": self.max_children,
            "root": str(self.cwd),
        }
        with contextlib.suppress(OSError):
            # An interpreter that exits at once closes the pipe first: that
            # is the "did not start" below, with its output, not a crash.
            self._send_locked(init)
            if self._warm is not None:
                self._send_locked(WarmRequest(op="warm", modules=self._warm))

    def _wait_ready_locked(self) -> None:
        if self._launched is None:
            return
        exe, proc, pump = self._launched
        if not self._ready.wait(self.ready_timeout_s) or self._info is None:
            if proc.poll() is not None:
                # It exited: its last words may still be in the pipe.
                pump.join(timeout=2.0)
            tail = "".join(self._output_tail).strip()[-2000:]
            self._kill_locked()
            self._launched = None
            if self._warm and not self._ready.is_set():
                log.warning("worker warm-up timed out; starting without pre-imports")
                self._warm = []
                self._start_locked()
                return
            detail = f":\n{tail}" if tail else ""
            raise WorkerError(f"the worker did not start with {exe}{detail}")
        self._launched = None
        self._last_heard = time.monotonic()

    def _start_locked(self) -> None:
        self._launch_locked()
        self._wait_ready_locked()

    def _backoff(self) -> None:
        """A worker that keeps dying is restarted ever more slowly, not in a hot loop."""
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < 60.0]
        if len(self._restarts) >= 3:
            time.sleep(min(5.0, 0.25 * 2 ** (len(self._restarts) - 3)))
        self._restarts.append(now)

    def _pump_output(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            self._output_tail = ([*self._output_tail, line])[-50:]
            log.debug("worker: %s", line.rstrip())

    def _read_events(self, proc: subprocess.Popen[bytes], fd: int) -> None:
        import json  # the events are JSON lines; the engine's own json is not patched

        with os.fdopen(fd, "rb") as stream:
            for line in stream:
                self._last_heard = time.monotonic()
                try:
                    event = json.loads(line)
                except ValueError:
                    log.warning("worker sent garbage: %r", line[:200])
                    continue
                self._dispatch(event)
        proc.wait()
        self._ready.set()
        with self._lock:
            if self._proc is proc:
                self._proc = None
                self._close_req_locked()
            pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(WorkerDied(f"worker exited with status {proc.returncode}"))

    def _dispatch(self, event: Any) -> None:
        kind = event.get("event") if isinstance(event, dict) else None
        if kind == "result":
            self._deliver(event)
        elif kind == "pong":
            pong = validated(PongEvent, event)
            if pong is not None and self._ping is not None and pong["seq"] == self._ping[0]:
                self._ping = None
        elif kind == "ready":
            self._info = validated(ReadyEvent, event)
            self._ready.set()
        elif kind == "warmed":
            warmed = validated(WarmedEvent, event)
            self._warming_since = None
            if warmed is not None and self._info is not None:
                self._info["warm"] = warmed["warm"]

    def _deliver(self, event: dict[str, Any]) -> None:
        request_id = event.get("id")
        with self._lock:
            future = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if future is None or future.done():
            return
        checked = validated(ResultEvent, event)
        if checked is not None:
            future.set_result(checked["result"])
            return
        # hotmod's worker checked this result already: only the module under
        # check can have made it unreadable.
        log.warning("worker sent an invalid result: %.300r", event)
        raw = event.get("result")
        module = raw.get("module") if isinstance(raw, dict) else None
        future.set_result(
            {
                "module": module if isinstance(module, str) else "",
                "outcome": "crash",
                "harness": "hotmod could not read the result of this check",
            }
        )

    # -- liveness ----------------------------------------------------------------
    def _monitor(self, proc: subprocess.Popen[bytes]) -> None:
        seq = itertools.count(1)
        while not self._closed and proc.poll() is None:
            time.sleep(MONITOR_INTERVAL_S)
            now = time.monotonic()
            with self._lock:
                if self._proc is not proc:
                    return
                idle = not self._pending
            if idle or self._warming(now) or now - self._last_heard < PING_AFTER_S:
                self._ping = None
                continue
            if self._ping is None:
                number = next(seq)
                with self._lock, contextlib.suppress(OSError):
                    self._send_locked(PingRequest(op="ping", seq=number))
                self._ping = (number, now)
                continue
            waited = now - self._ping[1]
            if waited >= RESUME_AFTER_S and _stopped(proc.pid):
                # A module sent SIGSTOP (or SIGTSTP...) to its parent: a fresh
                # process's parent is not hotmod, so undo it and carry on.
                log.warning("the worker (pid %d) was stopped: resuming it", proc.pid)
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGCONT)
                self.resumed += 1
                self._ping = None
            elif waited >= WEDGED_AFTER_S:
                log.warning(
                    "the worker (pid %d) has not answered for %.0f s: restarting it",
                    proc.pid,
                    waited,
                )
                kill_tree(proc.pid)
                return

    def _warming(self, now: float) -> bool:
        started = self._warming_since
        return started is not None and now - started < self.ready_timeout_s

    def kill(self, why: str) -> None:
        """Kill a worker that is not answering; its pending checks fail with WorkerDied."""
        with self._lock:
            proc = self._proc
        if proc is not None:
            log.warning("killing the worker (pid %d): %s", proc.pid, why)
            kill_tree(proc.pid)

    # -- requests ---------------------------------------------------------
    def check(
        self,
        module: str,
        timeout_s: float,
        memory_limit_mb: int,
        output_limit: int,
        trace_memory: bool = False,
        side_effects: SideEffectMode = "warn",
        profile: bool = False,
        exclusive: bool = False,
    ) -> Future[CheckResult]:
        future: Future[CheckResult] = Future()
        with self._lock:
            if self._closed:
                raise WorkerError("the worker has been shut down")
            if self._proc is None or self._proc.poll() is not None:
                self._start_locked()
            request_id = next(self._ids)
            self._pending[request_id] = future
            request: CheckRequest = {
                "op": "check",
                "id": request_id,
                "module": module,
                "timeout_s": timeout_s,
                "memory_limit_mb": memory_limit_mb,
                "output_limit": output_limit,
                "trace_memory": trace_memory,
                "side_effects": side_effects,
                "profile": profile,
                "exclusive": exclusive,
            }
            try:
                self._send_locked(request)
            except OSError:
                self._pending.pop(request_id, None)
                future.set_exception(WorkerDied("worker pipe closed"))
        return future

    def cancel(self, futures: Iterable[Future[CheckResult]]) -> None:
        """Drop queued checks that have not started (e.g. superseded by a newer save)."""
        wanted = set(map(id, futures))
        with self._lock:
            ids = [i for i, f in self._pending.items() if id(f) in wanted]
            for i in ids:
                self._pending.pop(i).cancel()
            if ids and self._req_fd is not None:
                self._send_locked(CancelRequest(op="cancel", ids=ids))

    def changed(self, files: Iterable[str]) -> None:
        """These files changed: nothing the worker imported from them may be reused."""
        changed = sorted(str(f) for f in files)
        with self._lock:
            if changed and self._req_fd is not None:
                self._send_locked(ChangedRequest(op="changed", files=changed))

    def update(self, files: Iterable[str], warm: Iterable[str]) -> None:
        """New project file list and pre-imports, e.g. after a rescan."""
        files_list = sorted(str(f) for f in files)
        with self._lock:
            if files_list != self._files:
                self._files = files_list
                if self._req_fd is not None:
                    self._send_locked(FilesRequest(op="files", files=files_list))
        self.set_warm(warm)

    def add_warm(self, warm: Iterable[str]) -> None:
        """Pre-import these too (the worker never forgets a warm module)."""
        with self._lock:
            if self._warm is None:  # set_warm has not come yet: the list will be whole
                return
            new_warm = sorted(set(warm) - set(self._warm))
            if new_warm:
                self._warm = sorted(set(self._warm) | set(new_warm))
                if self._req_fd is not None:
                    self._warming_since = time.monotonic()
                    self._send_locked(WarmRequest(op="warm", modules=new_warm))

    def _send_locked(self, message: object) -> None:
        if self._req_fd is None:
            raise OSError("worker not running")
        view = memoryview((encode(message) + "\n").encode())
        while view:
            view = view[os.write(self._req_fd, view) :]

    def _close_req_locked(self) -> None:
        if self._req_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._req_fd)
            self._req_fd = None

    def _kill_locked(self) -> None:
        proc = self._proc
        self._close_req_locked()
        self._proc = None
        if proc is None:
            return
        kill_tree(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def close(self) -> None:
        """Stop the worker and everything it started (no orphans)."""
        with self._lock:
            self._closed = True
            proc = self._proc
            if proc is None:
                return
            with contextlib.suppress(OSError):
                self._send_locked({"op": "shutdown"})
            self._close_req_locked()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2)
        with self._lock:
            self._proc = proc
            self._kill_locked()


def _stopped(pid: int) -> bool:
    import psutil  # here: ~40 ms to import, and the server answers initialize first

    try:
        return psutil.Process(pid).status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
    except psutil.Error:
        return False


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every descendant (checks may fork grandchildren)."""
    import psutil

    try:
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(victims, timeout=3)
