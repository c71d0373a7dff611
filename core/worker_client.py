"""Start and talk to the worker (``worker_process.py``) in the project's interpreter."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WORKER_PATH = Path(__file__).with_name("worker_process.py")
RawResult = dict[str, Any]


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
        warm: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        ready_timeout_s: float = 120.0,
        max_children: int | None = None,
    ) -> None:
        self.python = python
        self.cwd = cwd
        self.paths = [str(p) for p in paths]
        self._files = sorted(str(f) for f in files)
        self._warm = sorted(set(warm))
        self.env = dict(env or {})
        self.ready_timeout_s = ready_timeout_s
        self.max_children = max_children
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, Future[RawResult]] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._req_fd: int | None = None
        self._ready = threading.Event()
        self._info: dict[str, Any] = {}
        self._restarts: list[float] = []
        self._closed = False
        self._output_tail: list[str] = []

    # -- lifecycle ------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    @property
    def info(self) -> dict[str, Any]:
        """The worker's ready message: python version, executable, warm imports."""
        return dict(self._info)

    def start(self) -> None:
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
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
                [exe, str(WORKER_PATH), str(req_r), str(resp_w)],
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
        self._info = {}
        self._output_tail = []
        pump = threading.Thread(target=self._pump_output, args=(proc,), daemon=True)
        pump.start()
        threading.Thread(target=self._read_events, args=(proc, resp_r), daemon=True).start()
        init = {
            "op": "init",
            "paths": self.paths,
            "files": self._files,
            "warm": self._warm,
            "max_children": self.max_children,
        }
        with contextlib.suppress(OSError):
            # An interpreter that exits at once closes the pipe first: that
            # is the "did not start" below, with its output, not a crash.
            self._send_locked(init)
        if not self._ready.wait(self.ready_timeout_s) or not self._info:
            if proc.poll() is not None:
                # It exited: its last words may still be in the pipe.
                pump.join(timeout=2.0)
            tail = "".join(self._output_tail).strip()[-2000:]
            self._kill_locked()
            if self._warm and not self._ready.is_set():
                log.warning("worker warm-up timed out; starting without pre-imports")
                self._warm = []
                self._start_locked()
                return
            detail = f":\n{tail}" if tail else ""
            raise WorkerError(f"the worker did not start with {exe}{detail}")

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
        with os.fdopen(fd, "rb") as stream:
            for line in stream:
                try:
                    event = json.loads(line)
                except ValueError:
                    log.warning("worker sent garbage: %r", line[:200])
                    continue
                kind = event.get("event")
                if kind == "ready":
                    self._info = event
                    self._ready.set()
                elif kind == "result":
                    with self._lock:
                        future = self._pending.pop(event.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(event["result"])
                elif kind == "warmed":
                    self._info["warm"] = event.get("warm", {})
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

    # -- requests ---------------------------------------------------------
    def check(
        self,
        module: str,
        timeout_s: float,
        memory_limit_mb: int,
        output_limit: int,
        trace_memory: bool = False,
        side_effects: str = "warn",
        profile: bool = False,
    ) -> Future[RawResult]:
        future: Future[RawResult] = Future()
        with self._lock:
            if self._closed:
                raise WorkerError("the worker has been shut down")
            if self._proc is None or self._proc.poll() is not None:
                self._start_locked()
            request_id = next(self._ids)
            self._pending[request_id] = future
            request = {
                "op": "check",
                "id": request_id,
                "module": module,
                "timeout_s": timeout_s,
                "memory_limit_mb": memory_limit_mb,
                "output_limit": output_limit,
                "trace_memory": trace_memory,
                "side_effects": side_effects,
            }
            if profile:  # lines, imports and calls: see _ImportProfiler in the worker
                request["profile"] = True
            try:
                self._send_locked(request)
            except OSError:
                self._pending.pop(request_id, None)
                future.set_exception(WorkerDied("worker pipe closed"))
        return future

    def cancel(self, futures: Iterable[Future[RawResult]]) -> None:
        """Drop queued checks that have not started (e.g. superseded by a newer save)."""
        wanted = set(map(id, futures))
        with self._lock:
            ids = [i for i, f in self._pending.items() if id(f) in wanted]
            for i in ids:
                self._pending.pop(i).cancel()
            if ids and self._req_fd is not None:
                self._send_locked({"op": "cancel", "ids": ids})

    def update(self, files: Iterable[str], warm: Iterable[str]) -> None:
        """New project file list and pre-imports, e.g. after a rescan."""
        files_list = sorted(str(f) for f in files)
        with self._lock:
            if files_list != self._files:
                self._files = files_list
                if self._req_fd is not None:
                    self._send_locked({"op": "files", "files": files_list})
        self.add_warm(warm)

    def add_warm(self, warm: Iterable[str]) -> None:
        """Pre-import these too (the worker never forgets a warm module)."""
        with self._lock:
            new_warm = sorted(set(warm) - set(self._warm))
            if new_warm:
                self._warm = sorted(set(self._warm) | set(new_warm))
                if self._req_fd is not None:
                    self._send_locked({"op": "warm", "modules": new_warm})

    def _send_locked(self, message: Mapping[str, Any]) -> None:
        if self._req_fd is None:
            raise OSError("worker not running")
        data = (json.dumps(message) + "\n").encode()
        view = memoryview(data)
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


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every descendant (checks may fork grandchildren)."""
    import psutil  # here: ~40 ms to import, and the server answers initialize first

    try:
        root = psutil.Process(pid)
        victims = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(victims, timeout=3)
