"""Every message between the engine and the worker, declared once.

Transport: one JSON object per line on two dedicated pipes passed as file
descriptors (requests to the worker on one, events from it on the other);
the worker's stdout belongs to user code and is never parsed.

Both sides import this module: the worker as part of the package it was
bootstrapped from, the engine as ``hotmod.core.worker.protocol``.  The engine
validates every event against these declarations before using it
(``hotmod.core.untrusted``): what a check child reports is data from a process
that ran user code.
"""

from __future__ import annotations

from typing import Dict, List, Literal, Optional, Tuple, TypedDict

PROTOCOL_VERSION = 3

Outcome = Literal["ok", "error", "memory-limit", "timeout", "crash"]
SideEffectMode = Literal["warn", "block", "off"]


# -- engine -> worker ---------------------------------------------------------------


class InitRequest(TypedDict):
    """The first message: module dirs (put in front of ``sys.path``), the project's
    files, the workspace (reads and listings below it are noted: see Depends).
    The zygote then compiles the files and waits for a WarmRequest: its warm
    imports, before it is ready (the engine may still be reading the project)."""

    op: Literal["init"]
    paths: List[str]
    files: List[str]
    max_children: Optional[int]
    root: str


class FilesRequest(TypedDict):
    """The project's file list changed (after a rescan)."""

    op: Literal["files"]
    files: List[str]


class ChangedRequest(TypedDict):
    """These project files changed: what was imported from them is out of date
    (the stems that ran them, see stems.py).  Sent before the checks they cause."""

    op: Literal["changed"]
    files: List[str]


class WarmRequest(TypedDict):
    """Pre-import these (too); answered by a ``warmed`` event, or by ``ready``
    when it is the first, after InitRequest."""

    op: Literal["warm"]
    modules: List[str]


class CheckRequest(TypedDict):
    """Import one module in a fresh child."""

    op: Literal["check"]
    id: int
    module: str
    timeout_s: float
    memory_limit_mb: int
    output_limit: int
    trace_memory: bool
    side_effects: SideEffectMode
    profile: bool  # lines, imports and calls: see profiler.py
    exclusive: bool  # run alone: no other check starts while it runs


class CancelRequest(TypedDict):
    """Drop queued checks that have not started."""

    op: Literal["cancel"]
    ids: List[int]


class PingRequest(TypedDict):
    """Answered at once by a ``pong``: the engine's proof that the worker is alive."""

    op: Literal["ping"]
    seq: int


class ShutdownRequest(TypedDict):
    """Start no more checks; exit when running ones are done (EOF does the same)."""

    op: Literal["shutdown"]


# -- worker -> engine ---------------------------------------------------------------


class WarmInfo(TypedDict):
    ok: bool
    ms: float  # what the import cost, cold


class ReadyEvent(TypedDict):
    event: Literal["ready"]
    protocol: int
    pid: int
    python: str
    executable: str
    fork: bool
    warm: Dict[str, WarmInfo]
    rss_baseline: int  # RSS growth of importing an empty module, subtracted from results
    sys_path: List[str]  # where the interpreter finds packages: see the verdict cache


class WarmedEvent(TypedDict):
    event: Literal["warmed"]
    warm: Dict[str, WarmInfo]


class PongEvent(TypedDict):
    event: Literal["pong"]
    seq: int


class Frame(TypedDict, total=False):
    """A traceback frame; columns are UTF-8 byte offsets, as CPython gives them."""

    file: str
    line: int
    function: str
    col: Optional[int]
    end_line: Optional[int]
    end_col: Optional[int]


class SyntaxInfo(TypedDict, total=False):
    """Where a SyntaxError points (offsets as the exception has them: 1-based)."""

    file: Optional[str]
    line: Optional[int]
    offset: Optional[int]
    end_line: Optional[int]
    end_offset: Optional[int]
    text: Optional[str]
    msg: str


class ErrorInfo(TypedDict, total=False):
    """The exception an import raised, described without running the harness's
    attribute lookups through user code (see describe.py)."""

    type: str
    qualname: str
    message: str
    frames: List[Frame]  # outermost first; long tracebacks keep both ends
    frames_omitted: int  # frames left out of the middle of a long traceback
    frames_unreadable: str  # why no frames could be read, if so
    is_import_error: bool
    is_memory_error: bool
    is_syntax_error: bool
    is_system_exit: bool
    syntax: SyntaxInfo
    import_name: Optional[str]
    import_path: Optional[str]


class MemoryInfo(TypedDict, total=False):
    rss_delta: int  # growth of the checking process, net of the worker's baseline
    traced: bool
    traced_net: int  # with tracing: net traced bytes of the whole import
    per_file: Dict[str, int]  # with tracing: net bytes allocated by each project file


class ModuleTiming(TypedDict):
    """A project module executed during the check."""

    file: str
    cumulative_ms: float  # the module and the project modules it imported
    self_ms: float  # its own top-level code


class SideEffect(TypedDict, total=False):
    """Something a module did at import that the audit hook reports."""

    event: str
    kind: str  # "network", "process" or "file"
    what: str
    file: Optional[str]  # the innermost project file running then
    line: Optional[int]
    blocked: bool


class ExitInfo(TypedDict):
    code: Optional[int]
    signal: Optional[int]


class ProfileImport(TypedDict, total=False):
    """One module imported fresh during a profile (like ``-X importtime``)."""

    name: str
    file: Optional[str]
    project: bool
    importer: Optional[str]
    line: Optional[int]
    ms: float
    self_ms: float
    bytes: int
    error: Optional[str]
    children: List[ProfileImport]


class ProfileCall(TypedDict, total=False):
    """A node of a profile's call tree (imports are nodes too)."""

    name: str
    file: Optional[str]
    line: int
    kind: str  # "root", "import", "module" or "function"
    calls: int
    ms: float
    children: List[ProfileCall]


# line, hits, ms, self ms, traced bytes, self traced bytes
ProfileLine = Tuple[int, int, float, float, int, int]


class ProfileData(TypedDict, total=False):
    module: str
    file: Optional[str]
    total_ms: float
    memory_traced: bool
    lines: List[ProfileLine]
    imports: List[ProfileImport]
    calls: ProfileCall
    truncated: bool
    error: str  # profiling itself failed: the verdict still stands


class StemInfo(TypedDict):
    """Whether a stem (a child that imported a package and forks the checks of its
    other modules, see stems.py) left the process as a fresh one would be after the
    same import, so that forking from it is exact; and why not."""

    clean: bool
    why: str


class Depends(TypedDict, total=False):
    """What a verdict depends on besides the interpreter, its installed packages,
    the environment and hotmod's settings (the engine's verdict cache keys on it)."""

    sources: Dict[str, str]  # project file executed -> digest of its bytes
    missing: List[str]  # modules looked for and not found (one may appear)
    reads: List[str]  # other files read below the workspace
    listed: List[str]  # folders the module's code listed below the workspace


class _ChildReportBase(TypedDict):
    module: str
    outcome: Outcome


class ChildReport(_ChildReportBase, total=False):
    """What a check child writes into its result slot (see child.py and slot.py)."""

    error: ErrorInfo
    memory: MemoryInfo
    total_ms: float  # the import, as the child timed it
    modules: Dict[str, ModuleTiming]
    edges: List[Tuple[str, str]]  # importer -> imported, observed
    compiled: List[str]  # project files compiled from source (the zygote caches them)
    side_effects: List[SideEffect]
    profile: ProfileData
    phases: Dict[str, float]  # monotonic clock marks
    hard_exit: int  # the module called os._exit(n)
    partial: str  # the full report could not be written: why
    stem: StemInfo  # a stem's report only; the zygote does not pass it on
    depends: Depends


class CheckResult(ChildReport, total=False):
    """One check's result as the zygote sends it: the child's report (validated
    again by the engine) with what the zygote observed from outside."""

    exit: ExitInfo
    traceback_dump: str  # faulthandler's dump when the child died or hung
    output: str  # what the module printed (capped)
    output_bytes: int  # how much it printed in all
    wall_ms: float  # from the zygote handing over the request to the verdict
    pid: int
    harness: str  # why the verdict is incomplete, when hotmod knows (e.g. closed fds)
    # Imports this check did not repeat: it was forked from a stem that had
    # imported the module's packages already (stems.py); a fresh import costs
    # inherited_ms + total_ms.
    inherited_ms: float


class ResultEvent(TypedDict):
    event: Literal["result"]
    id: int
    result: CheckResult
