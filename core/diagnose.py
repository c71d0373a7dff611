"""Turn a worker's raw result into a ModuleResult with diagnostics at the right lines.

Every diagnostic of a module lands in that module's own file.  When the
failure happened while importing another project module, the module gets a
``dependency-error`` at its import line, related to the failing location;
the failing module gets its own diagnostic from its own check.
"""

from __future__ import annotations

import keyword
import os
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .discovery import ModuleInfo
from .results import Code, Diagnostic, Frame, Memory, ModuleResult, Related, Severity, Span
from .worker import launch
from .worker.protocol import CheckResult, ErrorInfo, SyntaxInfo
from .worker.protocol import Frame as WorkerFrame

_DUMP_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in (?P<func>.*)$')
# Lines and columns from a check are data from user code's process: kept in a
# range an editor can show.
MAX_LINE = 10_000_000
MAX_COLUMN = 1_000_000


@dataclass(frozen=True)
class _RawFrame:
    file: str
    line: int  # 1-based, as Python reports it
    function: str
    col: int | None = None  # UTF-8 byte offsets, as CPython reports them
    end_line: int | None = None
    end_col: int | None = None


class SourceLines:
    """Reads lines of source files once per result batch, for ranges and messages."""

    def __init__(self) -> None:
        self._cache: dict[str, list[str]] = {}

    def line(self, path: str, lineno: int) -> str:
        if path not in self._cache:
            try:
                with open(path, "rb") as f:
                    data = f.read(8 * 1024 * 1024)
                # Lines as Python counts them: only \n, \r\n and \r end one
                # (str.splitlines also splits at form feeds and U+2028), and a
                # UTF-8 BOM is not part of the first line's columns.
                text = data.decode("utf-8-sig", "replace")
                self._cache[path] = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            except OSError:
                self._cache[path] = []
        lines = self._cache[path]
        return lines[lineno - 1] if 0 < lineno <= len(lines) else ""

    def span(self, frame: _RawFrame) -> Span:
        """The frame's expression if known, else its whole line without indentation."""
        text = self.line(frame.file, frame.line)
        if frame.col is not None and frame.end_col is not None and frame.end_line:
            end_text = (
                text if frame.end_line == frame.line else self.line(frame.file, frame.end_line)
            )
            return Span(
                frame.line - 1,
                _char_offset(text, frame.col),
                frame.end_line - 1,
                _char_offset(end_text, frame.end_col),
            )
        return self.whole_line(frame.file, frame.line)

    def whole_line(self, path: str, lineno: int) -> Span:
        text = self.line(path, lineno)
        start = len(text) - len(text.lstrip())
        line = max(lineno - 1, 0)
        return Span(line, start, line, max(len(text.rstrip()), start))


def _char_offset(text: str, byte_offset: int) -> int:
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def build_result(
    raw: CheckResult,
    info: ModuleInfo,
    modules_by_file: Mapping[str, ModuleInfo],
    *,
    timeout_s: float,
    memory_limit_mb: int,
    slow_threshold_ms: float,
    dev_mode: bool,
    lines: SourceLines | None = None,
) -> ModuleResult:
    lines = lines or SourceLines()
    own_file = str(info.path)
    timings = raw.get("modules", {})
    own_timing = timings.get(info.name)
    # A check that ended without a report (a crash, a timeout) was timed by the zygote.
    elapsed = raw["total_ms"] if "total_ms" in raw else raw.get("wall_ms", 0.0)
    load_ms = own_timing["cumulative_ms"] if own_timing else elapsed
    self_ms = own_timing["self_ms"] if own_timing else load_ms
    memory = raw.get("memory", {})
    outcome = raw["outcome"]

    diagnostics: list[Diagnostic] = []
    if outcome != "ok":
        context = _Context(info, own_file, modules_by_file, lines, timeout_s, memory_limit_mb)
        diagnostics.append(context.diagnose(raw))
    elif dev_mode and self_ms > slow_threshold_ms:
        diagnostics.append(
            Diagnostic(
                path=info.path,
                span=Span(0, 0, 0, 0),
                code=Code.SLOW_LOAD,
                severity=Severity.WARNING,
                message=(
                    f"module '{info.name}' takes {self_ms:.0f} ms to import "
                    f"(threshold {slow_threshold_ms:g} ms)"
                ),
            )
        )

    diagnostics.extend(side_effect_diagnostics(raw, info, lines))
    diagnostics.extend(keyword_name_diagnostics(info))

    output = raw.get("output", "")
    return ModuleResult(
        name=info.name,
        path=info.path,
        ok=outcome == "ok",
        load_ms=load_ms,
        self_ms=self_ms,
        memory=Memory(
            rss_delta_bytes=max(memory.get("rss_delta", 0), 0),
            traced=memory.get("traced", False),
            traced_bytes=memory.get("per_file", {}).get(own_file, 0),
            traced_total_bytes=memory.get("traced_net", 0),
        ),
        diagnostics=tuple(diagnostics),
        output=output,
        output_truncated=raw.get("output_bytes", 0) > len(output.encode("utf-8", "replace")),
        imported=tuple(n for n in timings if n != info.name),
        worker_pid=raw.get("pid"),
        import_ms=raw.get("inherited_ms", 0.0) + max(elapsed, load_ms),
        digest=raw.get("depends", {}).get("sources", {}).get(own_file, ""),
    )


def keyword_name_diagnostics(info: ModuleInfo) -> list[Diagnostic]:
    """A module named with a keyword (``django/conf/locale/is``): no import statement
    can name it, so ``python -c "import ..."`` is a syntax error whatever the module
    holds; hotmod checks it with ``importlib.import_module`` and says so."""
    keywords = [part for part in info.name.split(".") if keyword.iskeyword(part)]
    if not keywords:
        return []
    return [
        Diagnostic(
            path=info.path,
            span=Span(0, 0, 0, 0),
            code=Code.KEYWORD_NAME,
            severity=Severity.INFORMATION,
            message=f"'{keywords[0]}' is a Python keyword: no import statement can name "
            f"'{info.name}' (it can only be imported with importlib.import_module, "
            "which is how hotmod checked it)",
        )
    ]


def internal_error_result(info: ModuleInfo, exc: Exception) -> ModuleResult:
    """A module whose result hotmod failed to build: said at its first line, not raised."""
    return ModuleResult(
        name=info.name,
        path=info.path,
        ok=False,
        load_ms=0.0,
        self_ms=0.0,
        memory=Memory(rss_delta_bytes=0),
        diagnostics=(
            Diagnostic(
                path=info.path,
                span=Span(0, 0, 0, 0),
                code=Code.CRASH,
                severity=Severity.ERROR,
                message=f"hotmod could not build this module's verdict: {type(exc).__name__}: "
                f"{exc} (a bug in hotmod: please report it)",
            ),
        ),
    )


def side_effect_diagnostics(
    raw: CheckResult, info: ModuleInfo, lines: SourceLines
) -> list[Diagnostic]:
    """``side-effect`` warnings for what this module's own lines did at import.

    The worker names the innermost project frame of each event; events of a
    dependency's lines belong to the dependency's own check.  An event with no
    project frame on the stack (a thread of a third-party package) is the
    checked module's, at its first line.
    """
    own_file = str(info.path)
    found: list[Diagnostic] = []
    for event in raw.get("side_effects", []):
        file, line = event.get("file"), event.get("line")
        if file is not None and file != own_file:
            continue
        message = f"side effect at import: the module {event.get('what') or event.get('event')}"
        if event.get("blocked"):
            message += "; blocked (sideEffects = block)"
        found.append(
            Diagnostic(
                path=info.path,
                span=lines.whole_line(own_file, _line(line) if file is not None else 1),
                code=Code.SIDE_EFFECT,
                severity=Severity.WARNING,
                message=message,
            )
        )
    return found


class _Context:
    def __init__(
        self,
        info: ModuleInfo,
        own_file: str,
        modules_by_file: Mapping[str, ModuleInfo],
        lines: SourceLines,
        timeout_s: float,
        memory_limit_mb: int,
    ) -> None:
        self.info = info
        self.own_file = own_file
        self.modules_by_file = modules_by_file
        self.lines = lines
        self.timeout_s = timeout_s
        self.memory_limit_mb = memory_limit_mb

    def diagnose(self, raw: CheckResult) -> Diagnostic:
        outcome = raw["outcome"]
        error: ErrorInfo = raw.get("error", {})
        if outcome in ("timeout", "crash"):
            frames = _parse_dump(raw.get("traceback_dump", ""))
        else:
            frames = [_frame_from_json(f) for f in error.get("frames", [])]
        project = [f for f in frames if f.file in self.modules_by_file]
        syntax = error.get("syntax") if error.get("is_syntax_error") else None
        syntax_file = _normalized(syntax.get("file")) if syntax else None
        if syntax is None or syntax_file not in self.modules_by_file:
            syntax = None  # a SyntaxError from compile()/exec() of a string: an exception

        # The module being executed when things went wrong: the innermost
        # project ``<module>`` frame, or the file that failed to compile.
        executing = [f.file for f in project if f.function == "<module>"]
        if syntax is not None:
            executing.append(str(syntax_file))
        culprit = executing[-1] if executing else self.own_file
        own_frames = [f for f in project if f.file == self.own_file]
        anchor = own_frames[-1] if own_frames else None
        summary, culprit_span = self._summary(outcome, raw, error, project, syntax, culprit)
        summary += _harness_note(raw, error)
        workspace_frames = tuple(Frame(Path(f.file), f.line - 1, f.function) for f in project)

        if culprit != self.own_file:
            dep = self.modules_by_file[culprit]
            return Diagnostic(
                path=self.info.path,
                span=self._anchor_span(anchor),
                code=Code.DEPENDENCY_ERROR,
                severity=Severity.ERROR,
                message=f"importing '{dep.name}' failed: {summary}",
                related=(Related(dep.path, culprit_span, summary),),
                frames=workspace_frames,
            )

        related: tuple[Related, ...] = ()
        innermost = project[-1] if project else None
        if innermost is not None and innermost.file != self.own_file and syntax is None:
            other = Path(innermost.file)
            related = (
                Related(other, self.lines.span(innermost), f"raised here, in {innermost.function}"),
            )
        import_path = _normalized(error.get("import_path"))
        if error.get("is_import_error") and import_path and import_path in self.modules_by_file:
            target = self.modules_by_file[import_path]
            related += (
                Related(target.path, Span(0, 0, 0, 0), f"module '{target.name}' is defined here"),
            )
        code = self._code(outcome, error, syntax)
        span = culprit_span if syntax is not None else self._anchor_span(anchor)
        return Diagnostic(
            path=self.info.path,
            span=span,
            code=code,
            severity=Severity.ERROR,
            message=summary,
            related=related,
            frames=workspace_frames,
        )

    def _anchor_span(self, frame: _RawFrame | None) -> Span:
        if frame is None:
            # Failed before any of our code ran, e.g. in a parent package.
            return self.lines.whole_line(self.own_file, 1)
        return self.lines.span(frame)

    def _code(self, outcome: str, error: ErrorInfo, syntax: SyntaxInfo | None) -> Code:
        if outcome == "timeout":
            return Code.TIMEOUT
        if outcome == "crash":
            return Code.CRASH
        if outcome == "memory-limit" or error.get("is_memory_error"):
            return Code.MEMORY_LIMIT
        if syntax is not None:
            return Code.SYNTAX_ERROR
        if error.get("is_import_error"):
            return Code.IMPORT_ERROR
        return Code.EXCEPTION

    def _summary(
        self,
        outcome: str,
        raw: CheckResult,
        error: ErrorInfo,
        project: list[_RawFrame],
        syntax: SyntaxInfo | None,
        culprit: str,
    ) -> tuple[str, Span]:
        """A one-line description of the failure and where it happened."""
        culprit_frames = [f for f in project if f.file == culprit]
        where = culprit_frames[-1] if culprit_frames else None
        span = self.lines.span(where) if where else self.lines.whole_line(culprit, 1)
        if syntax is not None:
            span = syntax_span(syntax, self.lines)
            return f"SyntaxError: {syntax.get('msg') or error.get('message')}", span
        if outcome == "timeout":
            at = f" (still running line {where.line})" if where else ""
            return f"import did not finish within {self.timeout_s:g} s{at}", span
        if outcome == "crash":
            return _crash_message(raw, where), span
        if outcome == "memory-limit":
            return f"MemoryError: import exceeded the {self.memory_limit_mb} MB memory limit", span
        message = error.get("message", "")
        import_path = error.get("import_path")
        if import_path and message.endswith(f" ({import_path})"):
            # The related location already points at that file.
            message = message[: -len(import_path) - 3]
        kind = error.get("type") or "Exception"
        return (f"{kind}: {message}" if message else kind), span


def _harness_note(raw: CheckResult, error: ErrorInfo) -> str:
    """What hotmod could not find out, said rather than guessed."""
    notes = []
    if "harness" in raw:
        notes.append(raw["harness"])
    if "frames_unreadable" in error:
        notes.append(
            "hotmod could not read the traceback "
            f"({error['frames_unreadable']}; an audit hook of the module may refuse it)"
        )
    if "partial" in raw:
        notes.append(f"the check's report is incomplete: {raw['partial']}")
    return "".join(f" ({note})" for note in notes)


def _crash_message(raw: CheckResult, where: _RawFrame | None) -> str:
    exit_info = raw.get("exit", {"code": None, "signal": None})
    at = f" at line {where.line}" if where else ""
    if "hard_exit" in raw:
        return f"os._exit({raw['hard_exit']}) called{at}: the process ended during import"
    sig = exit_info.get("signal")
    if sig:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"the interpreter crashed{at}: killed by {name}"
    code = exit_info.get("code")
    dump = raw.get("traceback_dump", "")
    if dump.startswith("Hard exit"):
        return f"os._exit({code}) called{at}: the process ended during import"
    if code is None:
        return f"the worker process died during the check{at}"
    return f"the process exited with status {code} during import{at}"


def syntax_span(syntax: SyntaxInfo, lines: SourceLines) -> Span:
    line = _line(syntax.get("line"))
    col = _column((syntax.get("offset") or 1) - 1)
    end_line = max(_line(syntax.get("end_line") or line), line)
    end_col = _column((syntax.get("end_offset") or 0) - 1)
    if end_line < line or (end_line == line and end_col <= col):
        end_line, end_col = line, col + 1
    text = lines.line(_normalized(syntax.get("file")) or "", line)
    if end_line == line and text:
        end_col = min(end_col, max(len(text), col + 1))
    return Span(line - 1, col, end_line - 1, end_col)


def _frame_from_json(data: WorkerFrame) -> _RawFrame:
    col, end_line, end_col = data.get("col"), data.get("end_line"), data.get("end_col")
    return _RawFrame(
        file=_normalized(data.get("file")) or "",
        line=_line(data.get("line")),
        function=data.get("function", ""),
        col=None if col is None else _column(col),
        end_line=None if end_line is None else _line(end_line),
        end_col=None if end_col is None else _column(end_col),
    )


def _line(value: int | None) -> int:
    """A 1-based line from a check's data, within what an editor can show."""
    return min(max(value or 1, 1), MAX_LINE)


def _column(value: int) -> int:
    return min(max(value, 0), MAX_COLUMN)


def _normalized(path: str | None) -> str | None:
    """A path as the engine spells project files (the worker joins, never normalizes)."""
    if not path or path.startswith("<"):
        return path
    return os.path.normpath(path)


def _parse_dump(dump: str) -> list[_RawFrame]:
    """Frames of the checking thread from a faulthandler dump, outermost first."""
    blocks: list[list[_RawFrame]] = []
    for text in dump.splitlines():
        if "thread 0x" in text.lower() or text.startswith("Stack (most recent"):
            blocks.append([])
            continue
        match = _DUMP_FRAME.match(text)
        if match and blocks:
            blocks[-1].append(_RawFrame(match["file"], int(match["line"]), match["func"].strip()))
    if not blocks:
        return []
    # The checking thread is the one running the worker's own code (run_check).
    main = next(
        (b for b in blocks if any(f.file.startswith(launch.PACKAGE_DIR) for f in b)), blocks[0]
    )
    return list(reversed(main))  # faulthandler prints the most recent call first
