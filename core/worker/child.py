"""One check: import a module in a process that has never seen project code, and report.

The verdict must be what ``python -c "import m"`` says in a fresh process,
whatever the module does to the process it runs in.  So the report is built
from what the child secured *before* the import (see safe.py): functions bound
at start, builtins from a snapshot, a result slot in shared memory that no
file descriptor operation can close (slot.py), no audited operation after
the import (an audit hook of the module's may refuse them), tracing,
profiling hooks, GC callbacks and signal handlers of the module switched off
while the report is built, and the outcome written first, before any code of
the exception runs (``str(exc)``).
"""

from __future__ import annotations

import importlib.machinery
import sys
from faulthandler import (
    cancel_dump_traceback_later,
    dump_traceback,
    dump_traceback_later,
)
from faulthandler import enable as enable_faulthandler
from gc import disable as gc_disable
from importlib import import_module
from mmap import mmap
from os import O_RDONLY, _exit, close, getcwd, pread, write
from os import open as open_fd
from sys import getrecursionlimit, setprofile, setrecursionlimit, settrace
from time import monotonic, perf_counter
from tracemalloc import get_traced_memory, take_snapshot
from tracemalloc import start as start_tracing
from tracemalloc import stop as stop_tracing
from typing import Any, Callable, Dict, FrozenSet, List, NamedTuple, Optional, Set, Tuple

from . import audit as audit_mod
from . import profiler as profiler_mod
from .codecache import CodeCache
from .describe import classify, describe, message
from .protocol import CheckRequest, ChildReport, MemoryInfo, ModuleTiming
from .safe import private_builtins
from .wire import encode

private_builtins(globals())

try:
    from resource import RLIM_INFINITY, RLIMIT_AS, RUSAGE_SELF, getrusage, setrlimit

    HAVE_RLIMITS = True
except ImportError:  # pragma: no cover - Windows: no rlimits
    HAVE_RLIMITS = False

try:
    from os import PRIO_PROCESS, setpriority, sysconf

    _PAGE_SIZE = sysconf("SC_PAGE_SIZE")
    POSIX = True
except ImportError:  # pragma: no cover - Windows
    _PAGE_SIZE, POSIX = 4096, False

try:
    from signal import (
        SIG_BLOCK,
        SIGABRT,
        SIGBUS,
        SIGFPE,
        SIGILL,
        SIGSEGV,
        pthread_sigmask,
        valid_signals,
    )

    # Signals still delivered while the report is built: faults of hotmod's own.
    _BLOCKED: Any = set(valid_signals()) - {SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV}
except ImportError:  # pragma: no cover - Windows
    _BLOCKED = None

_PLATFORM = sys.platform
_SourceFileLoader = importlib.machinery.SourceFileLoader
_PathFinder = importlib.machinery.PathFinder
_path_importer_cache = sys.path_importer_cache
_meta_path = sys.meta_path
_modules = sys.modules
# Room for the report when the module used up its memory limit: released
# (unmapped) the moment the import ends.
_RESERVE_BYTES = 8 * 1024 * 1024


class Project(NamedTuple):
    """What a check needs to know of the project (the zygote's state, inherited)."""

    files: FrozenSet[str]
    paths: List[str]
    tempdir: Optional[str]  # writes below it are not side effects
    own_files: Tuple[str, ...]  # the worker's own source files
    forget: Tuple[str, ...]  # modules a check child drops: see zygote.worker_only_modules
    code: CodeCache
    watched: Tuple[str, ...] = ()  # the workspace: reads and listings below it are noted


class Recorder:
    """Times every project module executed during the check, and notes the exact
    source it ran (a digest, for the engine's verdict cache)."""

    def __init__(self) -> None:
        self.stack: List[List[Any]] = []  # [name, start, children's seconds]
        self.modules: Dict[str, ModuleTiming] = {}
        self.edges: List[Tuple[str, str]] = []
        self.compiled: List[str] = []  # project files compiled from source (not cached)
        self.sources: Dict[str, str] = {}  # file -> digest of the bytes executed
        self.missing: Set[str] = set()  # modules looked for on sys.path and not found


def _loader_class(recorder: Recorder, code_cache: CodeCache) -> type:
    class FreshSourceLoader(_SourceFileLoader):
        """Runs the code of the source as it is on disk now.

        A ``.pyc`` is validated by the source's mtime in whole seconds and its
        size, so two saves within one second can leave stale bytecode that a
        cached import would happily run.  The source is read every time and
        compiled unless the zygote compiled these very bytes (codecache.py).
        """

        def get_code(self, fullname: str) -> Any:
            path = self.get_filename(fullname)
            source = self.get_data(path)
            code, recorder.sources[path] = code_cache.lookup(path, source)
            if code is not None:
                return code
            recorder.compiled.append(path)
            return self.source_to_code(source, path)

        def exec_module(self, module: Any) -> None:
            name = module.__name__
            if recorder.stack:
                recorder.edges.append((recorder.stack[-1][0], name))
            frame = [name, perf_counter(), 0.0]
            recorder.stack.append(frame)
            try:
                _SourceFileLoader.exec_module(self, module)
            finally:
                recorder.stack.pop()
                elapsed = perf_counter() - frame[1]
                if recorder.stack:
                    recorder.stack[-1][2] += elapsed
                recorder.modules[name] = {
                    "file": self.path,
                    "cumulative_ms": elapsed * 1000.0,
                    "self_ms": (elapsed - frame[2]) * 1000.0,
                }

    return FreshSourceLoader


class ProjectFinder:
    """Routes project files through FreshSourceLoader; everything else is untouched."""

    def __init__(self, project_files: FrozenSet[str], loader_class: Any, recorder: Recorder):
        self.project_files = project_files
        self.loader_class = loader_class
        self.recorder = recorder

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        spec = _PathFinder.find_spec(fullname, path, target)
        if spec is None:
            if len(self.recorder.missing) < 500:
                self.recorder.missing.add(fullname)
            return spec
        if spec.origin is None:
            return spec
        if spec.origin in self.project_files and isinstance(spec.loader, _SourceFileLoader):
            spec.loader = self.loader_class(fullname, spec.origin)
        return spec

    def invalidate_caches(self) -> None:
        _PathFinder.invalidate_caches()


class Prepared:
    """A check child's set-up that does not depend on the request.

    A spare child does it while it waits, so that a check starts importing
    the moment its request arrives.
    """

    def __init__(self, project: Project, slot: Any, diag_fd: int) -> None:
        self.slot = slot
        self.diag_fd = diag_fd
        self.module = ""  # the module under check, once the request is known
        enable_faulthandler(file=diag_fd, all_threads=True)
        self.real_exit = _guard_hard_exit(self)
        self.recorder = Recorder()
        self.finder = ProjectFinder(
            project.files, _loader_class(self.recorder, project.code), self.recorder
        )
        _meta_path.insert(_path_finder_index(), self.finder)
        # A stem's limit must be lifted again after its import (stems.py): only
        # the soft one is set, which a process can raise without privileges.
        self.soft_memory_limit = False
        sys.dont_write_bytecode = True
        # Marks the project dirs' listings stale; they are re-read at the first
        # lookup, which is during the check's import, so a spare waiting for
        # minutes still sees files created meanwhile.
        _invalidate_project_finders(project.paths)
        try:
            self.statm: Optional[int] = open_fd("/proc/self/statm", O_RDONLY)
        except OSError:
            self.statm = None
        try:
            self.reserve: Optional[mmap] = mmap(-1, _RESERVE_BYTES)
        except (OSError, ValueError):
            self.reserve = None
        self.address_space = _statm_bytes(self.statm, 0)

    def commit(self, report: ChildReport, full: bool) -> bool:
        try:
            return bool(self.slot.commit(encode(report).encode("utf-8"), full))
        except BaseException:
            return False


def _guard_hard_exit(prepared: Prepared) -> Callable[[int], Any]:
    """Record ``os._exit``: the process vanishes without a traceback."""
    real_exit = _exit

    def hard_exit(status: int) -> None:
        try:
            write(prepared.diag_fd, b"Hard exit (os._exit(%d))\n" % _int_or(status, 1))
            dump_traceback(file=prepared.diag_fd, all_threads=False)
        except BaseException:
            pass
        prepared.commit(
            {"module": prepared.module, "outcome": "crash", "hard_exit": _int_or(status, 1)},
            full=True,
        )
        real_exit(status)

    import os as _os

    setattr(_os, "_exit", hard_exit)  # noqa: B010 - os._exit's type says it never returns
    return real_exit


def _int_or(value: Any, default: int) -> int:
    return value if type(value) is int else default


def run_check(
    request: CheckRequest,
    project: Project,
    prepared: Prepared,
    wake_fd: Optional[int],
    phases: Dict[str, float],
) -> None:
    """Import ``request["module"]``, report into the slot, and exit.  Never returns."""
    import_and_report(request, project, prepared, phases)
    # Tearing down a process as large as a warm zygote takes milliseconds; at
    # full priority it keeps the CPU from the zygote that the close below
    # wakes (measured on 2 cores: +2 ms per check; nice 19 is 3 ms faster per
    # save than nice 5, as the verdict still has the server and editor to reach).
    if POSIX:
        try:
            setpriority(PRIO_PROCESS, 0, 19)
        except (OSError, ValueError):
            pass
    if wake_fd is not None:
        try:
            close(wake_fd)  # EOF tells the zygote the report is complete
        except OSError:
            pass
    # Skip interpreter shutdown: atexit handlers and non-daemon threads of user
    # code must not keep the child (or its verdict) hostage.
    prepared.real_exit(0)


def import_and_report(
    request: CheckRequest,
    project: Project,
    prepared: Prepared,
    phases: Dict[str, float],
    observe: Optional[Tuple[Callable[[], object], Callable[[], ChildReport]]] = None,
) -> ChildReport:
    """Import ``request["module"]`` and commit its report to the slot.

    ``observe``: two functions, run the moment before the import starts (the
    harness set up) and the moment it ends (before the harness changes the
    process again); the fields the second returns join the report.
    """
    module = request["module"]
    prepared.module = module
    phases["setup"] = monotonic()
    timeout = float(request.get("timeout_s") or 0)
    if timeout > 0:
        dump_traceback_later(timeout, exit=True, file=prepared.diag_fd)
    _limit_memory(
        request.get("memory_limit_mb"), prepared.address_space, prepared.soft_memory_limit
    )
    trace = bool(request.get("trace_memory"))
    if trace:
        start_tracing()
    cwd = getcwd()
    recursion_limit = getrecursionlimit()
    streams = (sys.stdout, sys.stderr)
    rss0 = _rss_bytes(prepared.statm)
    side_effects = audit_mod.start(
        str(request.get("side_effects") or "warn"),
        project.files,
        prepared.diag_fd,
        project.tempdir,
        project.own_files,
        project.watched,
    )
    profiler = (
        profiler_mod.start(module, project.files, project.own_files)
        if request.get("profile")
        else None
    )
    _forget(project.forget)
    if observe is not None:
        observe[0]()
    phases["import"] = monotonic()
    start = perf_counter()
    failure: Optional[BaseException] = None
    try:
        import_module(module)
    except BaseException as exc:  # the verdict covers SystemExit and KeyboardInterrupt too
        failure = exc
    elapsed = perf_counter() - start
    # -- from here on, the module's code has run: see the module doc -------------
    observed: ChildReport = {"module": module, "outcome": "ok"}
    if observe is not None:
        try:
            observed = observe[1]()
        except BaseException:
            pass
    _quiet_the_process(recursion_limit)
    side_effects.active = False
    if prepared.reserve is not None:
        prepared.reserve.close()
    report: ChildReport = {"module": module, "outcome": "ok"}
    if failure is not None:
        report["error"] = info = classify(failure)
        report["outcome"] = "memory-limit" if info.get("is_memory_error") else "error"
        prepared.commit(report, full=False)  # the verdict, before the exception's code runs
        info["message"] = message(failure)
        prepared.commit(report, full=False)
        describe(failure, info, cwd)
    else:
        prepared.commit(report, full=False)
    failure = None
    profile = profiler_mod.finish(profiler)
    if profile is not None:
        report["profile"] = profile
    if side_effects.mode != "off":
        report["side_effects"] = side_effects.events
    report["depends"] = {
        "sources": prepared.recorder.sources,
        "missing": sorted(prepared.recorder.missing),
        "reads": sorted(side_effects.reads),
        "listed": sorted(side_effects.listed),
    }
    phases["report"] = monotonic()
    report["memory"] = _memory(prepared.statm, rss0, trace, project.files)
    report["total_ms"] = elapsed * 1000.0
    report["modules"] = prepared.recorder.modules
    report["edges"] = prepared.recorder.edges
    report["compiled"] = prepared.recorder.compiled
    if "stem" in observed:
        report["stem"] = observed["stem"]
    phases["write"] = monotonic()
    report["phases"] = phases
    if not prepared.commit(report, full=True):
        small: ChildReport = {
            "module": module,
            "outcome": report["outcome"],
            "partial": "the report was too large to send",
        }
        if "error" in report:
            small["error"] = report["error"]
        prepared.commit(small, full=True)
    cancel_dump_traceback_later()
    for stream in streams:  # the interpreter's own streams: the module may have replaced them
        try:
            stream.flush()
        except BaseException:
            pass
    return report


def _quiet_the_process(recursion_limit: int) -> None:
    """Switch off what the module may have left running in this thread: tracing and
    profiling hooks, the cyclic GC (its callbacks), signal handlers (blocked), and a
    recursion limit set too low for the report to be built."""
    steps: List[Callable[[], object]] = [
        lambda: settrace(None),
        lambda: setprofile(None),
        lambda: setrecursionlimit(max(recursion_limit, 1000)),
        gc_disable,
        lambda: pthread_sigmask(SIG_BLOCK, _BLOCKED) if _BLOCKED is not None else None,
    ]
    for step in steps:
        try:
            step()
        except BaseException:
            pass


def _forget(names: Tuple[str, ...]) -> None:
    """Take the modules only the worker imported out of ``sys.modules``: a fresh
    process has none of them (a module importing ``json`` runs it, as it would
    there), and a module under check cannot reach the harness through them."""
    for name in names:
        _modules.pop(name, None)


def _memory(
    statm: Optional[int], rss0: int, trace: bool, project_files: FrozenSet[str]
) -> MemoryInfo:
    try:
        memory: MemoryInfo = {"rss_delta": max(0, _rss_bytes(statm) - rss0), "traced": trace}
        if trace:
            memory.update(_traced_memory(project_files))
        return memory
    except BaseException:  # e.g. MemoryError: the figures are the least of it
        return {"rss_delta": 0, "traced": False}


def _traced_memory(project_files: FrozenSet[str]) -> MemoryInfo:
    """Net bytes still allocated, in total and per project file that allocated them."""
    traced = get_traced_memory()[0]
    snapshot = take_snapshot()
    stop_tracing()
    per_file = {}
    for stat in snapshot.statistics("filename"):
        fname = stat.traceback[0].filename
        if fname in project_files:
            per_file[fname] = stat.size
    return {"traced_net": traced, "per_file": per_file}


def _statm_bytes(fd: Optional[int], field: int) -> Optional[int]:
    """A size from /proc/self/statm (0: address space, 1: resident), read with
    ``pread`` on a descriptor opened before the import (``open`` is audited)."""
    if fd is None:
        return None
    try:
        return int(pread(fd, 256, 0).split()[field]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _rss_bytes(statm: Optional[int]) -> int:
    rss = _statm_bytes(statm, 1)
    if rss is not None:
        return rss
    try:
        scale = 1 if _PLATFORM == "darwin" else 1024
        return int(getrusage(RUSAGE_SELF).ru_maxrss) * scale if HAVE_RLIMITS else 0
    except Exception:
        return 0


def _limit_memory(limit_mb: Any, address_space: Optional[int], soft_only: bool) -> None:
    # The limit counts address space the warm child already has; without
    # knowing it, an absolute limit would fail every check.
    if not limit_mb or address_space is None or not HAVE_RLIMITS:
        return
    limit = address_space + int(limit_mb) * 1024 * 1024
    try:
        setrlimit(RLIMIT_AS, (limit, RLIM_INFINITY if soft_only else limit))
    except (ValueError, OSError):
        pass


def release_memory_limit() -> None:
    """A stem's soft limit, lifted before it forks checks that set their own."""
    if HAVE_RLIMITS:
        try:
            setrlimit(RLIMIT_AS, (RLIM_INFINITY, RLIM_INFINITY))
        except (ValueError, OSError):
            pass


def _invalidate_project_finders(paths: List[str]) -> None:
    """Forget cached directory listings of project dirs, which may have new files.

    FileFinder notices a changed directory only by its mtime, which can tie
    within a clock tick; third-party dirs do not change under us, and
    ``importlib.invalidate_caches()`` over all of them costs milliseconds.
    """
    prefixes = tuple(p.rstrip("/") for p in paths)
    for entry, finder in list(_path_importer_cache.items()):
        if finder is not None and entry.startswith(prefixes):
            invalidate = getattr(finder, "invalidate_caches", None)
            if invalidate is not None:
                invalidate()


def _path_finder_index() -> int:
    for i, finder in enumerate(_meta_path):
        if finder is _PathFinder:
            return i
    return len(_meta_path)
