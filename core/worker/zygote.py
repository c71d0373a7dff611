"""The zygote: warm third-party imports, a select loop, one child per check.

A single-threaded process keeps the project's third-party modules imported
("warm") and forks one child per check.  The child imports the project module
from source into a process that has never seen any project module, so its
verdict is that of a fresh ``python -c "import m"``, only faster, because
``import pandas`` already happened here.  Where ``fork`` is not available each
check runs in a fresh subprocess instead (the same check code, cold imports).

Once idle for a moment the zygote forks *spares*: children that have done
their request-independent set-up and wait on a pipe of their own, so that a
save's checks start importing the moment they are asked for.  Checks of many
modules of one package share that package's import through a *stem*
(stems.py); a stem is itself a zygote, serving from the state the package's
import left.

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
from os import _exit, close, cpu_count, devnull, environ, getpid, pipe
from os.path import abspath, join, realpath, sep
from select import select
from tempfile import gettempdir
from time import monotonic, perf_counter
from types import ModuleType
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple, Union, cast

from . import FRESH_MODULES, launch, stems
from .child import Prepared, Project, run_check
from .children import (
    Running,
    Spare,
    fork_child,
    parse,
    read_available,
    spawn_subprocess,
)
from .codecache import CodeCache
from .precompile import Precompiler
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
    Depends,
    ExitInfo,
    InitRequest,
    ReadyEvent,
    WarmInfo,
)
from .safe import private_builtins
from .slot import PipeSlot, SharedSlot
from .stems import STEM_IDLE_S, STEM_MIN_SAVING_MS, STEM_UNKNOWN_MIN, Stem
from .wire import LineReader, decode, encode, send, write_all

private_builtins(globals())

try:
    from os import WNOHANG, set_blocking, waitpid
    from os import fork as _fork
except ImportError:  # pragma: no cover - Windows: a oneshot subprocess per check
    _fork = None  # type: ignore[assignment]
try:
    from os import P_ALL, WEXITED, WNOWAIT, waitid
except ImportError:  # macOS, Windows: reap first, then kill what is left of the group
    waitid = None  # type: ignore[assignment]

# The spares are forked once the zygote has been idle this long: forking right
# after a check competes for the CPU with the server delivering its verdict
# (measured on 2 cores: 2 ms slower per save).
PREFORK_DELAY_S = 0.02
# How long the zygote waits for the project's compiled code before it says it
# is ready (the rest arrives while it serves).
INIT_COMPILE_S = 0.5
# Modules whose import has visible side effects; never pre-import them.
NEVER_WARM = frozenset({"this", "antigravity", "__main__", "idlelib", "turtledemo"})
CALIBRATION_MODULE = "calibration_empty"
# HOTMOD_WORKER_STEMS=0: every check re-runs its packages' imports (benchmarks
# compare the two; verdicts are the same); "always": a stem for any two checks
# of a package, whatever its import costs (tests).
STEMS = environ.get("HOTMOD_WORKER_STEMS", "1")
# What a module may send its parent that would end or stop a process: the
# zygote ignores them (its children get back the dispositions they inherited).
_IGNORED_HERE = tuple(
    getattr(signal, name)
    for name in (
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM",
        "SIGVTALRM", "SIGPROF", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGXCPU", "SIGXFSZ",
        "SIGIO", "SIGPWR",
    )
    if hasattr(signal, name)
)  # fmt: skip
_modules = sys.modules  # the interpreter's own dict, whatever sys.modules is rebound to


class Zygote:
    def __init__(self, in_fd: int, out_fd: int, use_fork: bool) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.use_fork = use_fork
        self.reader = LineReader(in_fd)
        self.queue: List[CheckRequest] = []
        self.children: Dict[int, Running] = {}
        self.spares: List[Spare] = []
        self.stems: Dict[str, Stem] = {}  # the current stem of a package
        self.stem_of: Dict[int, Stem] = {}  # every stem process, by pid (old ones finishing too)
        self.no_stem: Set[str] = set()  # packages whose import is not exact to fork from
        # A module's stem key (see _stem_key), until packages, no_stem or loaded change.
        self._stem_keys: Dict[str, Optional[str]] = {}
        self.subprocesses: Dict[int, Any] = {}  # oneshot checks' Popen objects
        self.max_children = max(1, int(environ.get("HOTMOD_WORKER_JOBS") or 0) or cpu_count() or 1)
        self.warm_report: Dict[str, WarmInfo] = {}
        self.rss_baseline = 0
        self.idle_since: Optional[float] = None
        self.to_compile: Dict[str, None] = {}  # files checks had to compile (an ordered set)
        self.imports_to_compile: Dict[str, None] = {}  # those a check imported, not checked
        self.code = CodeCache()
        self.precompiler = Precompiler([])
        self.early: List[Dict[str, Any]] = []  # requests that came before the warm list
        if use_fork:
            become_subreaper()
        self.baseline = frozenset(_modules)  # the worker's own imports: see warm()
        self.project = Project(frozenset(), [], None, _own_files(), (), self.code)
        self.packages: FrozenSet[str] = frozenset()  # the project's packages, by name
        self.loaded: FrozenSet[str] = frozenset()  # project modules imported here (a stem's)
        self.inherited_ms = 0.0  # what those imports cost: a stem's checks did not repeat it
        self.is_stem = False  # a stem serving its package's checks (become_stem)
        self.inherited: Depends = {}  # what those imports depended on: so do its checks
        self.package_cost: Dict[str, float] = {}  # a package's last measured import, ms
        self.running = True
        self.own_children: FrozenSet[int] = frozenset()
        self.dispositions: Dict[int, Any] = {}  # what a child gets back (see _own_signals)
        self.wake_r, self.wake_w = pipe()
        for fd in (self.wake_r, self.wake_w):
            set_blocking(fd, False)
        self.anchors: Optional[Anchors] = Anchors() if use_fork else None

    # -- set-up -------------------------------------------------------------------
    def init(self, msg: InitRequest) -> None:
        paths = [abspath(p) for p in msg.get("paths", [])]
        for p in reversed(paths):
            if p not in sys.path:
                sys.path.insert(0, p)
        root = msg.get("root")
        watched = (root.rstrip(sep) + sep,) if isinstance(root, str) and root else ()
        self.project = self.project._replace(paths=paths, tempdir=_tempdir(), watched=watched)
        self._set_files(msg.get("files", []))
        if msg.get("max_children"):
            self.max_children = max(1, int(msg["max_children"] or 1))
        if self.use_fork:  # compiling while the engine still reads the project, and warm
            self.precompiler = Precompiler(sorted(self.project.files, key=_packages_first))
        warm = self._await_warm()
        if warm is None:  # the engine went away
            self._stop()
            return
        self.warm(warm)
        if self.use_fork:
            self._collect_compiled(INIT_COMPILE_S)
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
            "sys_path": [p for p in sys.path if isinstance(p, str)],
        }
        send(self.out_fd, ready)
        early, self.early = self.early, []
        for message in early:
            self._handle(message)

    def _await_warm(self) -> Optional[List[str]]:
        """The warm imports, which follow the init message; anything else that came
        first or with it (checks, on a cold start) is handled once the zygote is ready.

        The precompiler's output is taken meanwhile: the engine sends the warm
        list once it has parsed the project (seconds, on a large one), and a
        helper whose pipe is full stops compiling until it is read.
        """
        warm: Optional[List[str]] = None
        messages = self.reader.buffered()  # what came with the init message
        while warm is None:
            if not messages:
                helper = self.precompiler.fd
                if helper is not None:  # else a blocking read (no fork: no helper either)
                    ready = select([self.in_fd, helper], [], [])[0]
                    if helper in ready:
                        self.precompiler.collect(self.code)
                    if self.in_fd not in ready:
                        continue
                read = self.reader.read_available()
                if read is None:
                    return None
                messages = read
            for message in messages:
                if not isinstance(message, dict):
                    continue
                if warm is None and message.get("op") == "warm":
                    modules = message.get("modules")
                    listed = modules if isinstance(modules, list) else []
                    warm = [m for m in listed if isinstance(m, str)]
                else:
                    self.early.append(message)
            messages = []
        return warm

    def _set_files(self, files: List[str]) -> None:
        absolute = frozenset(abspath(f) for f in files)
        self.project = self.project._replace(files=absolute)
        self.packages = _package_names(absolute, self.project.paths)
        self._stem_keys.clear()
        self.code.retain(absolute)

    def warm(self, modules: List[str]) -> None:
        if not self.use_fork:
            return
        tops = {name.split(".")[0] for name in self.packages} | _top_level_names(
            self.project.files, self.project.paths
        )
        for name in modules:
            if name in NEVER_WARM or name in _modules or name.split(".")[0] in tops:
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
        for name, module in list(_modules.items()):
            origin = getattr(module, "__file__", None)
            if isinstance(origin, str) and abspath(origin) in self.project.files:
                del _modules[name]
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
            pid = _fork()
            if pid == 0:  # pragma: no cover - runs in the child
                try:
                    sys.path.insert(0, launch.PACKAGE_DIR)
                    with open(devnull, "w") as sink:
                        prepared = Prepared(project, slot, sink.fileno())
                        run_check(request, project, prepared, None, {})
                finally:
                    _exit(0)
            waitpid(pid, 0)
            payload, _ = slot.read()
            slot.close()
            report = parse(payload)
            memory = report.get("memory") if report else None
            if report and report.get("outcome") == "ok" and isinstance(memory, dict):
                deltas.append(int(memory.get("rss_delta") or 0))
        return sorted(deltas)[len(deltas) // 2] if deltas else 0

    def become_stem(
        self,
        in_fd: int,
        out_fd: int,
        loaded: FrozenSet[str],
        inherited_ms: float,
        depends: Depends,
    ) -> None:
        """In a stem's process, after its import: serve from here (see stems.py)."""
        self.in_fd, self.out_fd = in_fd, out_fd
        self.reader = LineReader(in_fd)
        self.queue, self.children, self.spares = [], {}, []
        self.stems, self.stem_of, self.no_stem = {}, {}, set()
        self._stem_keys.clear()
        self.loaded, self.inherited_ms = loaded, inherited_ms
        self.is_stem = True
        self.inherited = merge_depends(self.inherited, depends)
        self.running, self.idle_since = True, None
        become_subreaper()  # not inherited across fork
        self.wake_r, self.wake_w = pipe()
        for fd in (self.wake_r, self.wake_w):
            set_blocking(fd, False)
        # Only now: while the package imported, the process had no child, as a
        # fresh one has none.
        self.anchors = Anchors()
        self.own_children = frozenset([self.anchors.pid] if self.anchors.pid else [])
        self._own_signals()
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(self.wake_w)

    # -- main loop -------------------------------------------------------------------
    def serve(self) -> None:
        while self.running or self.children:
            self._start_queued()
            # Only while idle: a fork holds locks that a running check's
            # copy-on-write page faults wait for (measured: ~5 ms each).
            if self.queue or self.children and not self._only_stems_serving():
                self.idle_since = None
                if self.imports_to_compile and not (self.queue and self._free_slots() > 0):
                    # Every slot taken: the zygote only waits.  The modules checks
                    # imported are compiled once here for the checks still to come
                    # (else a project's first check compiles each module's whole
                    # closure again in every child).
                    self._compile_some(self.imports_to_compile)
            elif self.idle_since is None:
                self.idle_since = monotonic()
            elif monotonic() - self.idle_since >= PREFORK_DELAY_S:
                if self.to_compile:  # first, so that the spares inherit the code
                    self._compile_some(self.to_compile)
                else:
                    self._prefork()
            self._end_idle_stems()
            rlist = [self.in_fd, self.wake_r] if self.running else [self.wake_r]
            for child in self.children.values():
                rlist.extend(child.pipes.fds())
            rlist.extend(s.events_r for s in self.stem_of.values() if s.events_r is not None)
            if self.precompiler.fd is not None:
                rlist.append(self.precompiler.fd)
            try:
                ready = select(rlist, [], [], self._next_timeout())[0]
            except InterruptedError:
                ready = []
            for fd in ready:
                if fd == self.in_fd:
                    self._read_requests()
                elif fd == self.wake_r:
                    _drain(self.wake_r)
                elif fd == self.precompiler.fd:
                    self._collect_compiled(0.0)
                else:
                    self._read_child_fd(fd)
            self._reap()
            self._enforce_deadlines()

    def _only_stems_serving(self) -> bool:
        """Children are only stems waiting for checks: that is idle too."""
        return all(self.stem_of.get(pid) and self.stem_of[pid].serving for pid in self.children)

    def _next_timeout(self) -> Optional[float]:
        waits = [STEM_IDLE_S] if self.stems else []
        deadlines = [c.deadline for c in self.children.values() if c.deadline != float("inf")]
        if deadlines:
            # Poll as a fallback in case a SIGCHLD wakeup is lost (e.g. no fork).
            waits.append(max(0.0, min(min(deadlines) - monotonic(), 0.05)))
        elif self.children and not self._only_stems_serving():
            waits.append(0.05)
        idle_work = self.to_compile or len(self.spares) < self.max_children
        if self.use_fork and self.running and idle_work and self.idle_since:
            # Wake up to compile, then fork the spares (see _prefork).
            waits.append(max(0.0, self.idle_since + PREFORK_DELAY_S - monotonic()))
        return min(waits) if waits else None

    def _read_requests(self) -> None:
        messages = self.reader.read_available()
        if messages is None:  # the engine (or, in a stem, the zygote) went away
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
            self._set_files(msg.get("files", []))
            self._fit_again()
            self._end_stems(lambda stem: True)
            self._discard_spares()
        elif op == "changed":
            changed = {abspath(f) for f in msg.get("files", [])}
            self._end_stems(lambda stem: bool(stem.files & changed))
            self._fit_again()
        elif op == "warm":
            loaded = set(_modules)
            self.warm(msg.get("modules", []))
            if set(_modules) != loaded:  # else (e.g. not installed) stems and spares are as new
                self._end_stems(lambda stem: True)
                self._discard_spares()
            send(self.out_fd, {"event": "warmed", "warm": self.warm_report})
        elif op == "cancel":
            ids = set(msg.get("ids", []))
            self.queue = [r for r in self.queue if r.get("id") not in ids]
            for stem in self.stem_of.values():
                stem.waiting = [r for r in stem.waiting if r.get("id") not in ids]
                dropped = ids & set(stem.outstanding)
                if dropped:  # what it already started still answers, and is ignored
                    stem.send({"op": "cancel", "ids": sorted(dropped)})
                    for request_id in dropped:
                        del stem.outstanding[request_id]
        elif op == "shutdown":
            self._stop()

    def _stop(self) -> None:
        self.running = False
        self.precompiler.close()
        self.queue = []
        self._discard_spares()
        self._end_stems(lambda stem: True)
        if self.anchors is not None:
            self.anchors.close()
            self.anchors = None

    # -- routing: a fresh child, or a stem -------------------------------------------------
    def _start_queued(self) -> None:
        # A child whose verdict was sent is only being torn down (at low
        # priority): it no longer takes one of the max_children slots, but
        # a burst must not pile up more than a few of them (their memory).
        # An exclusive check (a retry after the worker died) runs alone.
        if not self.queue or self._free_slots() <= 0:
            return  # most turns of the loop: nothing can start
        keys: Dict[str, int] = {}
        for request in self.queue:
            key = self._stem_key(request)
            if key is not None:
                keys[key] = keys.get(key, 0) + 1
        index = 0
        while index < len(self.queue) and self._free_slots() > 0:
            request = self.queue[index]
            if request.get("exclusive") and self.children:
                break
            route = self._route(request, keys)
            if isinstance(route, Stem):
                if route.importing:
                    route.waiting.append(self.queue.pop(index))
                    continue
                if route.forward(self.queue[index]):
                    self.queue.pop(index)
                    continue
            self._spawn(self.queue.pop(index))
            if request.get("exclusive"):
                break

    def _free_slots(self) -> int:
        if any(c.request.get("exclusive") for c in self.children.values()):
            return 0
        if len(self.children) >= 2 * self.max_children + len(self.stem_of):
            return 0
        busy = sum(not c.sent for c in self.children.values())
        busy += sum(len(s.outstanding) for s in self.stem_of.values())
        return self.max_children - busy

    def _stem_key(self, request: CheckRequest) -> Optional[str]:
        """The package whose import this check would start with: the outermost one
        not imported in this process (a stem of it can serve the check)."""
        if (
            not self.use_fork
            or STEMS == "0"
            or request.get("exclusive")
            or request.get("profile")
            or request.get("trace_memory")
        ):
            return None
        module = request["module"]
        if module in self._stem_keys:
            return self._stem_keys[module]
        key = None
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            name = ".".join(parts[:end])
            if name not in self.loaded:
                known = name in self.packages and name not in self.no_stem
                key = name if known else None
                break
        self._stem_keys[module] = key
        return key

    def _unfit(self, package: str) -> None:
        """Checks of ``package``'s modules no longer fork from a stem of it."""
        self.no_stem.add(package)
        self._stem_keys.clear()

    def _fit_again(self) -> None:
        """What made packages unfit to fork from may be gone (files changed)."""
        self.no_stem.clear()
        self._stem_keys.clear()

    def _route(self, request: CheckRequest, keys: Dict[str, int]) -> Union[Stem, None]:
        key = self._stem_key(request)
        if key is None:
            return None
        stem = self.stems.get(key)
        if stem is not None and stem.current():
            return stem
        count = keys.get(key, 0)
        cost = self.package_cost.get(key)
        worth = count >= 2 and (
            STEMS == "always"
            or (cost is not None and (count - 1) * cost >= STEM_MIN_SAVING_MS)
            or (cost is None and count >= STEM_UNKNOWN_MIN)
        )
        return self._start_stem(key, request) if worth else None

    def _start_stem(self, package: str, like: CheckRequest) -> Stem:
        request: CheckRequest = cast(CheckRequest, dict(like))
        request["module"], request["id"] = package, -1
        request_r, request_w = pipe()
        events_r, events_w = pipe()

        def become(zygote: Zygote, req: CheckRequest, prepared: Prepared, wake_w: int,
                   phases: Dict[str, float]) -> None:  # fmt: skip
            stems.run(zygote, req, prepared, wake_w, phases, request_r, events_w)

        handed = monotonic()
        pid, pipes, anchor = fork_child(self, request, None, become, (request_w, events_r))
        close(request_r)
        close(events_w)
        set_blocking(events_r, False)
        running = Running(request, pid, pipes, anchor, handed)
        stem = Stem(package, running, request_w, events_r)
        old = self.stems.get(package)
        if old is not None:
            old.end()
        self.stems[package] = stem
        self.stem_of[pid] = stem
        self.children[pid] = running
        return stem

    def _end_stems(self, which: Any) -> None:
        for stem in list(self.stem_of.values()):
            if which(stem):
                stem.end()

    def _end_idle_stems(self) -> None:
        now = monotonic()
        for stem in self.stem_of.values():
            if stem.outstanding or stem.waiting or stem.importing:
                stem.idle_since = now
            elif stem.serving and now - stem.idle_since > STEM_IDLE_S:
                stem.end()

    # -- children ---------------------------------------------------------------------
    def _compile_some(self, which: Dict[str, None]) -> None:
        """Compile files checks reported compiling (see codecache.py), ~10 ms at a
        time so that a check asked for meanwhile waits no longer than that."""
        deadline = monotonic() + 0.01
        while which and monotonic() < deadline:
            path = next(iter(which))
            self.to_compile.pop(path, None)
            self.imports_to_compile.pop(path, None)
            if path in self.project.files:
                self.code.add(path)
        gc.freeze()  # like the warm imports: children must not copy these pages

    def _collect_compiled(self, wait_s: float) -> None:
        """Code the precompiler sent, waiting up to ``wait_s`` for all of it."""
        deadline = monotonic() + wait_s
        while True:
            self.precompiler.collect(self.code)
            left = deadline - monotonic()
            if self.precompiler.fd is None or left <= 0:
                break
            select([self.precompiler.fd], [], [], left)
        gc.freeze()  # like the warm imports: children must not copy these pages

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
        pid, pipes, anchor = fork_child(self, None, request_r, None, (request_w,))
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
            pid, pipes, anchor = fork_child(self, request, None, None, ())
        else:
            pid, pipes, anchor = spawn_subprocess(self, request)
        self.children[pid] = Running(request, pid, pipes, anchor, handed)

    def close_in_child(self, parent_ends: Tuple[int, ...]) -> None:
        """In a new child: close what belongs to the zygote and to other checks."""
        others: List[int] = [self.in_fd, self.out_fd, self.wake_r, self.wake_w, *parent_ends]
        if self.anchors is not None:
            others.extend(self.anchors.fds())
        # Another check's pipes and slot are not this check's to touch.
        for pipes in [c.pipes for c in self.children.values()] + [s.pipes for s in self.spares]:
            others.extend(pipes.fds())
            if pipes.slot is not None:
                pipes.slot.close()
        others.extend(s.request_w for s in self.spares)
        if self.precompiler.fd is not None:  # the zygote's to read, not a check's
            others.append(self.precompiler.fd)
        self.precompiler = Precompiler([])
        for stem in self.stem_of.values():
            others.extend(fd for fd in (stem.request_w, stem.events_r) if fd is not None)
        for fd in others:
            close_quietly(fd)

    # -- results -------------------------------------------------------------------------
    def _read_child_fd(self, fd: int) -> None:
        for stem in self.stem_of.values():
            if fd == stem.events_r:
                self._read_stem_events(stem)
                return
        for child in self.children.values():
            if fd in child.pipes.fds():
                limit = int(child.request.get("output_limit") or 65536)
                if child.take(fd, limit):
                    self._send_early(child)
                return

    def _send_early(self, child: Running) -> None:
        """A full report arrived: answer now, reap the process later."""
        if child.sent or not self.use_fork:
            return
        report, full = child.read_report()
        if report is None or not full:
            return  # the module closed the pipe early, or the child is still writing
        child.drain(int(child.request.get("output_limit") or 65536))
        self._deliver(child, report, {"code": 0, "signal": None})

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
            self.precompiler.reaped(pid)
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
        child.drain(int(child.request.get("output_limit") or 65536))
        report, _ = child.read_report()
        child.pipes.close()
        stem = self.stem_of.get(child.pid)
        if stem is not None:
            self._stem_ended(stem, child, report)
            return
        if child.sent:
            return
        self._deliver(child, report or child.verdict_without_report(), child.exit_info())

    def _deliver(self, child: Running, report: Dict[str, Any], exit_info: ExitInfo) -> None:
        """A child's report is in: a check's result goes out; a stem's answers its checks."""
        child.sent = True
        result = self._finalize(child.result(report, exit_info))
        stem = self.stem_of.get(child.pid)
        if stem is not None:
            self._stem_reported(stem, result)
        else:
            self._emit(result, child.request)

    def _finalize(self, result: CheckResult) -> CheckResult:
        """What the zygote adds to a child's result, once: net memory, character
        columns, the imports a stem's check inherited; and what it learns from it."""
        self._take_compiled(result)
        memory = result.get("memory")
        if isinstance(memory, dict) and isinstance(memory.get("rss_delta"), int):
            memory["rss_delta"] = max(0, memory["rss_delta"] - self.rss_baseline)
        error = result.get("error")
        if isinstance(error, dict) and error.get("is_syntax_error"):
            _columns_in_characters(error.get("syntax"), self.project.files)
        if self.inherited_ms:
            result["inherited_ms"] = self.inherited_ms
        if self.inherited:
            own = result.get("depends")
            result["depends"] = merge_depends(self.inherited, own if isinstance(own, dict) else {})
        self._learn_costs(result)
        return result

    def _take_compiled(self, result: CheckResult) -> None:
        """The files a check compiled from source, for the zygote to compile once.

        The list stays in the result: a stem passes it on to the zygote, whose
        code cache serves every later check and stem.  A stem, which lives
        seconds, only compiles the imports of its checks while they run.
        """
        compiled = result.get("compiled")
        if not (self.use_fork and isinstance(compiled, list)):  # a oneshot cannot share code
            return
        modules = result.get("modules")
        timing = modules.get(result.get("module")) if isinstance(modules, dict) else None
        checked = timing.get("file") if isinstance(timing, dict) else None
        for path in compiled:
            if isinstance(path, str) and path in self.project.files:
                if not self.is_stem:
                    self.to_compile[path] = None
                if path != checked:
                    self.imports_to_compile[path] = None

    def _emit(self, result: CheckResult, request: CheckRequest) -> None:
        send(self.out_fd, {"event": "result", "id": request.get("id"), "result": result})

    def _learn_costs(self, result: Any) -> None:
        """What each package's import cost, from the timings any check reports."""
        modules = result.get("modules") if isinstance(result, dict) else None
        if not isinstance(modules, dict):
            return
        for name, timing in modules.items():
            if name in self.packages and isinstance(timing, dict):
                cost = timing.get("cumulative_ms")
                if isinstance(cost, (int, float)):
                    self.package_cost[name] = float(cost)

    # -- stems ------------------------------------------------------------------------------
    def _stem_reported(self, stem: Stem, result: CheckResult) -> None:
        """A stem's import is done: answer what it decided, hand it the rest.

        Its import failed: so does the fresh import of every module under its
        package.  A module its import ran: nothing of it is left to run.  The
        others are checked forked from the stem, or, if forking from it would
        not be exact, from here as before (see stems.py).
        """
        info = result.pop("stem", None)
        stem.reported(dict(result, stem=info))
        stem.running.deadline = float("inf")  # it serves now, for as long as it is asked
        failed = result["outcome"] != "ok"
        if not failed and not stem.serving:  # until its files change: see "changed"
            self._unfit(stem.package)
        waiting, stem.waiting = stem.waiting, []
        for request in waiting:
            if failed or request["module"] in stem.loaded:
                answer = cast(CheckResult, dict(result))
                answer["module"] = request["module"]
                self._emit(answer, request)
            elif not (stem.serving and stem.forward(request)):
                self.queue.insert(0, request)
        if not stem.serving:
            stem.end()

    def _read_stem_events(self, stem: Stem) -> None:
        events = stem.events.read_available()
        if events is None:
            close_quietly(stem.events_r)
            stem.events_r = None
            return
        for event in events:
            if not isinstance(event, dict) or event.get("event") != "result":
                continue
            request = stem.outstanding.pop(event.get("id"), None)  # type: ignore[arg-type]
            result = event.get("result")
            if request is not None and isinstance(result, dict):
                self._learn_costs(result)
                self._take_compiled(cast(CheckResult, result))
                self._emit(cast(CheckResult, result), request)

    def _stem_ended(self, stem: Stem, child: Running, report: Optional[Dict[str, Any]]) -> None:
        """A stem's process is gone: its unanswered checks run from here."""
        if not child.sent:  # it died importing: that is the verdict of its checks
            # (delivered while it is still known as a stem: its waiting checks get it)
            self._deliver(child, report or child.verdict_without_report(), child.exit_info())
        del self.stem_of[child.pid]
        if stem.events_r is not None:
            self._read_stem_events(stem)
        if stem.outstanding:  # it died serving: not to be trusted again
            self._unfit(stem.package)
            self.queue[:0] = list(stem.outstanding.values())
            stem.outstanding = {}
        stem.close()
        if self.stems.get(stem.package) is stem:
            del self.stems[stem.package]

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
        if self.precompiler.pid is not None:
            keep.add(self.precompiler.pid)
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


def _packages_first(path: str) -> Tuple[bool, str]:
    return (not path.endswith(sep + "__init__.py"), path)


def merge_depends(first: Depends, second: Depends) -> Depends:
    """What a check forked from a stem depends on: the stem's import, and its own."""
    if not first:
        return second
    return {
        "sources": {**first.get("sources", {}), **second.get("sources", {})},
        "missing": sorted(set(first.get("missing", [])) | set(second.get("missing", []))),
        "reads": sorted(set(first.get("reads", [])) | set(second.get("reads", []))),
        "listed": sorted(set(first.get("listed", [])) | set(second.get("listed", []))),
    }


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
            prefix = base.rstrip(sep) + sep
            if f.startswith(prefix):
                first = f[len(prefix) :].split(sep)[0]
                tops.add(first[:-3] if first.endswith(".py") else first)
                break
    return tops


def _package_names(files: FrozenSet[str], paths: List[str]) -> FrozenSet[str]:
    """The dotted names of the project's packages (folders with ``__init__.py``)."""
    names = set()
    for f in files:
        if not f.endswith(sep + "__init__.py"):
            continue
        for base in paths:
            prefix = base.rstrip(sep) + sep
            if f.startswith(prefix):
                parts = f[len(prefix) :].split(sep)[:-1]
                if parts and all(p.isidentifier() for p in parts):
                    names.add(".".join(parts))
                break
    return frozenset(names)


def worker_only_modules(baseline: FrozenSet[str]) -> Tuple[str, ...]:
    """Modules a fresh ``python -c`` does not have and only the worker uses.

    ``baseline``: ``sys.modules`` once the worker was set up, before any warm
    import.  Of those, the worker's own package and the standard library it
    imported are dropped in a check child, unless a module of the warm imports
    refers to one (a fresh process importing that package would have it too, and
    it must stay one object for both), or a module kept that way does: ``pkgutil``
    keeps ``importlib``, which keeps ``importlib._bootstrap`` (dropped, the next
    ``import importlib.util`` would run ``_bootstrap.py`` from source over the
    frozen module, never set up).
    """
    fresh = FRESH_MODULES
    if not fresh:  # not started by the bootstrap (tests of the package itself)
        return ()
    used: Set[str] = set()
    todo = [name for name in list(_modules) if name not in baseline]
    while todo:
        module = _modules.get(todo.pop())
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
            if not isinstance(owner, str):
                continue
            parts = owner.split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name not in used:
                    used.add(name)
                    if name in baseline and name not in fresh:
                        todo.append(name)  # kept now: what it refers to is kept too
    own = {name for name in baseline if name.split(".")[0] == launch.PACKAGE}
    return tuple(sorted(own | {n for n in baseline if n not in fresh and n not in used}))


def _own_files() -> Tuple[str, ...]:
    own = [m for name, m in _modules.items() if name.startswith(launch.PACKAGE)]
    files = (getattr(m, "__file__", None) for m in own)
    return tuple(abspath(f) for f in files if isinstance(f, str))


def _tempdir() -> Optional[str]:
    try:
        return realpath(gettempdir())
    except Exception:
        return None


def _drain(fd: int) -> None:
    try:
        while read_available(fd):
            pass
    except (BlockingIOError, InterruptedError):
        pass


def _clean_main() -> None:
    """``__main__`` as a fresh ``python -c`` has it: nothing of the bootstrap."""
    main = _modules.get("__main__")
    keep = ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__annotations__",
            "__builtins__")  # fmt: skip
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
        worker_only_modules(frozenset(_modules)),
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
    use_fork = _fork is not None and not environ.get("HOTMOD_WORKER_NO_FORK")
    zygote = Zygote(in_fd, out_fd, use_fork)
    first = zygote.reader.read_one()
    if not isinstance(first, dict):
        return 0
    zygote.init(cast(InitRequest, first))
    zygote.serve()
    return 0
