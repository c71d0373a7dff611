"""hotmod's engine: fresh-import checks of a workspace's modules, no LSP dependency."""

__version__ = "0.1.0"  # first: modules below read it

from .config import Config, ConfigError, load_config
from .engine import Engine, EngineStatus, ScanDelta
from .results import (
    CheckReport,
    Code,
    Diagnostic,
    Memory,
    ModuleResult,
    RefreshOutcome,
    Related,
    ReloadOutcome,
    Severity,
    Span,
)
from .stats import MemoryReport, PerformanceSummary
from .worker_client import WorkerError

__all__ = [
    "CheckReport",
    "Code",
    "Config",
    "ConfigError",
    "Diagnostic",
    "Engine",
    "EngineStatus",
    "Memory",
    "MemoryReport",
    "ModuleResult",
    "PerformanceSummary",
    "RefreshOutcome",
    "Related",
    "ReloadOutcome",
    "ScanDelta",
    "Severity",
    "Span",
    "WorkerError",
    "__version__",
    "load_config",
]
