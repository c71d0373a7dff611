"""The zygote: warm third-party imports, a select loop, one child per check.

A single-threaded process keeps the project's third-party modules imported
("warm") and forks one child per check.  The child imports the project module
from source into a process that has never seen any project module, so its
verdict is that of a fresh ``python -c "import m"``, only faster, because
``import pandas`` already happened here.  Where ``fork`` is not available each
check runs in a fresh subprocess instead (the same check code, cold imports).

Once idle for a moment the zygote forks *spares*: children that have done
their request-independent set-up and wait on a pipe of their own, so that a
save's checks start importing the moment they are asked for.

The zygote runs no project code itself, but trusts nothing a child sends: a
child's report is parsed as data, a child that dies or hangs is a verdict, and
the signals a module may send its parent (SIGTERM, SIGINT, SIGHUP, SIGTSTP...)
are ignored here; the engine resumes a zygote that was sent SIGSTOP.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import signal
import sys
from os import _exit, close, cpu_count, devnull, dup2, environ, getpid, pipe, read
from os.path import abspath, join, realpath
from select import select
from tempfile import gettempdir
from time import monotonic, perf_counter
from types import ModuleType
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple, cast

from . import FRESH_MODULES, launch
from .audit import split_journal
from .child import Prepared, Project, run_check
from .codecache import CodeCache
from .procs import (
    Anchors,
    become_subreaper,
    child_pids,
    close_quietly,
    kill_group,
    kill_pid,
    pgid_of,
)
from .protocol import (
    PROTOCOL_VERSION,
    CheckRequest,
    CheckResult,
    ExitInfo,
    InitRequest,
    ReadyEvent,
    WarmInfo,
)
from .safe import private_builtins
from .slot import PipeSlot, SharedSlot, best_of_lines
from .wire import LineReader, decode, encode, send, write_all

private_builtins(globals())

try:
    from os import (
        WEXITSTATUS,
        WIFEXITED,
        WIFSIGNALED,
        WNOHANG,
        WTERMSIG,
        fork,
        set_blocking,
        setpgid,
        waitpid,
    )
except ImportError:  # pragma: no cover - Windows: a oneshot subprocess per check
    fork = None  # type: ignore[assignment]
try:
    from os import P_ALL, WEXITED, WNOWAIT, waitid
except ImportError:  # macOS, Windows: reap first, then kill what is left of the group
    waitid = None  # type: ignore[assignment]

# The spares are forked once the zygote has been idle this long: forking right
# after a check competes for the CPU with the server delivering its verdict
# (measured on 2 cores: 2 ms slower per save).
PREFORK_DELAY_S = 0.02
# A child that faulthandler could not end at its deadline is killed this much later.
KILL_GRACE_S = 2.0
# Modules whose import has visible side effects; never pre-import them.
NEVER_WARM = frozenset({"this", "antigravity", "__main__", "idlelib", "turtledemo"})
CALIBRATION_MODULE = "calibration_empty"
# A child's pipe that reached EOF this long before the child ended was closed by
# the module; an exiting process closes them all at once.
CLOSED_EARLY_S = 0.05
REPORT_LIMIT = 32 * 1024 * 1024  # bytes of a child's report read at most (oneshot)
DUMP_LIMIT = 65536  # bytes of faulthandler dump and side-effect journal kept
# What a module may send its parent that would end or stop a process: the
# zygote ignores them (its children get back the dispositions they inherited).
_IGNORED_HERE = tuple(
    getattr(signal, name)
    for name in (
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGTERM",
        "SIGUSR1",
        "SIGUSR2",
        "SIGALRM",
        "SIGVTALRM",
        "SIGPROF",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGIO",
        "SIGPWR",
    )
    if hasattr(signal, name)
)


class Spare:
    """A child forked while idle, set up, waiting for its request."""

    def __init__(self, pid: int, request_w: int, pipes: Pipes, anchor: Optional[int]) -> None:
        self.pid = pid
        self.request_w = request_w
        self.pipes = pipes
        self.anchor = anchor

    def discard(self) -> None:
        close_quietly(self.request_w)  # EOF on its request pipe: the spare exits
        self.pipes.close()
        kill_group(self.anchor if self.anchor is not None else self.pid)
        kill_pid(self.pid)


class Pipes:
    """The zygote's ends of one child's pipes, and its result slot."""

    def __init__(self, wake: int, output: int, diag: int, slot: Any) -> None:
        self.wake: Optional[int] = wake  # EOF: the report is complete (or the module closed it)
        self.output: Optional[int] = output  # the module's stdout and stderr
        self.diag: Optional[int] = diag  # faulthandler's dumps and the side-effect journal
        self.slot = slot  # SharedSlot, or the bytes a oneshot wrote to its pipe
        for fd in (wake, output, diag):
            set_blocking(fd, False)

    def fds(self) -> List[int]:
        return [fd for fd in (self.wake, self.output, self.diag) if fd is not None]

    def close(self) -> None:
        for fd in (self.wake, self.output, self.diag):
            close_quietly(fd)
        self.wake = self.output = self.diag = None
        if isinstance(self.slot, SharedSlot):
            self.slot.close()


class Running:
    """A check in a child process."""

    def __init__(
        self, request: CheckRequest, pid: int, pipes: Pipes, anchor: Optional[int], handed: float
    ) -> None:
        self.request = request
        self.pid = pid
        self.pipes = pipes
        self.anchor = anchor
        self.handed = handed  # monotonic: when the child got (or was forked with) the request
        self.started = perf_counter()
        timeout = float(request.get("timeout_s") or 0)
        self.timeout_at = handed + timeout if timeout > 0 else None
        # faulthandler ends the child at timeout_at; this covers a child too
        # wedged even for that.
        self.deadline = handed + timeout + KILL_GRACE_S if timeout > 0 else float("inf")
        self.report = bytearray()  # a oneshot's report pipe
        self.output = bytearray()
        self.output_total = 0
        self.dump = bytearray()
        self.diag_closed_at: Optional[float] = None
        self.status: Optional[int] = None
        self.killed_for_timeout = False
        self.module_closed_diag = False
        self.sent = False


class Zygote:
    def __init__(self, in_fd: int, out_fd: int, use_fork: bool) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.use_fork = use_fork
        self.reader = LineReader(in_fd)
        self.queue: List[CheckRequest] = []
        self.children: Dict[int, Running] = {}
        self.spares: List[Spare] = []
        self.max_children = max(1, int(environ.get("HOTMOD_WORKER_JOBS") or 0) or cpu_count() or 1)
        self.warm_report: Dict[str, WarmInfo] = {}
        self.rss_baseline = 0
        self.idle_since: Optional[float] = None
        self.to_compile: Dict[str, None] = {}  # files checks had to compile (an ordered set)
        self.code = CodeCache()
        if use_fork:
            become_subreaper()
        self.baseline = frozenset(sys.modules)  # the worker's own imports: see warm()
        self.project = Project(frozenset(), [], None, _own_files(), (), self.code)
        self.running = True
        self.own_children: FrozenSet[int] = frozenset()
        self.dispositions: Dict[int, Any] = {}  # what a child gets back (see _own_signals)
        self.wake_r, self.wake_w = pipe()
        for fd in (self.wake_r, self.wake_w):
            set_blocking(fd, False)
        # Forked now, while this process is small: see procs.Anchors.
        self.anchors: Optional[Anchors] = (
            Anchors([in_fd, out_fd, self.wake_r, self.wake_w]) if use_fork else None
        )

    # -- set-up -------------------------------------------------------------------
    def init(self, msg: InitRequest) -> None:
        paths = [abspath(p) for p in msg.get("paths", [])]
        for p in reversed(paths):
            if p not in sys.path:
                sys.path.insert(0, p)
        files = frozenset(abspath(f) for f in msg.get("files", []))
        self.project = self.project._replace(files=files, paths=paths, tempdir=_tempdir())
        if msg.get("max_children"):
            self.max_children = max(1, int(msg["max_children"] or 1))
        self.warm(msg.get("warm", []))
        if self.use_fork:
            self.rss_baseline = self._calibrate()
            signal.signal(signal.SIGCHLD, lambda *_: None)
            signal.set_wakeup_fd(self.wake_w)
        ready: ReadyEvent = {
            "event": "ready",
            "protocol": PROTOCOL_VERSION,
            "pid": getpid(),
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "fork": self.use_fork,
            "warm": self.warm_report,
            "rss_baseline": self.rss_baseline,
        }
        send(self.out_fd, ready)

    def warm(self, modules: List[str]) -> None:
        if not self.use_fork:
            return
        tops = _top_level_names(self.project.files, self.project.paths)
        for name in modules:
            if name in NEVER_WARM or name in sys.modules or name.split(".")[0] in tops:
                continue
            start = perf_counter()
            try:
                importlib.import_module(name)
                ok = True
            except BaseException:  # a broken third-party package only costs its warmth
                ok = False
            self.warm_report[name] = {"ok": ok, "ms": (perf_counter() - start) * 1000.0}
        # Third-party packages must not drag project modules into the zygote:
        # every child has to import those fresh.
        for name, module in list(sys.modules.items()):
            origin = getattr(module, "__file__", None)
            if isinstance(origin, str) and abspath(origin) in self.project.files:
                del sys.modules[name]
        self._own_signals()
        self.project = self.project._replace(forget=worker_only_modules(self.baseline))
        # Children must not copy the zygote's pages: a cyclic GC pass in a
        # child would write to every inherited object's header.  Frozen
        # objects are invisible to the collector (the CPython pre-fork idiom).
        gc.collect()
        gc.freeze()
        # Helpers that warm imports started (e.g. a resource tracker) are ours.
        own = set(child_pids())
        if self.anchors is not None and self.anchors.pid is not None:
            own.add(self.anchors.pid)
        self.own_children = frozenset(own)

    def _own_signals(self) -> None:
        """Remember the signal dispositions a fresh process would have after the warm
        imports (for the children), then ignore here what could end or stop us."""
        for sig in _IGNORED_HERE:
            current = signal.getsignal(sig)
            if sig not in self.dispositions or current is not signal.SIG_IGN:
                self.dispositions[sig] = current
            try:
                signal.signal(sig, signal.SIG_IGN)
            except (OSError, ValueError):
                pass

    def _calibrate(self) -> int:
        """RSS growth of a check that imports an empty module (median of three).

        Any import in a child touches some fresh pages (about 0.6 MB with a
        warm pandas); subtracting that leaves what the module itself costs.
        The empty module is a file of this package, imported as a project
        module would be (directory listing, source read, compiled).
        """
        path = join(launch.PACKAGE_DIR, CALIBRATION_MODULE + ".py")
        project = self.project._replace(
            files=self.project.files | {path}, paths=[launch.PACKAGE_DIR], code=CodeCache()
        )
        request: CheckRequest = {
            "op": "check",
            "id": 0,
            "module": CALIBRATION_MODULE,
            "timeout_s": 10.0,
            "memory_limit_mb": 0,
            "output_limit": 0,
            "trace_memory": False,
            "side_effects": "off",
            "profile": False,
            "exclusive": False,
        }
        deltas = []
        for _ in range(3):
            slot = SharedSlot()
            pid = fork()
            if pid == 0:  # pragma: no cover - runs in the child
                try:
                    sys.path.insert(0, launch.PACKAGE_DIR)
                    with open(devnull, "w") as sink:
                        run_check(
                            request, project, Prepared(project, slot, sink.fileno()), None, {}
                        )
                finally:
                    _exit(0)
            waitpid(pid, 0)
            payload, _ = slot.read()
            slot.close()
            report = _parse(payload)
            memory = report.get("memory") if report else None
            if report and report.get("outcome") == "ok" and isinstance(memory, dict):
                deltas.append(int(memory.get("rss_delta") or 0))
        return sorted(deltas)[len(deltas) // 2] if deltas else 0

    # -- main loop -------------------------------------------------------------------
    def serve(self) -> None:
        while self.running or self.children:
            self._start_queued()
            # Only while idle: a fork holds locks that a running check's
            # copy-on-write page faults wait for (measured: ~5 ms each).
            if self.queue or self.children:
                self.idle_since = None
            elif self.idle_since is None:
                self.idle_since = monotonic()
            elif monotonic() - self.idle_since >= PREFORK_DELAY_S:
                if self.to_compile:  # first, so that the spares inherit the code
                    self._compile_some()
                else:
                    self._prefork()
            rlist = [self.in_fd, self.wake_r] if self.running else [self.wake_r]
            for child in self.children.values():
                rlist.extend(child.pipes.fds())
            try:
                ready = select(rlist, [], [], self._next_timeout())[0]
            except InterruptedError:
                ready = []
            for fd in ready:
                if fd == self.in_fd:
                    self._read_requests()
                elif fd == self.wake_r:
                    _drain(self.wake_r)
                else:
                    self._read_child_fd(fd)
            self._reap()
            self._enforce_deadlines()

    def _next_timeout(self) -> Optional[float]:
        if not self.children:
            idle_work = self.to_compile or len(self.spares) < self.max_children
            if self.use_fork and self.running and idle_work and self.idle_since:
                # Wake up to compile, then fork the spares (see _prefork).
                return max(0.0, self.idle_since + PREFORK_DELAY_S - monotonic())
            return None
        nearest = min(c.deadline for c in self.children.values())
        # Poll as a fallback in case a SIGCHLD wakeup is lost (e.g. no fork).
        return max(0.0, min(nearest - monotonic(), 0.05))

    def _read_requests(self) -> None:
        messages = self.reader.read_available()
        if messages is None:  # the engine went away
            self._stop()
            return
        for message in messages:
            if isinstance(message, dict):
                self._handle(message)

    def _handle(self, msg: Dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "check":
            self.queue.append(cast(CheckRequest, msg))
        elif op == "ping":
            send(self.out_fd, {"event": "pong", "seq": msg.get("seq")})
        elif op == "files":
            files = frozenset(abspath(f) for f in msg.get("files", []))
            self.project = self.project._replace(files=files)
            self.code.retain(files)
            self._discard_spares()
        elif op == "warm":
            self._discard_spares()
            self.warm(msg.get("modules", []))
            send(self.out_fd, {"event": "warmed", "warm": self.warm_report})
        elif op == "cancel":
            ids = set(msg.get("ids", []))
            self.queue = [r for r in self.queue if r.get("id") not in ids]
        elif op == "shutdown":
            self._stop()

    def _stop(self) -> None:
        self.running = False
        self.queue = []
        self._discard_spares()
        if self.anchors is not None:
            self.anchors.close()
            self.anchors = None

    def _start_queued(self) -> None:
        # A child whose verdict was sent is only being torn down (at low
        # priority): it no longer takes one of the max_children slots, but
        # a burst must not pile up more than a few of them (their memory).
        # An exclusive check (a retry after the worker died) runs alone.
        while (
            self.queue
            and sum(not c.sent for c in self.children.values()) < self.max_children
            and len(self.children) < 2 * self.max_children
            and not any(c.request.get("exclusive") for c in self.children.values())
            and not (self.queue[0].get("exclusive") and self.children)
        ):
            self._spawn(self.queue.pop(0))

    def _compile_some(self) -> None:
        """Compile files checks reported compiling (see codecache.py), ~10 ms at a
        time so that a check asked for meanwhile waits no longer than that."""
        deadline = monotonic() + 0.01
        while self.to_compile and monotonic() < deadline:
            path = next(iter(self.to_compile))
            del self.to_compile[path]
            if path in self.project.files:
                self.code.add(path)
        gc.freeze()  # like the warm imports: children must not copy these pages

    # -- children ---------------------------------------------------------------------
    def _prefork(self) -> None:
        """Fork a child for a coming check now, off the critical path.

        Forking a warm zygote costs milliseconds (copying the page tables of a
        process with pandas loaded); a spare forked while nothing runs has done
        its set-up by the time a check is asked for, and starts importing at
        once.  One spare per job: a save of a module and its first dependents
        starts them all from spares.
        """
        if not self.use_fork or len(self.spares) >= self.max_children or not self.running:
            return
        request_r, request_w = pipe()
        pid, pipes, anchor = self._fork_child(None, request_r)
        close(request_r)
        self.spares.append(Spare(pid, request_w, pipes, anchor))
        if self.anchors is not None:  # the next ones, while still idle
            self.anchors.fill(self.max_children - len(self.spares))

    def _discard_spares(self) -> None:
        """The spares were forked with an older state (files, warm imports): replace them."""
        spares, self.spares = self.spares, []
        for spare in spares:
            spare.discard()

    def _spawn(self, request: CheckRequest) -> None:
        while self.spares:
            spare = self.spares.pop(0)
            try:
                write_all(spare.request_w, (encode(request) + "\n").encode("utf-8"))
            except OSError:  # the spare died meanwhile
                spare.discard()
                continue
            close_quietly(spare.request_w)
            self.children[spare.pid] = Running(
                request, spare.pid, spare.pipes, spare.anchor, monotonic()
            )
            return
        handed = monotonic()
        if self.use_fork:
            pid, pipes, anchor = self._fork_child(request, None)
        else:
            pid, pipes, anchor = self._spawn_subprocess(request)
        self.children[pid] = Running(request, pid, pipes, anchor, handed)

    def _fork_child(
        self, request: Optional[CheckRequest], request_fd: Optional[int]
    ) -> Tuple[int, Pipes, Optional[int]]:
        anchor = self.anchors.take() if self.anchors is not None else None
        wake_r, wake_w = pipe()
        output_r, output_w = pipe()
        diag_r, diag_w = pipe()
        slot = SharedSlot()
        pid = fork()
        if pid == 0:  # pragma: no cover - runs in the child
            self._child_main(
                request,
                request_fd,
                slot,
                anchor,
                (wake_w, output_w, diag_w),
                (wake_r, output_r, diag_r),
            )
        if anchor is not None:
            try:
                setpgid(pid, anchor)  # as the child does: whichever runs first
            except OSError:
                pass
        for fd in (wake_w, output_w, diag_w):
            close(fd)
        return pid, Pipes(wake_r, output_r, diag_r, slot), anchor

    def _child_main(
        self,
        request: Optional[CheckRequest],
        request_fd: Optional[int],
        slot: SharedSlot,
        anchor: Optional[int],
        ends: Tuple[int, int, int],
        parent_ends: Tuple[int, int, int],
    ) -> None:  # pragma: no cover - runs in the child
        wake_w, output_w, diag_w = ends
        try:
            try:
                setpgid(0, anchor if anchor is not None else 0)
            except OSError:
                setpgid(0, 0)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for sig, disposition in self.dispositions.items():
                try:
                    signal.signal(sig, disposition)
                except (OSError, ValueError, TypeError):
                    pass
            others: List[int] = [self.in_fd, self.out_fd, self.wake_r, self.wake_w, *parent_ends]
            if self.anchors is not None:
                others.extend(self.anchors.fds())
            # Another check's pipes and slot are not this check's to touch.
            for pipes in [c.pipes for c in self.children.values()] + [s.pipes for s in self.spares]:
                others.extend(pipes.fds())
                if isinstance(pipes.slot, SharedSlot):
                    pipes.slot.close()
            others.extend(s.request_w for s in self.spares)
            for fd in others:
                close_quietly(fd)
            dup2(output_w, 1)
            dup2(output_w, 2)
            close(output_w)
            prepared = Prepared(self.project, slot, diag_w)
            if request is None and request_fd is not None:  # a spare: wait for the check
                request = LineReader(request_fd).read_one()
                close_quietly(request_fd)
                if not isinstance(request, dict):  # discarded: not a hard exit of user code
                    prepared.real_exit(0)
            phases = {"child": monotonic()}
            run_check(cast(CheckRequest, request), self.project, prepared, wake_w, phases)
        except BaseException:
            # hotmod's own failure (not the user's: run_check catches that):
            # leave a trace in the captured output.
            try:
                import traceback

                traceback.print_exc()
                sys.stderr.flush()
            except BaseException:
                pass
        _exit(71)

    def _spawn_subprocess(self, request: CheckRequest) -> Tuple[int, Pipes, Optional[int]]:
        import subprocess

        result_r, result_w = pipe()
        output_r, output_w = pipe()
        diag_r, diag_w = pipe()
        payload = encode(
            {
                "request": request,
                "paths": self.project.paths,
                "files": sorted(self.project.files),
                "tempdir": self.project.tempdir,
            }
        )
        proc = subprocess.Popen(
            launch.command(sys.executable, "--oneshot", str(result_w), str(diag_w), payload),
            stdin=subprocess.DEVNULL,
            stdout=output_w,
            stderr=output_w,
            pass_fds=(result_w, diag_w),
            start_new_session=True,
        )
        for fd in (result_w, output_w, diag_w):
            close(fd)
        self._procs = getattr(self, "_procs", {})
        self._procs[proc.pid] = proc
        return proc.pid, Pipes(result_r, output_r, diag_r, None), None

    # -- results -------------------------------------------------------------------------
    def _read_child_fd(self, fd: int) -> None:
        for child in self.children.values():
            pipes = child.pipes
            if fd not in (pipes.wake, pipes.output, pipes.diag):
                continue
            chunk = _read_available(fd)
            if fd == pipes.output:
                if chunk is None:
                    close_quietly(fd)
                    pipes.output = None
                else:
                    self._keep_output(child, chunk)
            elif fd == pipes.diag:
                if chunk is None:
                    close_quietly(fd)
                    pipes.diag = None
                    child.diag_closed_at = monotonic()
                else:
                    room = DUMP_LIMIT - len(child.dump)
                    child.dump += chunk[: max(room, 0)]
            elif chunk is None:  # the wake pipe: the report is complete, or the module closed it
                close_quietly(fd)
                pipes.wake = None
                self._send_early(child)
            elif not self.use_fork:  # a oneshot writes its report on that pipe
                child.report += chunk[: max(REPORT_LIMIT - len(child.report), 0)]
            return

    def _keep_output(self, child: Running, chunk: bytes) -> None:
        limit = int(child.request.get("output_limit") or 65536)
        child.output_total += len(chunk)
        room = limit - len(child.output)
        if room > 0:
            child.output += chunk[:room]

    def _report(self, child: Running) -> Tuple[Optional[Dict[str, Any]], bool]:
        """The child's report from its slot: parsed data (or None), and whether it is full."""
        slot = child.pipes.slot
        payload, full = (
            slot.read() if isinstance(slot, SharedSlot) else best_of_lines(bytes(child.report))
        )
        return _parse(payload), full

    def _send_early(self, child: Running) -> None:
        """A full report arrived: answer now, reap the process later."""
        if child.sent or not self.use_fork:
            return
        report, full = self._report(child)
        if report is None or not full:
            return  # the module closed the pipe early, or the child is still writing
        for attr in ("output", "diag"):
            fd = getattr(child.pipes, attr)
            chunk = _read_available(fd) if fd is not None else None
            while chunk:
                if attr == "output":
                    self._keep_output(child, chunk)
                else:
                    child.dump += chunk[: max(DUMP_LIMIT - len(child.dump), 0)]
                chunk = _read_available(fd) if fd is not None else None
        self._send(child, report, {"code": 0, "signal": None})

    def _reap(self) -> None:
        while True:
            try:
                if waitid is not None:
                    # Peek first: the groups of a check are killed while its pid
                    # cannot have been reused, then it is reaped.
                    info = waitid(P_ALL, 0, WEXITED | WNOHANG | WNOWAIT)
                    if info is None:
                        return
                    pid = info.si_pid
                    self._kill_groups(pid)
                    _, status = waitpid(pid, 0)
                else:
                    pid, status = waitpid(-1, WNOHANG)
                    if pid == 0:
                        return
                    self._kill_groups(pid)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            child = self.children.get(pid)
            if child is not None:
                child.status = status
                self._finish(child)
            for spare in [s for s in self.spares if s.pid == pid]:  # a spare that died
                self.spares.remove(spare)
                spare.discard()

    def _kill_groups(self, pid: int) -> None:
        """Everything a finished check left in its group, and in its own group if it
        made one (``setsid``, ``setpgrp``)."""
        child = self.children.get(pid)
        if child is not None:
            if child.anchor is not None:
                kill_group(child.anchor)
            kill_group(pid)

    def _enforce_deadlines(self) -> None:
        now = monotonic()
        for child in list(self.children.values()):
            if child.status is None and now >= child.deadline and not child.killed_for_timeout:
                child.killed_for_timeout = True
                # Its dump pipe gone while it still ran: the module closed it.
                child.module_closed_diag = child.diag_closed_at is not None
                kill_group(child.anchor if child.anchor is not None else child.pid)
                kill_group(child.pid)
                kill_pid(child.pid)

    def _finish(self, child: Running) -> None:
        del self.children[child.pid]
        self._kill_strays()
        for attr in ("output", "diag", "wake"):
            fd = getattr(child.pipes, attr)
            chunk = _read_available(fd) if fd is not None else None
            while chunk:
                if attr == "output":
                    self._keep_output(child, chunk)
                elif attr == "diag":
                    child.dump += chunk[: max(DUMP_LIMIT - len(child.dump), 0)]
                else:
                    child.report += chunk[: max(REPORT_LIMIT - len(child.report), 0)]
                chunk = _read_available(fd) if fd is not None else None
        report, _ = self._report(child)
        child.pipes.close()
        if child.sent:
            return
        status = child.status or 0
        exit_info: ExitInfo = {"code": None, "signal": None}
        if WIFEXITED(status):
            exit_info["code"] = WEXITSTATUS(status)
        elif WIFSIGNALED(status):
            exit_info["signal"] = WTERMSIG(status)
        if report is None:
            _, dump = split_journal(bytes(child.dump).decode("utf-8", "replace"))
            timed_out = (
                child.killed_for_timeout
                or dump.startswith("Timeout")
                or (
                    child.timeout_at is not None
                    and monotonic() >= child.timeout_at
                    and exit_info["code"] == 1
                )
            )
            outcome = "timeout" if timed_out else "crash"
            report = {"module": child.request["module"], "outcome": outcome}
            # The dump pipe closed well before the child ended: the module closed it.
            closed_early = child.module_closed_diag or (
                child.diag_closed_at is not None
                and monotonic() - child.diag_closed_at > CLOSED_EARLY_S
            )
            if closed_early and not dump.strip():
                report["harness"] = (
                    "the module closed the pipe hotmod's traceback dump is written to, "
                    "so the line it was running is unknown"
                )
        self._send(child, report, exit_info)

    def _send(self, child: Running, report: Dict[str, Any], exit_info: ExitInfo) -> None:
        child.sent = True
        result = cast(CheckResult, report)
        result["module"] = child.request["module"]  # the child's word is not needed for that
        if result.get("outcome") not in ("ok", "error", "memory-limit", "timeout", "crash"):
            result["outcome"] = "crash"
        if "hard_exit" in result:
            result["outcome"] = "crash"
        compiled = result.pop("compiled", None)
        if self.use_fork and isinstance(compiled, list):  # a oneshot cannot share code
            for path in compiled:
                if isinstance(path, str) and path in self.project.files:
                    self.to_compile[path] = None
        memory = result.get("memory")
        if isinstance(memory, dict) and isinstance(memory.get("rss_delta"), int):
            memory["rss_delta"] = max(0, memory["rss_delta"] - self.rss_baseline)
        side_effects, dump = split_journal(bytes(child.dump).decode("utf-8", "replace"))
        if "side_effects" not in result and side_effects:
            result["side_effects"] = side_effects
        error = result.get("error")
        if isinstance(error, dict) and error.get("is_syntax_error"):
            _columns_in_characters(error.get("syntax"), self.project.files)
        result["exit"] = exit_info
        result["traceback_dump"] = dump if result["outcome"] != "ok" else ""
        result["output"] = bytes(child.output).decode("utf-8", "replace")
        result["output_bytes"] = child.output_total
        result["wall_ms"] = (perf_counter() - child.started) * 1000.0
        # Where the time went, in ms from the hand-over: the child's phases
        # (same monotonic clock), then the zygote noticing its report.
        marks = result.get("phases")
        marks = dict(marks) if isinstance(marks, dict) else {}
        marks["sent"] = monotonic()
        result["phases"] = {
            str(k): round((v - child.handed) * 1000.0, 3)
            for k, v in marks.items()
            if isinstance(v, float)
        }
        result["pid"] = child.pid
        send(self.out_fd, {"event": "result", "id": child.request.get("id"), "result": result})

    def _kill_strays(self) -> None:
        """Kill what finished checks left behind outside their process groups.

        A grandchild that calls ``setsid()`` (and ignores SIGTERM) escapes the
        group kill.  When its check exits it is re-parented to us, the
        subreaper, so any child of ours that is not a running check (or in a
        running check's group), a spare, nor a helper of ours is a stray.
        """
        if not self.use_fork:
            return
        keep = set(self.children) | set(self.own_children) | {s.pid for s in self.spares}
        groups = {c.anchor for c in self.children.values() if c.anchor} | set(self.children)
        for _ in range(20):  # killing a stray re-parents its own children to us
            strays = [p for p in child_pids() if p not in keep and pgid_of(p) not in groups]
            if not strays:
                return
            for pid in strays:
                kill_pid(pid)
                try:
                    waitpid(pid, 0)
                except (OSError, ChildProcessError):
                    pass


# -- helpers -----------------------------------------------------------------------------


def _parse(payload: Optional[bytes]) -> Optional[Dict[str, Any]]:
    if not payload:
        return None
    try:
        data = decode(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _columns_in_characters(syntax: Any, project_files: FrozenSet[str]) -> None:
    """Columns of a SyntaxError in characters, as compiling the file's text reports them.

    Imports compile bytes, and then CPython gives most parser errors' columns
    in UTF-8 bytes: wrong on any line with non-ASCII text before the error.
    Only the same error (line and message) replaces the original columns.
    Done here, not in the child: reading and compiling after the import would
    be audited operations a module's audit hook may refuse.
    """
    if not isinstance(syntax, dict) or syntax.get("file") not in project_files:
        return
    import warnings

    try:
        with open(syntax["file"], "rb") as f:
            text = importlib.util.decode_source(f.read())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, syntax["file"], "exec", dont_inherit=True)
    except SyntaxError as exc:
        if exc.lineno == syntax.get("line") and exc.msg == syntax.get("msg"):
            syntax["offset"] = exc.offset
            syntax["end_line"] = getattr(exc, "end_lineno", None)
            syntax["end_offset"] = getattr(exc, "end_offset", None)
    except Exception:
        pass


def _top_level_names(files: FrozenSet[str], paths: List[str]) -> Set[str]:
    """Top-level module names of the project files (``app`` for app/decimal.py)."""
    tops = set()
    for f in files:
        for base in paths:
            prefix = base.rstrip("/") + "/"
            if f.startswith(prefix):
                first = f[len(prefix) :].split("/")[0]
                tops.add(first[:-3] if first.endswith(".py") else first)
                break
    return tops


def worker_only_modules(baseline: FrozenSet[str]) -> Tuple[str, ...]:
    """Modules a fresh ``python -c`` does not have and only the worker uses.

    ``baseline``: ``sys.modules`` once the worker was set up, before any warm
    import.  Of those, the worker's own package and the standard library it
    imported are dropped in a check child, unless a module of the warm imports
    refers to one (a fresh process importing that package would have it too, and
    it must stay one object for both).
    """
    fresh = FRESH_MODULES
    if not fresh:  # not started by the bootstrap (tests of the package itself)
        return ()
    used: Set[str] = set()
    for name, module in list(sys.modules.items()):
        if name in baseline:
            continue
        try:
            values = list(vars(module).values())
        except TypeError:
            continue
        for value in values:
            owner = (
                value.__name__
                if isinstance(value, ModuleType)
                else getattr(value, "__module__", None)
            )
            if isinstance(owner, str):
                parts = owner.split(".")
                used.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    own = {name for name in baseline if name.split(".")[0] == launch.PACKAGE}
    return tuple(sorted(own | {n for n in baseline if n not in fresh and n not in used}))


def _own_files() -> Tuple[str, ...]:
    files = (
        getattr(m, "__file__", None) for n, m in sys.modules.items() if n.startswith(launch.PACKAGE)
    )
    return tuple(abspath(f) for f in files if isinstance(f, str))


def _tempdir() -> Optional[str]:
    try:
        return realpath(gettempdir())
    except Exception:
        return None


def _read_available(fd: int) -> Optional[bytes]:
    """Bytes ready on a non-blocking fd; b"" when nothing is ready, None at EOF."""
    chunks: List[bytes] = []
    while True:
        try:
            chunk = read(fd, 1 << 16)
        except BlockingIOError:
            return b"".join(chunks)
        except InterruptedError:
            continue
        except OSError:
            return None
        if not chunk:
            return b"".join(chunks) if chunks else None
        chunks.append(chunk)
        if len(chunks) > 64:
            return b"".join(chunks)


def _drain(fd: int) -> None:
    try:
        while read(fd, 4096):
            pass
    except (BlockingIOError, InterruptedError):
        pass


def _clean_main() -> None:
    """``__main__`` as a fresh ``python -c`` has it: nothing of the bootstrap."""
    main = sys.modules.get("__main__")
    keep = (
        "__name__",
        "__doc__",
        "__package__",
        "__loader__",
        "__spec__",
        "__annotations__",
        "__builtins__",
    )
    if main is not None:
        for name in [n for n in vars(main) if n not in keep]:
            delattr(main, name)


def _oneshot(result_fd: int, diag_fd: int, payload: str) -> None:
    """A check in a fresh interpreter, for platforms without ``fork``."""
    data = decode(payload)
    for p in reversed(data["paths"]):
        sys.path.insert(0, p)
    project = Project(
        frozenset(data["files"]),
        data["paths"],
        data.get("tempdir"),
        _own_files(),
        worker_only_modules(frozenset(sys.modules)),
        CodeCache(),
    )
    prepared = Prepared(project, PipeSlot(result_fd), diag_fd)
    run_check(data["request"], project, prepared, None, {"child": monotonic()})


def main(argv: List[str]) -> int:
    # ``python -c`` puts the working directory first on sys.path; the module
    # dirs go there instead, as they always have.
    if sys.path and sys.path[0] == "":
        del sys.path[0]
    sys.argv[:] = ["-c"]
    _clean_main()
    if len(argv) >= 4 and argv[0] == "--oneshot":
        _oneshot(int(argv[1]), int(argv[2]), argv[3])
        return 0
    in_fd, out_fd = int(argv[0]), int(argv[1])
    use_fork = fork is not None and not environ.get("HOTMOD_WORKER_NO_FORK")
    zygote = Zygote(in_fd, out_fd, use_fork)
    first = zygote.reader.read_one()
    if not isinstance(first, dict):
        return 0
    zygote.init(cast(InitRequest, first))
    zygote.serve()
    return 0
