"""Command results as Markdown: the one rendering that every editor shows.

The language server sends it with each command's JSON (the ``markdown``
field); hotmod's editor extensions display it, and for other clients the
server writes it to a file and opens that.  Tables are padded to aligned
columns, so a report reads as well as plain text (a Neovim float, an Emacs
buffer) as in a Markdown preview.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .bytesize import format_bytes
from .engine import EngineStatus
from .profile import TOP_LINES, ImportTiming, ModuleProfile
from .results import CheckReport, Diagnostic, ModuleResult, ReloadOutcome, Severity
from .stats import HistoryComparison, MemoryReport, ModuleTiming, PerformanceSummary

if TYPE_CHECKING:  # live reload's modules are imported once it is used
    from .live_apply import LiveDecision
    from .live_links import LiveProcess

DASH = "—"
# Rows of the profile's import tree and functions; the HTML report has them all.
PROFILE_IMPORT_ROWS = 40
PROFILE_FUNCTION_ROWS = 15
# Modules named in a one-line message before "+N more".
NAMED_IN_MESSAGE = 3
# A module's own time, and what a fresh import of it costs (as `python -X importtime`'s
# self and cumulative columns).
TIMING_HEADERS = ["module", "self (own code)", "import (fresh, with its packages)"]
IMPORT_NOTE = (
    '_import: what `python -c "import m"` spends importing the module, its parent '
    "packages and the project modules it imports included._"
)


@dataclass(frozen=True)
class Rendered:
    """A command's result for people: a notification line and the whole report."""

    name: str  # a file-name stem for the report: "status", "reload-shop.cart"
    message: str  # one line
    markdown: str
    brief: bool = False  # the message says all that matters: no report to open


# -- reloadModule -------------------------------------------------------------------
def render_reload(outcome: ReloadOutcome, root: Path | None = None) -> Rendered:
    modules = ([outcome.result] if outcome.result else []) + list(outcome.dependents)
    broken = [r for r in modules if not r.ok]
    message = f"Reloaded {outcome.module}"
    if outcome.dependents:
        message += f" and {_plural(len(outcome.dependents), 'dependent')}"
    if outcome.result is None:
        message += ": no verdict (the check was cancelled)"
    else:
        message += _verdict(broken, "all ok")
    lines = [f"# hotmod: reloaded {_code(outcome.module)}", "", _text(message), ""]
    lines += _modules_table(modules) if modules else ["_Nothing was imported._"]
    lines += _failures(broken, root)
    return Rendered(
        f"reload-{outcome.module}",
        message,
        _join(lines),
        brief=not broken and outcome.result is not None,
    )


# -- reloadAll / refresh ------------------------------------------------------------
def render_check(
    report: CheckReport,
    *,
    refresh: bool = False,
    added: Sequence[str] = (),
    root: Path | None = None,
) -> Rendered:
    verb = "Refreshed" if refresh else "Reloaded"
    message = (
        f"{verb} {_plural(len(report.results), 'module')} in {format_ms(report.duration_ms)}"
        + _verdict(report.failed, "all import")
    )
    if added:
        message += f"; added {', '.join(added)}"
    if report.removed:
        message += f"; removed {', '.join(report.removed)}"
    if report.cancelled:
        message += " (cancelled: the server is shutting down)"
    title = "refresh modules" if refresh else "reload all modules"
    lines = [f"# hotmod: {title}", "", _text(message), ""]
    if added:
        lines += [f"**Added:** {', '.join(map(_code, added))}", ""]
    if report.removed:
        lines += [f"**Removed:** {', '.join(map(_code, report.removed))}", ""]
    ordered = sorted(report.results, key=lambda r: (r.ok, r.name))  # broken first
    lines += _modules_table(ordered) if ordered else ["_No modules._"]
    lines += _failures(report.failed, root)
    return Rendered(
        "refresh" if refresh else "reload-all",
        message,
        _join(lines),
        brief=not report.failed and not report.cancelled,
    )


# -- toggleDevMode -----------------------------------------------------------------
def render_dev_mode(enabled: bool) -> Rendered:
    message = (
        "Dev mode is now on: slow imports are reported"
        if enabled
        else "Dev mode is now off: slow imports are not reported"
    )
    return Rendered("dev-mode", message, _join([_text(message)]), brief=True)


# -- performanceSummary -------------------------------------------------------------
def render_performance(summary: PerformanceSummary) -> Rendered:
    threshold = format_ms(summary.slow_threshold_ms)
    lines = ["# hotmod: performance summary", "", *_note(summary.message)]
    lines += _table(
        ["measure", "value"],
        [
            ["Scans of the workspace", str(summary.total_scans)],
            ["Average scan", format_ms(summary.average_scan_ms)],
            ["Module imports (loads)", str(summary.total_loads)],
            ["Average import (own code)", format_ms(summary.average_load_ms)],
            ["Slow threshold", threshold],
        ],
        "lr",
    )
    lines += ["", "## Slowest imports (by own time)", ""]
    if summary.slowest:
        history = {h.module: h for h in summary.history}
        rows = [
            [
                _code(t.module),
                format_ms(t.self_ms),
                format_ms(t.import_ms),
                *_trend(history.get(t.module)),
            ]
            for t in summary.slowest
        ]
        headers = [*TIMING_HEADERS, "self: median before", "change"]
        lines += _table(headers, rows, "lrrrl")
        lines += ["", IMPORT_NOTE]
        if summary.history:
            lines += [
                "",
                "_median before: the module's recent loads, recorded across restarts "
                "(none shown with fewer than 5)._",
            ]
    else:
        lines.append("_No imports yet._")
    if summary.regressions:
        lines += ["", "## Slower than usual", ""]
        lines += [
            f"{', '.join(map(_code, summary.regressions))}: their latest import is a "
            "`load-regression`; profile them to see which line."
        ]
    lines += ["", f"## Slow imports (own time over {threshold})", ""]
    lines += _timings(summary.slow_loads) if summary.slow_loads else ["_None._"]
    counts = sorted(summary.reload_counts.items(), key=lambda item: (-item[1], item[0]))
    lines += ["", "## Reloads per module", ""]
    if counts:
        lines += _table(["module", "reloads"], [[_code(n), str(c)] for n, c in counts], "lr")
    else:
        lines.append("_None._")
    return Rendered("performance", summary.message, _join(lines))


def _trend(comparison: HistoryComparison | None) -> list[str]:
    if comparison is None or comparison.median_ms is None or comparison.change_pct is None:
        return [DASH, DASH]
    arrow = "▲" if comparison.change_pct > 0 else "▼" if comparison.change_pct < 0 else "="
    change = f"{arrow} {abs(comparison.change_pct):.0f}%"
    if comparison.regression:
        change = f"**{change} slower than usual**"
    return [f"{format_ms(comparison.median_ms)} ({comparison.samples} loads)", change]


def _timings(timings: Iterable[ModuleTiming]) -> list[str]:
    rows = [[_code(t.module), format_ms(t.self_ms), format_ms(t.import_ms)] for t in timings]
    return _table(TIMING_HEADERS, rows, "lrr")


# -- memoryReport -------------------------------------------------------------------
def render_memory(report: MemoryReport) -> Rendered:
    lines = ["# hotmod: memory report", "", *_note(report.message)]
    measures = [
        ["Memory held by the project modules", format_bytes(report.total_bytes)],
        ["Modules loaded", str(report.loaded_modules)],
    ]
    if report.worker_rss_bytes is not None:
        measures.append(["Worker (warm imports), resident", format_bytes(report.worker_rss_bytes)])
    lines += _table(["measure", "value"], measures, "lr")
    lines += ["", "## Largest modules", ""]
    if report.modules:
        rows = [
            [
                _code(m.module),
                format_bytes(m.bytes),
                _share(m.bytes, report.total_bytes),
                "tracemalloc, own file" if m.traced else "RSS growth of its import",
            ]
            for m in report.modules
        ]
        lines += _table(["module", "memory", "share", "measured as"], rows, "lrrl")
    else:
        lines.append("_No measurements yet._")
    return Rendered("memory", report.message, _join(lines))


# -- status -------------------------------------------------------------------------
def render_status(
    status: EngineStatus | None,
    *,
    version: str,
    trusted: bool,
    root: Path,
    error: str | None = None,
) -> Rendered:
    """``status`` is None when the folder's configuration could not be read."""
    if error:
        message = f"hotmod {version}: this folder cannot be checked: {error}"
    elif status is None:
        message = f"hotmod {version}: the folder is not loaded"
    else:
        message = (
            f"hotmod {version}: {_plural(status.module_count, 'module')}, "
            f"{status.broken_count} broken"
            + (f", Python {status.python_version}" if status.python_version else "")
            + ("" if trusted else " (not trusted: syntax checks only)")
        )
    s = status
    broken = DASH if s is None else f"**{s.broken_count}**" if s.broken_count else "0"
    rows = [
        ["hotmod version", _code(version)],
        ["Workspace trusted", "yes" if trusted else "no: syntax checks only"],
        ["Root", _code(str(root))],
        ["Python", _code(s.python) if s else DASH],
        ["Python version", _code(s.python_version) if s and s.python_version else DASH],
        ["Modules", str(s.module_count) if s else DASH],
        ["Broken modules", broken],
        ["Worker PID", str(s.worker_pid) if s and s.worker_pid is not None else DASH],
        ["Dev mode", DASH if s is None else "on" if s.dev_mode else "off"],
        ["Last check took", format_ms(s.last_check_ms) if s else DASH],
        ["Last check at", _time(s.last_check_at) if s else DASH],
    ]
    lines = ["# hotmod: status", ""]
    if error:
        lines += [f"**This folder cannot be checked:** {_text(error)}", ""]
    lines += _table(["", "value"], rows, "ll")
    return Rendered("status", message, _join(lines))


# -- live reload: liveProcesses, liveApply, liveRestart -------------------------------
START_LIVE = "start one with `hotmod run -- python app.py`, or call `hotmod.live.attach()` in it"


def render_live_processes(
    processes: Sequence[LiveProcess], *, root: Path, off: str | None = None
) -> Rendered:
    """``off``: why nothing is applied to running programs of this folder."""
    if off:
        message = f"Live reload is off for {root.name}: {off}"
    elif not processes:
        message = f"No running program takes changes of {root.name}: {START_LIVE}"
    else:
        take = "takes" if len(processes) == 1 else "take"
        pids = ", ".join(f"pid {p.pid}" for p in processes)
        message = f"{_plural(len(processes), 'process')} {take} changes of {root.name}: {pids}"
    lines = ["# hotmod: live processes", "", _text(message), ""]
    if processes:
        rows = [
            [
                str(p.pid),
                _code(p.command),
                _code(p.python),
                str(len(p.modules)),
                str(p.applied),
                "yes" if p.supervisor else "no",
            ]
            for p in processes
        ]
        lines += _table(
            ["pid", "command", "Python", "modules", "applied", "restart (hotmod run)"],
            rows,
            "rllrrl",
        )
        for p in processes:
            lines += ["", f"## pid {p.pid}: modules loaded", ""]
            lines += [", ".join(map(_code, sorted(p.modules))) or "_none of the workspace_"]
    return Rendered("live-processes", message, _join(lines), brief=not processes)


def render_live_apply(
    decision: LiveDecision,
    left_out: Sequence[tuple[str, str]],
    *,
    processes: int,
    root: Path,
    rerun: bool = False,
) -> Rendered:
    """``left_out``: modules loaded but not sent (module, why); ``processes``: attached."""
    from .live_apply import describe

    outcomes = decision.outcomes
    failed = [o for o in outcomes if not o.ok]
    said = describe(decision, root)
    if not processes:
        message = f"No running program takes changes of {root.name}: {START_LIVE}"
    elif not decision.files:
        message = "Nothing to apply: no module the programs loaded has a passing check of its file"
    elif not failed:
        message = (
            f"Applied {_plural(len(decision.files), 'module')} to "
            f"{_plural(len(outcomes), 'process')}: "
            + ("; ".join(sorted({o.summary for o in outcomes})) or "nothing to change")
        )
    else:
        first = next((line for line in said if line.startswith("not applied")), ": not applied")
        message = (
            f"Not applied in {len(failed)} of {_plural(len(outcomes), 'process')}: "
            + (first.split(": ", 1)[1])
        )
    title = "apply now, re-running changed modules" if rerun else "apply now"
    lines = [f"# hotmod: live {title}", "", _text(message), ""]
    if said:
        lines += ["## What each process did", ""] + [f"- {_text(line)}" for line in said] + [""]
    if left_out:
        lines += ["## Not sent", ""]
        lines += _table(["module", "why"], [[_code(m), _text(why)] for m, why in left_out], "ll")
    return Rendered("live-apply", message, _join(lines), brief=not failed and not left_out)


def render_live_restart(process: LiveProcess) -> Rendered:
    message = f"Asked `hotmod run` to restart pid {process.pid} ({process.command})"
    return Rendered("live-restart", message, _join([_text(message)]), brief=True)


# -- profileModule ------------------------------------------------------------------
def render_profile(profile: ModuleProfile, root: Path | None = None) -> Rendered:
    lines = [f"# hotmod: profile of {_code(profile.module)}", "", *_note(profile.message)]
    facts = [
        ["Module", _code(profile.module)],
        ["File", _link(profile.path, None, root)],
        ["Status", "ok" if profile.ok else "**error**"],
    ]
    if profile.error:
        facts.append(["Error", _text(profile.error)])
    facts += [
        ["Import time (profiled)", format_ms(profile.total_ms)],
        ["Memory traced", "yes" if profile.memory_traced else "no"],
    ]
    lines += _table(["", "value"], facts, "ll")
    if profile.html is not None:
        lines += [
            "",
            f"**HTML report** (icicle chart of imports and calls, sortable tables): "
            f"[{_text(profile.html.name)}]({_uri(profile.html)}) {DASH} {_code(str(profile.html))}",
        ]
    lines += [
        "",
        "_Times are measured under tracing, which inflates call-heavy code: "
        "compare lines with each other, not with a check._",
        "",
        "## Hottest lines (own time, without the imports they start)",
        "",
    ]
    hot = profile.hottest[:TOP_LINES]
    if hot:
        rows = [
            [
                str(line.line),
                format_ms(line.self_ms),
                _share(line.self_ms, profile.total_ms),
                str(line.hits),
                format_ms(line.ms),
                format_bytes(line.self_bytes),
                _code(line.text.strip()) if line.text.strip() else "",
            ]
            for line in hot
        ]
        headers = ["line", "own time", "share", "hits", "with imports", "memory", "code"]
        lines += _table(headers, rows, "rrrrrrl")
    else:
        lines.append("_No lines ran._")

    lines += ["", "## Imports (cumulative and own time of find + load)", ""]
    imports = list(_flatten(profile.imports))
    if imports:
        rows = [
            [
                "\u00a0\u00a0" * depth + ("↳ " if depth else "") + _code(entry.name),
                format_ms(entry.ms),
                format_ms(entry.self_ms),
                format_bytes(entry.bytes),
                str(entry.line) if entry.line is not None else DASH,
                "project" if entry.project else "third-party",
                f"**{_text(entry.error)}**" if entry.error else "",
            ]
            for entry, depth in imports[:PROFILE_IMPORT_ROWS]
        ]
        headers = ["module", "cumulative", "own", "memory", "line", "kind", "error"]
        lines += _table(headers, rows, "lrrrrll")
        if len(imports) > PROFILE_IMPORT_ROWS:
            more = len(imports) - PROFILE_IMPORT_ROWS
            lines += ["", f"_…and {more} more in the HTML report._"]
    else:
        lines.append("_No module was imported fresh (third-party imports are warm)._")

    lines += ["", "## Functions (by own time)", ""]
    if profile.functions:
        rows = [
            [
                _code(f.name),
                str(f.calls),
                format_ms(f.self_ms),
                format_ms(f.ms),
                _link(f.path, f.line, root) if f.path else DASH,
            ]
            for f in profile.functions[:PROFILE_FUNCTION_ROWS]
        ]
        lines += _table(["function", "calls", "own time", "total", "where"], rows, "lrrrl")
        if len(profile.functions) > PROFILE_FUNCTION_ROWS:
            more = len(profile.functions) - PROFILE_FUNCTION_ROWS
            lines += ["", f"_…and {more} more in the HTML report._"]
    else:
        lines.append("_None._")
    if profile.truncated:
        lines += [
            "",
            "_The call tree was very large and was capped; "
            "small calls are folded into their callers._",
        ]
    return Rendered(f"profile-{profile.module}", profile.message, _join(lines))


def _flatten(entries: Iterable[ImportTiming], depth: int = 0) -> Iterable[tuple[ImportTiming, int]]:
    for entry in entries:
        yield entry, depth
        yield from _flatten(entry.children, depth + 1)


# -- modules and their failures ------------------------------------------------------
def _modules_table(modules: Sequence[ModuleResult]) -> list[str]:
    rows = [
        [
            _code(r.name),
            "ok" if r.ok else "**error**",
            format_ms(r.self_ms),
            format_ms(r.import_ms),
            format_bytes(r.memory.bytes),
            _first_problem(r),
        ]
        for r in modules
    ]
    return _table(["module", "status", "self", "import", "memory", "problem"], rows, "llrrrl")


def _first_problem(result: ModuleResult) -> str:
    if not result.diagnostics:
        return ""
    first = result.diagnostics[0]
    more = len(result.diagnostics) - 1
    text = f"line {first.span.line + 1}: {_first_line(first.message)}"
    return _text(text + (f" (+{more} more)" if more else ""))


def _failures(broken: Sequence[ModuleResult], root: Path | None) -> list[str]:
    """Every error of the broken modules, where it is, and what it points at."""
    if not broken:
        return []
    lines = ["", "## Failures"]
    for result in broken:
        lines += ["", f"### {_code(result.name)}", ""]
        errors = [d for d in result.diagnostics if d.severity == Severity.ERROR]
        for d in errors or result.diagnostics:
            lines += _diagnostic(d, root)
        if not result.diagnostics:
            lines.append(f"- {_link(result.path, None, root)}: failed without a diagnostic")
    return lines


def _diagnostic(d: Diagnostic, root: Path | None) -> list[str]:
    where = _link(d.path, d.span.line + 1, root, d.span.column + 1)
    message, *rest = d.message.strip().splitlines() or [""]
    lines = [f"- {where} **{d.code.value}** {_text(message)}"]
    lines += [f"  {_text(more)}" for more in rest if more.strip()]
    for related in d.related:
        lines.append(
            f"  - {_link(related.path, related.span.line + 1, root)} "
            f"{_text(_first_line(related.message))}"
        )
    return lines


# -- messages ------------------------------------------------------------------------
def _verdict(broken: Sequence[ModuleResult], all_good: str) -> str:
    if not broken:
        return f": {all_good}"
    names = [r.name for r in broken[:NAMED_IN_MESSAGE]]
    rest = len(broken) - len(names)
    return f": {len(broken)} failed ({', '.join(names)}{f', +{rest} more' if rest else ''})"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


# -- values --------------------------------------------------------------------------
def format_ms(value: float | None) -> str:
    """Milliseconds for people: `4.2 ms`, `310 ms`, `1.25 s`; a dash for none."""
    if value is None:
        return DASH
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _share(part: float, total: float) -> str:
    return f"{100 * part / total:.1f}%" if total > 0 else DASH


def _time(epoch: float | None) -> str:
    if epoch is None:
        return DASH
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(epoch))


def _display(path: Path, root: Path | None) -> str:
    """Relative to the workspace; outside it (the standard library) the file name will do."""
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return path.name
    return str(path)


def _uri(path: Path) -> str:
    return path.as_uri() if path.is_absolute() else path.as_posix()


def _link(path: Path, line: int | None, root: Path | None, column: int | None = None) -> str:
    """``[`shop/cart.py:7:1`](file:///…/shop/cart.py#L7)``: a location an editor can open."""
    label = _display(path, root)
    if line is not None:
        label += f":{line}" + (f":{column}" if column is not None else "")
    target = _uri(path) + (f"#L{line}" if line is not None else "")
    return f"[{_code(label)}]({target.replace(' ', '%20').replace(')', '%29')})"


# -- Markdown ------------------------------------------------------------------------
# Emphasis needs a `_` at a word boundary: an identifier's inner ones are safe.
_MARKUP = re.compile(r"[\\`*<>\[\]|]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def _text(text: str) -> str:
    """Plain text on one line, its Markdown punctuation escaped."""
    return _MARKUP.sub(lambda m: "\\" + m.group(0), " ".join(text.split()))


def _code(text: str) -> str:
    """An inline code span that survives backticks, and pipes inside a table."""
    text = " ".join(text.strip().splitlines()).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _note(message: str) -> list[str]:
    return [f"> {_text(message)}", ""] if message.strip() else []


def _width(text: str) -> int:
    """Columns the text takes in a terminal: wide characters two, combining ones none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """A table padded to aligned columns; ``align`` has an ``l`` or ``r`` per column."""
    widths = [max(3, _width(h), *(_width(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            " " * (w - _width(c)) + c if a == "r" else c + " " * (w - _width(c))
            for c, w, a in zip(cells, widths, align, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        "-" * (w - 1) + ":" if a == "r" else "-" * w for w, a in zip(widths, align, strict=True)
    ]
    return [line(headers), "| " + " | ".join(rule) + " |", *(line(row) for row in rows)]


def _join(lines: Sequence[str]) -> str:
    return "\n".join(lines).rstrip("\n") + "\n"
