"""The engine: one workspace's modules, import graph, worker and results."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .cachedir import workspace_cache_dir
from .config import Config, load_config
from .diagnose import SourceLines, build_result, internal_error_result
from .discovery import ModuleInfo, discover
from .filestamp import FileStamp, file_stamp
from .graph import ImportGraph
from .history import History, HistoryPoint, Trend, regression_diagnostic
from .imports import ParsedModule, changed_names, external_top_levels, parse_imports
from .parse_cache import ParseCache
from .profile import ModuleProfile, ProfileUnavailable, build_profile
from .profile_report import write_report
from .results import CheckReport, ModuleResult, RefreshOutcome
from .stats import HistoryComparison, LoadStats, MemoryReport, PerformanceSummary
from .verdict_cache import VerdictCache, environment_key
from .worker.protocol import CheckResult
from .worker_client import Worker, WorkerDied

log = logging.getLogger(__name__)

# A profiled import runs under a tracer, several times slower than a check.
PROFILE_TIMEOUT_FACTOR = 4.0


@dataclass(frozen=True)
class ScanDelta:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


@dataclass(frozen=True)
class EngineStatus:
    root: Path
    python: str
    python_version: str | None
    module_count: int
    broken_count: int
    worker_pid: int | None
    dev_mode: bool
    last_check_ms: float | None
    last_check_at: float | None


class Engine:
    """Checks a workspace's modules with fresh-import verdicts.

    Thread-safe: the language server calls it from worker threads.  Nothing
    runs workspace code until the first check.
    """

    def __init__(
        self,
        root: Path | str,
        overrides: Mapping[str, Any] | None = None,
        config_file: Path | str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._overrides = dict(overrides or {})
        self._config_file = config_file
        self._environ = environ
        self.config: Config = load_config(root, self._overrides, config_file, environ)
        self._lock = threading.RLock()
        self._modules: dict[str, ModuleInfo] = {}
        self._by_file: dict[str, ModuleInfo] = {}
        self._parsed: dict[str, tuple[FileStamp, ParsedModule]] = {}
        # Parses kept between sessions, by content; each file's key (parse_cache.py).
        self._parse_cache = ParseCache(self.config.root)
        self._parse_keys: dict[str, str] = {}
        # A module's top-level names its last change bound differently or removed.
        self._changed_names: dict[str, frozenset[str]] = {}
        self._graph = ImportGraph()
        self._stats = LoadStats()
        self._results: dict[str, ModuleResult] = {}
        self._worker: Worker | None = None
        self._scanned = False
        self._last_check: tuple[float, float] | None = None
        self._history: History | None = None
        self._verdicts: VerdictCache | None = None
        self._environment: tuple[Worker, str] | None = None  # the verdicts' key, per worker
        # Problems worth telling the user that are not about a module (e.g. an
        # unreadable history database); called from any thread.
        self.on_warning: Callable[[str], None] | None = None

    # -- configuration ------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def dev_mode(self) -> bool:
        return self.config.dev_mode

    def set_dev_mode(self, enabled: bool) -> bool:
        with self._lock:
            self.config = replace(self.config, dev_mode=bool(enabled))
            self._overrides["dev_mode"] = bool(enabled)
            return self.config.dev_mode

    def reconfigure(self, overrides: Mapping[str, Any] | None = None) -> None:
        """Replace the caller's settings and re-read ``[tool.hotmod]``.

        Raises ConfigError and keeps the old configuration on bad input.
        """
        new_overrides = dict(self._overrides if overrides is None else overrides)
        config = load_config(self.config.root, new_overrides, self._config_file, self._environ)
        with self._lock:
            old = self.config
            self.config, self._overrides = config, new_overrides
            if (old.python, old.module_dirs, dict(old.env), old.exclude) != (
                config.python,
                config.module_dirs,
                dict(config.env),
                config.exclude,
            ):
                self._stop_worker()
                self._scanned = False

    # -- discovery ------------------------------------------------------------
    @property
    def modules(self) -> Mapping[str, ModuleInfo]:
        with self._lock:
            self._ensure_scanned()
            return dict(self._modules)

    def scan(self, *, launch: bool = False) -> ScanDelta:
        """Rediscover modules and re-parse changed files.

        ``launch``: start the worker (if not running) as soon as the files are
        known, so that it starts and compiles them while this parses them.
        """
        start = time.perf_counter()
        with self._lock:
            before = dict(self._modules)
            modules = discover(self.config)
            if launch and self._worker is None:
                self._worker = self._new_worker({str(m.path): m for m in modules.values()}, None)
                self._worker.launch()
            parsed: dict[str, ParsedModule] = {}
            changed: list[str] = []
            cache: dict[str, tuple[FileStamp, ParsedModule]] = {}
            keys = dict(self._parse_keys)
            parsed_now = 0
            for name, info in modules.items():
                key = str(info.path)
                stamp = file_stamp(info.path)
                cached = self._parsed.get(key)
                if cached is not None and cached[0] == stamp:
                    parsed[name] = cached[1]
                else:
                    try:
                        source = info.path.read_bytes()
                    except OSError:
                        source = b""
                    keys[key] = self._parse_cache.key(info, source)
                    stored = self._parse_cache.get(keys[key])
                    if stored is None:
                        stored = parse_imports(info, source)
                        parsed_now += 1
                    parsed[name] = stored
                    if name in before:
                        changed.append(name)
                        self._changed_names[name] = changed_names(
                            cached[1] if cached else None, parsed[name]
                        )
                        self._graph.forget_observed(name)
                cache[key] = (stamp, parsed[name])
            self._parsed = cache
            self._parse_keys = {path: keys[path] for path in cache if path in keys}
            to_keep = (
                {self._parse_keys[p]: entry[1] for p, entry in cache.items() if p in keys}
                if parsed_now
                else None
            )
            self._modules = modules
            self._by_file = {str(m.path): m for m in modules.values()}
            self._graph.set_static(parsed, modules)
            removed = sorted(set(before) - set(modules))
            for name in removed:
                self._results.pop(name, None)
                self._stats.forget(name)
            self._scanned = True
            if self._worker is not None:
                self._worker.changed(str(modules[name].path) for name in changed)
                self._worker.update(self._by_file, self._warm_list())
        if to_keep is not None:  # written outside the lock: checks need not wait for it
            self._parse_cache.save(to_keep)
        self._stats.record_scan((time.perf_counter() - start) * 1000.0)
        return ScanDelta(
            added=tuple(sorted(set(modules) - set(before))),
            removed=tuple(removed),
            changed=tuple(sorted(changed)),
        )

    def _ensure_scanned(self) -> None:
        if not self._scanned:
            self.scan()

    def _warm_list(self) -> set[str]:
        """Third-party modules the project imports at top level: the worker keeps them warm."""
        return external_top_levels((p for _, p in self._parsed.values()), self._modules)

    def module_for_path(self, path: Path | str) -> ModuleInfo | None:
        with self._lock:
            self._ensure_scanned()
            found = self._by_file.get(os.path.abspath(path))
            if found is None:
                real = os.path.realpath(path)
                found = next(
                    (m for f, m in self._by_file.items() if os.path.realpath(f) == real), None
                )
            return found

    def dependents(self, names: Iterable[str]) -> set[str]:
        with self._lock:
            self._ensure_scanned()
            return self._graph.dependents(names)

    def imports_of(self, name: str) -> frozenset[str]:
        with self._lock:
            self._ensure_scanned()
            return self._graph.imports_of(name)

    def parsed(self, name: str) -> ParsedModule | None:
        with self._lock:
            info = self._modules.get(name)
            cached = self._parsed.get(str(info.path)) if info else None
            return cached[1] if cached else None

    # -- checking -------------------------------------------------------------
    def check(
        self,
        names: Iterable[str] | None = None,
        *,
        dependents: bool = True,
        should_cancel: Callable[[], bool] | None = None,
        on_result: Callable[[ModuleResult], None] | None = None,
        first: Iterable[str] = (),
    ) -> CheckReport:
        """Import ``names`` (all modules when None), plus their dependents, each fresh.

        Unknown names are ignored; ``should_cancel`` is polled between
        results and drops the checks still queued.  ``first``: modules whose
        verdicts are wanted before the others' (the documents open in an editor).
        """
        return self._check(names, dependents, should_cancel, on_result, {}, set(first))

    def _check(
        self,
        names: Iterable[str] | None,
        dependents: bool,
        should_cancel: Callable[[], bool] | None,
        on_result: Callable[[ModuleResult], None] | None,
        started: Mapping[str, Future[CheckResult]],
        first: set[str],
    ) -> CheckReport:
        """``check``, for some of whose modules the worker already has requests."""
        start = time.perf_counter()
        with self._lock:
            if not self._scanned:
                self.scan(launch=True)
            if names is None:
                ordered = sorted(self._modules, key=lambda n: (n not in first, n))
            else:
                named = {n for n in names if n in self._modules}
                ordered = sorted(named, key=lambda n: (n not in first, n))
                if dependents:
                    ordered += self._likely_broken_first(named, first)
            config = self.config
            worker = self._ensure_worker()
            infos = {n: self._modules[n] for n in ordered}
            by_file = dict(self._by_file)
        results = self._run(worker, config, infos, by_file, should_cancel, on_result, started)
        elapsed = (time.perf_counter() - start) * 1000.0
        with self._lock:
            self._last_check = (elapsed, time.time())
        return CheckReport(
            python=worker.python_version,
            results=tuple(sorted(results, key=lambda r: r.name)),
            duration_ms=elapsed,
            cancelled=len(results) < len(infos),
            skipped=tuple(sorted(set(infos) - {r.name for r in results})),
        )

    def check_paths(
        self,
        paths: Iterable[Path | str],
        *,
        should_cancel: Callable[[], bool] | None = None,
        on_result: Callable[[ModuleResult], None] | None = None,
        first: Iterable[str] = (),
    ) -> CheckReport:
        """After files changed on disk: rescan, then check them and everything that depends on them.

        Dependents of deleted modules are checked too, and the deleted ones are
        listed in ``report.removed`` so that their diagnostics can be cleared.
        """
        wanted = {os.path.abspath(p) for p in paths}
        with self._lock:
            self._ensure_scanned()
            if all(p in self._by_file and os.path.isfile(p) for p in wanted):
                # The common case, a save of existing modules: no rediscovery.
                # Their imports start before anything else, bookkeeping included:
                # the user is waiting for exactly these verdicts.
                infos = sorted((self._by_file[p] for p in wanted), key=lambda m: m.name)
                worker, config = self._ensure_worker(), self.config
                worker.changed(wanted)
                started = {m.name: self._submit(worker, config, m.name) for m in infos}
                for info in infos:
                    self._reparse(info)
                if self._worker is not None:
                    # The file list is unchanged: only the saved files can add
                    # third-party imports (O(saved), not O(project)).
                    saved = (self._parsed[str(info.path)][1] for info in infos)
                    self._worker.add_warm(external_top_levels(saved, self._modules))
                return self._check(started, True, should_cancel, on_result, started, set(first))
            old_by_file = dict(self._by_file)
            old_dependents = self._graph.dependents(
                m.name for f, m in old_by_file.items() if f in wanted
            )
            for path in wanted:  # mtimes can tie within a clock tick: always re-parse
                self._parsed.pop(path, None)
            delta = self.scan()
            names = {m.name for f, m in self._by_file.items() if f in wanted}
            names |= {n for n in old_dependents if n in self._modules}
            names |= set(delta.added)
            removed = tuple(sorted(set(delta.removed)))
        report = self.check(names, should_cancel=should_cancel, on_result=on_result, first=first)
        return replace(report, removed=removed)

    def _reparse(self, info: ModuleInfo) -> None:
        """Re-read one module's imports (its mtime may tie with the last parse's)."""
        try:
            source = info.path.read_bytes()
        except OSError:
            source = b""
        parsed = parse_imports(info, source)
        self._parse_keys[str(info.path)] = self._parse_cache.key(info, source)
        before = self._parsed.get(str(info.path))
        self._changed_names[info.name] = changed_names(before[1] if before else None, parsed)
        self._parsed[str(info.path)] = (file_stamp(info.path), parsed)
        self._graph.update_static(info.name, parsed, self._modules)

    def _likely_broken_first(self, changed: set[str], first: set[str]) -> list[str]:
        """The dependents of ``changed``, the likeliest broken first: open documents,
        then those that use a name the change bound differently or removed, then by
        how many imports away they are."""
        names = {
            f"{module}.{name}" for module in changed for name in self._changed_names.get(module, ())
        }
        unknown = {m for m in changed if "*" in self._changed_names.get(m, ())}

        def uses_a_change(dependent: str) -> bool:
            parsed = self._parsed.get(str(self._modules[dependent].path))
            uses = parsed[1].uses if parsed else frozenset()
            return any(u in names or u.rpartition(".")[0] in unknown for u in uses)

        distances = self._graph.distances(changed)
        return sorted(
            distances,
            key=lambda n: (n not in first, not uses_a_change(n), distances[n], n),
        )

    def _ensure_worker(self) -> Worker:
        if self._worker is None:
            self._worker = self._new_worker(self._by_file, self._warm_list())
        self._worker.start()  # a no-op once it is ready
        return self._worker

    def _new_worker(self, files: Iterable[str], warm: Iterable[str] | None) -> Worker:
        config = self.config
        return Worker(
            python=config.python,
            cwd=config.root,
            paths=config.module_dirs,
            files=files,
            warm=warm,
            env=config.env,
        )

    @staticmethod
    def _submit(
        worker: Worker, config: Config, name: str, exclusive: bool = False
    ) -> Future[CheckResult]:
        return worker.check(
            name,
            config.import_timeout_s,
            config.memory_limit_mb,
            config.output_limit_bytes,
            trace_memory=config.trace_memory,
            side_effects=config.side_effects,  # type: ignore[arg-type]
            exclusive=exclusive,
        )

    def _run(
        self,
        worker: Worker,
        config: Config,
        infos: Mapping[str, ModuleInfo],
        by_file: Mapping[str, ModuleInfo],
        should_cancel: Callable[[], bool] | None,
        on_result: Callable[[ModuleResult], None] | None,
        started: Mapping[str, Future[CheckResult]],
        record: bool = True,
    ) -> list[ModuleResult]:
        futures = {
            name: started[name] if name in started else self._submit(worker, config, name)
            for name in infos
        }
        retried: set[str] = set()
        lines = SourceLines()
        results: list[ModuleResult] = []
        pending = list(infos)
        while pending:
            name = pending.pop(0)
            if should_cancel is not None and should_cancel():
                worker.cancel(futures[n] for n in [name, *pending])
                break
            raw = self._wait(worker, futures[name], config)
            if raw is None:
                if name not in retried:
                    # The zygote died (or stopped answering) during this check,
                    # maybe because of another one: check it again, alone, so
                    # that only a module that kills its worker is blamed for it.
                    retried.add(name)
                    futures[name] = self._submit(worker, config, name, exclusive=True)
                    pending.insert(0, name)
                    continue
                raw = {
                    "module": name,
                    "outcome": "crash",
                    "harness": "hotmod's worker process died during this check, also when "
                    "it ran alone: the module kills or stops the process that imports it",
                }
            result = self._build(raw, infos[name], by_file, config, lines)
            edges = [(a, b) for a, b in raw.get("edges", ())]
            if record:
                result = self._observe(result, config)
                self._remember(result, raw, config, worker)
            with self._lock:
                if name in self._modules and record:
                    self._graph.add_observed(edges)
                    self._results[name] = result
                    self._stats.record(result)
                elif name in self._results:  # a measurement: only memory figures change
                    updated = replace(self._results[name], memory=result.memory)
                    self._results[name] = updated
                    self._stats.update(updated)
            results.append(result)
            if on_result is not None:
                on_result(result)
        return results

    @staticmethod
    def _wait(worker: Worker, future: Future[CheckResult], config: Config) -> CheckResult | None:
        """A check's result; None if the worker died or stopped answering meanwhile."""
        try:
            # The worker's monitor and the zygote's own deadlines answer long
            # before this; it is the last resort against a worker that hangs.
            return future.result(timeout=config.import_timeout_s + 60.0)
        except FutureTimeout:
            worker.kill("a check got no answer in time")
            return None
        except (WorkerDied, CancelledError):
            return None

    @staticmethod
    def _build(
        raw: CheckResult,
        info: ModuleInfo,
        by_file: Mapping[str, ModuleInfo],
        config: Config,
        lines: SourceLines,
    ) -> ModuleResult:
        """``build_result``; a failure of hotmod's own costs this module's verdict only."""
        try:
            return build_result(
                raw,
                info,
                by_file,
                timeout_s=config.import_timeout_s,
                memory_limit_mb=config.memory_limit_mb,
                slow_threshold_ms=config.slow_threshold_ms,
                dev_mode=config.dev_mode,
                lines=lines,
            )
        except Exception as exc:
            log.exception("cannot build the result of %s", info.name)
            return internal_error_result(info, exc)

    # -- results and the dev-mode API ------------------------------------------
    def result(self, name: str) -> ModuleResult | None:
        with self._lock:
            return self._results.get(name)

    def results(self) -> dict[str, ModuleResult]:
        with self._lock:
            return dict(self._results)

    def reloads(self, name: str) -> int:
        return self._stats.reloads(name)

    def reload_all(self) -> CheckReport:
        return self.check(None)

    def refresh(
        self,
        *,
        should_cancel: Callable[[], bool] | None = None,
        on_result: Callable[[ModuleResult], None] | None = None,
    ) -> RefreshOutcome:
        """Rescan (new and deleted files) and re-check everything."""
        delta = self.scan()
        report = self.check(None, should_cancel=should_cancel, on_result=on_result)
        report = replace(report, removed=delta.removed)
        return RefreshOutcome(delta.added, delta.removed, report)

    def performance_summary(self) -> PerformanceSummary:
        summary = self._stats.performance_summary(self.config.slow_threshold_ms)
        history = self._history
        if history is None:
            return summary
        # The slowest modules now, next to their median before (survives restarts).
        compared = []
        for timing in summary.slowest:
            trend = history.trend(timing.module)
            compared.append(
                HistoryComparison(
                    module=timing.module,
                    now_ms=timing.self_ms,
                    median_ms=trend.median_ms if trend else None,
                    samples=trend.samples if trend else 0,
                    change_pct=round(100 * trend.change, 1) if trend else None,
                    regression=bool(trend and trend.regression),
                )
            )
        regressions = tuple(
            sorted(
                name
                for name in self.results()
                if (trend := history.trend(name)) is not None and trend.regression
            )
        )
        message = summary.message
        if regressions:
            message += f"; {len(regressions)} slower than usual: {', '.join(regressions[:3])}"
        return replace(summary, history=tuple(compared), regressions=regressions, message=message)

    # -- history ----------------------------------------------------------------
    def _history_store(self, config: Config) -> History | None:
        with self._lock:
            if not config.history:
                return None
            if self._history is None:
                self._history = History(
                    config.root, keep=config.history_keep, on_warning=self._warn
                )
            self._history.keep = config.history_keep
            return self._history

    def _observe(self, result: ModuleResult, config: Config) -> ModuleResult:
        """Record a load in the history; a markedly slower one gets ``load-regression``."""
        history = self._history_store(config)
        if history is None:
            return result
        trend = history.observe(result, config.regression_ratio, config.regression_min_ms)
        if trend is None or not trend.regression:
            return result
        diagnostic = regression_diagnostic(result, trend)
        return replace(result, diagnostics=(*result.diagnostics, diagnostic))

    # -- the verdict cache --------------------------------------------------------------
    def _verdict_store(self, config: Config) -> VerdictCache | None:
        with self._lock:
            if not config.verdict_cache:
                return None
            if self._verdicts is None:
                self._verdicts = VerdictCache(config.root, on_warning=self._warn)
            return self._verdicts

    def _remember(
        self, result: ModuleResult, raw: CheckResult, config: Config, worker: Worker
    ) -> None:
        """Keep a verdict for the next session, with what it depends on."""
        cache = self._verdict_store(config)
        sys_path = worker.sys_path
        if cache is None or not sys_path or "depends" not in raw:
            return  # no fingerprint: a crash, a timeout, an unreadable result
        with self._lock:
            if self._environment is None or self._environment[0] is not worker:
                key = environment_key(config, sys_path, os.environ)
                self._environment = (worker, key)
            key = self._environment[1]
        cache.store(key, result, raw["depends"], sys_path)

    def cached_results(self) -> dict[str, ModuleResult]:
        """The stored verdicts that still hold (``cached=True``); runs no code.

        They stand in for the modules' results until a check replaces them, so
        lenses, the status and the reports have them at once.
        """
        config = self.config
        cache = self._verdict_store(config)
        if cache is None:
            return {}
        sys_path = cache.sys_path()
        if sys_path is None:
            return {}
        with self._lock:
            modules = dict(self._modules) if self._scanned else discover(config)
        key = environment_key(config, sys_path, os.environ)
        found = cache.load(
            key,
            {name: info.path for name, info in modules.items()},
            [str(d) for d in config.module_dirs],
        )
        with self._lock:
            for name, result in found.items():
                self._results.setdefault(name, result)
        return found

    def _warn(self, message: str) -> None:
        callback = self.on_warning
        if callback is not None:
            callback(message)

    def trend(self, name: str) -> Trend | None:
        """The latest load of ``name`` against its recent median (None: too little history)."""
        history = self._history
        return history.trend(name) if history is not None else None

    def history(self, name: str, limit: int = 200) -> list[HistoryPoint]:
        """Recorded loads of ``name``, oldest first; reads the database, runs no code."""
        history = self._history or History(self.root, keep=self.config.history_keep)
        return history.series(name, limit)

    # -- profiling ------------------------------------------------------------------
    def profile(self, name: str, *, html: Path | None = None) -> ModuleProfile:
        """Import ``name`` fresh under the profiler; write the HTML report.

        A measurement like ``measure_memory``: verdicts, counts and history stay.
        The report goes to ``html``, else to the workspace's cache folder.
        Raises ProfileUnavailable when the import ends without a profile.
        """
        with self._lock:
            self._ensure_scanned()
            info = self._modules.get(name)
            if info is None:
                raise ProfileUnavailable(f"unknown module {name!r}: not found in {self.root}")
            config = self.config
            worker = self._ensure_worker()
            by_file = dict(self._by_file)
        timeout = config.import_timeout_s * PROFILE_TIMEOUT_FACTOR
        future = worker.check(
            name,
            timeout,
            config.memory_limit_mb,
            config.output_limit_bytes,
            side_effects=config.side_effects,  # type: ignore[arg-type]
            profile=True,
        )
        try:
            raw = future.result(timeout=timeout + 60.0)
        except FutureTimeout:
            worker.kill("a profile got no answer in time")
            raise ProfileUnavailable(
                f"cannot profile {name}: the worker stopped answering"
            ) from None
        except WorkerDied as exc:
            raise ProfileUnavailable(f"cannot profile {name}: the worker failed ({exc})") from None
        result = build_result(
            raw,
            info,
            by_file,
            timeout_s=timeout,
            memory_limit_mb=config.memory_limit_mb,
            slow_threshold_ms=config.slow_threshold_ms,
            dev_mode=config.dev_mode,
        )
        profile = build_profile(raw, result)
        target = html or workspace_cache_dir(self.root) / "profiles" / f"{name}.html"
        try:
            return replace(profile, html=write_report(profile, target))
        except OSError as exc:
            self._warn(f"cannot write the profile report {target}: {exc.strerror or exc}")
            return profile

    def measure_memory(self, *, should_cancel: Callable[[], bool] | None = None) -> None:
        """Re-import the checked modules with tracemalloc to attribute memory to files.

        About 10x slower than a check, so only on request.  It is a
        measurement, not a load: verdicts, timings and reload counts stay.
        """
        with self._lock:
            loaded = [n for n in self._results if n in self._modules]
            if not loaded:
                return
            config = replace(self.config, trace_memory=True)
            worker = self._ensure_worker()
            infos = {n: self._modules[n] for n in loaded}
            by_file = dict(self._by_file)
        self._run(worker, config, infos, by_file, should_cancel, None, {}, record=False)

    def memory_report(self, *, measure: bool = False) -> MemoryReport:
        """Memory per module, largest first; ``measure`` runs ``measure_memory`` first."""
        if measure:
            self.measure_memory()
        report = self._stats.memory_report()
        with self._lock:
            worker = self._worker
        pid = worker.pid if worker is not None else None
        if pid is None:
            return report
        import psutil  # here: ~40 ms to import, and the server answers initialize first

        try:
            rss = psutil.Process(pid).memory_info().rss
        except psutil.Error:
            return report
        return replace(
            report,
            worker_rss_bytes=rss,
            worker_rss_mb=round(rss / (1024 * 1024), 2),
            message=f"{report.message}; the worker (zygote) uses {rss / (1024 * 1024):.1f} MB",
        )

    def warm_report(self) -> dict[str, Any]:
        """Third-party modules the worker pre-imported: ``{name: {"ok", "ms"}}`` (cold cost)."""
        with self._lock:
            worker = self._worker
        return {name: dict(info) for name, info in worker.warm_report.items()} if worker else {}

    def status(self) -> EngineStatus:
        with self._lock:
            self._ensure_scanned()  # discovery runs no workspace code
            worker = self._worker
            last = self._last_check
            return EngineStatus(
                root=self.root,
                python=self.config.python,
                python_version=(worker.python_version if worker else None) or None,
                module_count=len(self._modules),
                broken_count=sum(not r.ok for r in self._results.values()),
                worker_pid=worker.pid if worker else None,
                dev_mode=self.config.dev_mode,
                last_check_ms=last[0] if last else None,
                last_check_at=last[1] if last else None,
            )

    # -- lifecycle ------------------------------------------------------------
    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def close(self) -> None:
        with self._lock:
            self._stop_worker()
            history, self._history = self._history, None
            verdicts, self._verdicts = self._verdicts, None
        if history is not None:
            history.close()  # writes what is queued: the history survives a restart
        if verdicts is not None:
            verdicts.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
