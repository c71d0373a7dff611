"""Stems: one fresh import of a package, shared by the checks of its modules.

Python imports a module's parent packages before the module itself, so
``python -c "import a.b.c"`` runs ``a``, then ``a.b``, then ``a.b.c``.  Two
facts follow, and hotmod uses nothing else:

1. A process that has freshly imported ``a`` (from the warm zygote) is in the
   state a fresh ``import a.b.c`` reaches just before ``a.b``'s code runs.  A
   check forked from it runs exactly what the fresh import still has to run.
2. If ``import a`` fails, the fresh import of every module under ``a`` fails
   with it, the same way; if it succeeds, a module it loaded has nothing left
   to run in its own fresh import: its verdict is that of the same run.

A *stem* is a child of the zygote that imports a package ``a`` under the check
harness like any check, reports, and, when the import left the process as a
fresh one would be (no thread, trace function, signal handler, timer, open
file or child process of its own: ``process_state``), stays to serve as a
zygote for the checks of ``a``'s other modules: those run forked from it
(and may start stems of their own for ``a.b``).  Otherwise it exits and those
checks run forked from the zygote as before, re-running ``a`` each.

A stem lives while checks keep coming, and is dropped when any file its import
executed changes, when the file list or the warm imports change, or after
being idle for ``STEM_IDLE_S``.  The proof and its limits: docs/architecture.md.
"""

from __future__ import annotations

import sys
from _thread import _count as thread_count
from gc import callbacks as gc_callbacks
from gc import enable as gc_enable
from gc import freeze as gc_freeze
from gc import isenabled as gc_isenabled
from os import close, getcwd, listdir, stat
from sys import addaudithook, getprofile, getrecursionlimit, gettrace
from time import monotonic
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Optional, Set, Tuple

from .child import Prepared, import_and_report, release_memory_limit
from .children import Running
from .procs import close_quietly
from .protocol import CheckRequest, ChildReport, StemInfo
from .safe import private_builtins
from .wire import LineReader, encode, write_all

if TYPE_CHECKING:
    from .zygote import Zygote

private_builtins(globals())

try:
    from signal import (
        ITIMER_PROF,
        ITIMER_REAL,
        ITIMER_VIRTUAL,
        SIG_BLOCK,
        SIG_SETMASK,
        getitimer,
        getsignal,
        pthread_sigmask,
        valid_signals,
    )

    POSIX = True
except ImportError:  # pragma: no cover - Windows: no fork, no stems
    POSIX = False

# A stem nothing was asked of for this long goes (its memory, and its files may change).
STEM_IDLE_S = 2.0
# Start a stem when the imports it saves are worth at least this much...
STEM_MIN_SAVING_MS = 20.0
# ...or, when the package's cost is not known yet, for this many checks at once.
STEM_UNKNOWN_MIN = 8
# What a stem's import may do that makes forking from it differ from a fresh process.
_WATCHED_EVENTS = {
    "sys.addaudithook": "installs an audit hook",
    "os.fork": "forks a process",
    "os.forkpty": "forks a process",
    "os.posix_spawn": "starts a process",
    "os.spawn": "starts a process",
    "os.system": "starts a process",
    "os.exec": "starts a process",
    "subprocess.Popen": "starts a process",
    "sys.settrace": "sets a trace function",
    "sys.setprofile": "sets a profile function",
}


class Stem:
    """The zygote's side of a stem: what it answers, what it was asked."""

    def __init__(self, package: str, running: Running, request_w: int, events_r: int) -> None:
        self.package = package
        self.running = running  # its import, watched like a check's
        self.request_w: Optional[int] = request_w  # checks for it to fork
        self.events_r: Optional[int] = events_r  # their results
        self.events = LineReader(events_r)
        self.waiting: List[CheckRequest] = []  # answered from its report
        self.outstanding: Dict[int, CheckRequest] = {}  # forwarded, no result yet
        self.report: Optional[Dict[str, Any]] = None
        self.loaded: FrozenSet[str] = frozenset()  # project modules its import ran
        self.files: FrozenSet[str] = frozenset()  # their files: a change to one ends the stem
        self.serving = False
        self.stale = False  # a file it ran changed: it takes no more checks
        self.idle_since = monotonic()
        self.stamps: Dict[str, Tuple[int, int]] = {}  # its files when its import ran them

    @property
    def importing(self) -> bool:
        return self.report is None and not self.stale

    @property
    def usable(self) -> bool:
        return not self.stale and (self.importing or self.serving)

    def reported(self, report: Dict[str, Any]) -> None:
        self.report = report
        modules = report.get("modules")
        if isinstance(modules, dict):
            self.loaded = frozenset(str(name) for name in modules)
            self.files = frozenset(
                str(t.get("file")) for t in modules.values() if isinstance(t, dict)
            )
        stem = report.get("stem")
        clean = isinstance(stem, dict) and stem.get("clean") is True
        self.serving = report.get("outcome") == "ok" and clean and not self.stale
        if self.serving:
            self.stamps = {path: _stamp(path) for path in self.files}

    def current(self) -> bool:
        """Whether the files its import ran are as they were.  Looked at when a new
        batch of checks starts (none outstanding); the engine also says which files
        changed, before the checks a change causes."""
        starting = self.serving and not self.outstanding
        if starting and any(_stamp(path) != stamp for path, stamp in self.stamps.items()):
            self.end()
        return self.usable

    def forward(self, request: CheckRequest) -> bool:
        """Ask the stem to check ``request``; False if it is gone."""
        if not self.send(request):
            return False
        self.outstanding[request["id"]] = request
        return True

    def send(self, message: object) -> bool:
        if self.request_w is None:
            return False
        try:
            write_all(self.request_w, (encode(message) + "\n").encode("utf-8"))
        except OSError:
            self.end()
            return False
        return True

    def end(self) -> None:
        """No more checks: EOF on its request pipe, and it exits once its children have."""
        self.serving = False
        self.stale = True
        close_quietly(self.request_w)
        self.request_w = None

    def close(self) -> None:
        self.end()
        close_quietly(self.events_r)
        self.events_r = None


# -- in the stem process ------------------------------------------------------------------


class _Watch:
    """An audit hook noting what would make forking from this process inexact."""

    def __init__(self) -> None:
        self.active = False
        self.seen: Set[str] = set()

    def __call__(self, event: str, args: Tuple[Any, ...]) -> None:
        if self.active and event in _WATCHED_EVENTS:
            self.seen.add(_WATCHED_EVENTS[event])


def process_state() -> Dict[str, Any]:
    """What a fresh import must leave as it was for forking from its process to be exact."""
    state: Dict[str, Any] = {
        "threads": thread_count(),
        "trace": gettrace(),
        "profile": getprofile(),
        "gc": (gc_isenabled(), len(gc_callbacks)),
        "recursion limit": getrecursionlimit(),
        "working directory": getcwd(),
    }
    if POSIX:
        state["signal handlers"] = tuple(getsignal(s) for s in sorted(valid_signals()))
        state["signal mask"] = sorted(pthread_sigmask(SIG_BLOCK, []))
        state["timers"] = tuple(getitimer(t) for t in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF))
        state["open files"] = sorted(listdir("/proc/self/fd"))
    return state


def _unclean(before: Dict[str, Any], after: Dict[str, Any], watch: _Watch) -> str:
    changed = sorted(key for key in before if before[key] != after.get(key))
    reasons = sorted(watch.seen) + ["changes the %s" % key for key in changed]
    return "; ".join(reasons)


def run(
    zygote: Zygote,
    request: CheckRequest,
    prepared: Prepared,
    wake_w: int,
    phases: Dict[str, float],
    request_r: int,
    events_w: int,
) -> None:  # pragma: no cover - runs in the stem process
    """Import the package, report; then serve its modules' checks, or exit.  Never returns."""
    watch = _Watch()
    addaudithook(watch)
    prepared.soft_memory_limit = True  # lifted again below, to serve checks
    mask = sorted(pthread_sigmask(SIG_BLOCK, [])) if POSIX else []
    before: Dict[str, Any] = {}

    def start() -> None:  # the harness is set up: what the import finds
        before.update(process_state())
        watch.active = True

    def observe() -> ChildReport:
        watch.active = False
        try:
            why = _unclean(before, process_state(), watch)
        except BaseException:
            why = "its state cannot be compared with a fresh process's"
        if prepared.finder not in zygote_meta_path():
            why = (why + "; " if why else "") + "removes hotmod's module finder"
        stem: StemInfo = {"clean": not why, "why": why}
        return {"module": request["module"], "outcome": "ok", "stem": stem}

    report = import_and_report(request, zygote.project, prepared, phases, (start, observe))
    stem_info = report.get("stem")
    clean = report["outcome"] == "ok" and stem_info is not None and stem_info["clean"]
    close(wake_w)  # the zygote reads the report now
    if not clean:
        prepared.real_exit(0)
    # Back to the state the import left (the harness switched things off to
    # report), for the checks forked from here.
    release_memory_limit()
    zygote_meta_path().remove(prepared.finder)
    if POSIX:
        pthread_sigmask(SIG_SETMASK, mask)
    gc_enable()
    gc_freeze()  # children must not copy these pages (see the zygote's warm())
    ran = report.get("modules", {})
    zygote.become_stem(
        request_r,
        events_w,
        loaded=frozenset(ran) | zygote.loaded,
        inherited_ms=zygote.inherited_ms + report.get("total_ms", 0.0),
        depends=report.get("depends", {}),
    )
    zygote.serve()
    prepared.real_exit(0)


def _stamp(path: str) -> Tuple[int, int]:
    try:
        st = stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def zygote_meta_path() -> List[Any]:
    """The import system's list of finders now (a module may have replaced the list)."""
    return sys.meta_path
