"""Load statistics: what the performance summary and memory report are made of."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

from .results import ModuleResult

TOP_SLOWEST = 5
TOP_MEMORY = 10


@dataclass(frozen=True)
class ModuleTiming:
    module: str
    load_ms: float
    self_ms: float  # its own top-level code
    import_ms: float  # what ``python -c "import m"`` costs: packages and imports included


@dataclass(frozen=True)
class HistoryComparison:
    """One of the slowest modules now, against its recorded loads before."""

    module: str
    now_ms: float  # self time of the latest load
    median_ms: float | None  # median of the recent ok loads before it (None: too few)
    samples: int
    change_pct: float | None
    regression: bool  # what the load-regression diagnostic says


@dataclass(frozen=True)
class PerformanceSummary:
    total_scans: int
    average_scan_ms: float
    total_loads: int
    average_load_ms: float
    slowest: tuple[ModuleTiming, ...]  # top 5 by the latest load time, slowest first
    reload_counts: dict[str, int]
    slow_loads: tuple[ModuleTiming, ...]  # latest loads over the slow threshold
    slow_threshold_ms: float
    message: str
    history: tuple[HistoryComparison, ...] = ()  # the slowest now vs their history
    regressions: tuple[str, ...] = ()  # modules whose latest load is a load-regression


@dataclass(frozen=True)
class ModuleMemory:
    module: str
    bytes: int
    traced: bool  # tracemalloc bytes of the module's own file; else its import's RSS growth


@dataclass(frozen=True)
class MemoryReport:
    modules: tuple[ModuleMemory, ...]  # top 10, largest first
    total_bytes: int
    total_kb: float
    total_mb: float
    loaded_modules: int
    message: str
    worker_rss_bytes: int | None = None  # the zygote's resident memory (warm imports)
    worker_rss_mb: float | None = None


class LoadStats:
    """Thread-safe counters fed by every scan and check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scan_count = 0
        self._scan_ms = 0.0
        self._load_count = 0
        self._load_ms = 0.0
        self._checks: Counter[str] = Counter()
        self._latest: dict[str, ModuleResult] = {}

    def record_scan(self, ms: float) -> None:
        with self._lock:
            self._scan_count += 1
            self._scan_ms += ms

    def record(self, result: ModuleResult) -> None:
        with self._lock:
            self._load_count += 1
            self._load_ms += result.self_ms
            self._checks[result.name] += 1
            self._latest[result.name] = result

    def update(self, result: ModuleResult) -> None:
        """Replace the latest result of a module without counting a load."""
        with self._lock:
            if result.name in self._latest:
                self._latest[result.name] = result

    def forget(self, name: str) -> None:
        """A deleted module leaves the report (its history of counts stays)."""
        with self._lock:
            self._latest.pop(name, None)

    def reloads(self, name: str) -> int:
        """Checks after the first one: the first import is not a reload."""
        with self._lock:
            return max(self._checks.get(name, 0) - 1, 0)

    def performance_summary(self, slow_threshold_ms: float) -> PerformanceSummary:
        with self._lock:
            latest = list(self._latest.values())
            timings = sorted(
                (ModuleTiming(r.name, r.load_ms, r.self_ms, r.import_ms) for r in latest),
                key=lambda t: (-t.self_ms, t.module),
            )
            reloads = {name: max(n - 1, 0) for name, n in sorted(self._checks.items())}
            summary = PerformanceSummary(
                total_scans=self._scan_count,
                average_scan_ms=self._scan_ms / self._scan_count if self._scan_count else 0.0,
                total_loads=self._load_count,
                average_load_ms=self._load_ms / self._load_count if self._load_count else 0.0,
                slowest=tuple(timings[:TOP_SLOWEST]),
                reload_counts=reloads,
                slow_loads=tuple(t for t in timings if t.self_ms > slow_threshold_ms),
                slow_threshold_ms=slow_threshold_ms,
                message="",
            )
        if not latest:
            message = "No modules loaded yet."
        else:
            message = (
                f"{summary.total_loads} loads, average {summary.average_load_ms:.1f} ms; "
                f"{len(summary.slow_loads)} over {slow_threshold_ms:g} ms"
            )
        return _with_message(summary, message)

    def memory_report(self) -> MemoryReport:
        with self._lock:
            latest = list(self._latest.values())
        per_module = sorted(
            (ModuleMemory(r.name, r.memory.bytes, r.memory.traced) for r in latest),
            key=lambda m: (-m.bytes, m.module),
        )
        total = sum(m.bytes for m in per_module)
        return MemoryReport(
            modules=tuple(per_module[:TOP_MEMORY]),
            total_bytes=total,
            total_kb=round(total / 1024, 1),
            total_mb=round(total / (1024 * 1024), 2),
            loaded_modules=len(latest),
            message=(
                f"{len(latest)} modules hold {total / (1024 * 1024):.2f} MB after import"
                if latest
                else "No modules loaded yet."
            ),
        )


def _with_message(summary: PerformanceSummary, message: str) -> PerformanceSummary:
    from dataclasses import replace

    return replace(summary, message=message)
