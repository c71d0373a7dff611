"""Results of checks: frozen values passed from the engine to its callers.

Lines and columns are 0-based here, as in LSP; the CLI's JSON output adds 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


class Code(StrEnum):
    SYNTAX_ERROR = "syntax-error"
    IMPORT_ERROR = "import-error"
    EXCEPTION = "exception"
    DEPENDENCY_ERROR = "dependency-error"
    TIMEOUT = "timeout"
    CRASH = "crash"
    MEMORY_LIMIT = "memory-limit"
    SLOW_LOAD = "slow-load"
    LOAD_REGRESSION = "load-regression"
    SIDE_EFFECT = "side-effect"
    KEYWORD_NAME = "keyword-name"


@dataclass(frozen=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Related:
    path: Path
    span: Span
    message: str


@dataclass(frozen=True)
class Frame:
    """A traceback frame in a workspace file."""

    path: Path
    line: int  # 0-based
    function: str


@dataclass(frozen=True)
class Diagnostic:
    path: Path
    span: Span
    code: Code
    severity: Severity
    message: str
    related: tuple[Related, ...] = ()
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True)
class Memory:
    """What an import cost in memory.

    ``rss_delta_bytes`` is measured on every check; the tracemalloc figures
    only when the check traced memory (``traced``), which is ~10x slower.
    """

    rss_delta_bytes: int  # growth of the checking process: the import and its fresh deps
    traced: bool = False
    traced_bytes: int = 0  # allocated by the module's own file and still held
    traced_total_bytes: int = 0  # net traced bytes of the whole import

    @property
    def bytes(self) -> int:
        """The best figure available: the module's own traced bytes, else the RSS growth."""
        return self.traced_bytes if self.traced else self.rss_delta_bytes


@dataclass(frozen=True)
class ModuleResult:
    name: str
    path: Path
    ok: bool
    load_ms: float  # cumulative: the module and every project module it imported fresh
    self_ms: float  # the module's own top-level code
    memory: Memory
    diagnostics: tuple[Diagnostic, ...] = ()
    output: str = ""
    output_truncated: bool = False
    imported: tuple[str, ...] = ()  # project modules executed during this check
    worker_pid: int | None = None
    # What ``python -c "import m"`` costs: its parent packages' imports too, which
    # load_ms leaves out (as ``-X importtime``'s cumulative column of m does).
    import_ms: float = 0.0
    cached: bool = False  # from the verdict cache, not re-verified yet (verdict_cache.py)
    # The digest of the module's file as this check executed it ("" if it did not
    # run it): what live reload may apply (hotmod.live checks it before applying).
    digest: str = ""

    @property
    def status(self) -> str:
        return "ok" if self.ok else "error"


@dataclass(frozen=True)
class CheckReport:
    python: str
    results: tuple[ModuleResult, ...]
    duration_ms: float
    removed: tuple[str, ...] = ()  # modules that no longer exist (diagnostics to clear)
    cancelled: bool = False  # superseded before every module was checked
    skipped: tuple[str, ...] = ()  # the modules a cancelled check did not get to

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[ModuleResult, ...]:
        return tuple(r for r in self.results if not r.ok)


@dataclass(frozen=True)
class ReloadOutcome:
    """A module re-checked on request, and the dependents checked with it."""

    module: str
    result: ModuleResult | None  # None: the check was cancelled before it got there
    dependents: tuple[ModuleResult, ...] = field(default=())

    @classmethod
    def of(cls, module: str, report: CheckReport | None) -> ReloadOutcome:
        results = report.results if report is not None else ()
        own = next((r for r in results if r.name == module), None)
        return cls(module, own, tuple(r for r in results if r.name != module))


@dataclass(frozen=True)
class RefreshOutcome:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    report: CheckReport
