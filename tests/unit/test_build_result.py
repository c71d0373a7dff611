"""build_result on canned worker results: where each kind of failure lands, in milliseconds.

The worker's side is tested with real imports elsewhere (test_verdicts.py,
test_integrity.py); here the engine's half of the protocol gets hand-written
results, including ones no honest worker sends (a check's data comes from a
process that ran user code).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hotmod.core.diagnose import build_result
from hotmod.core.discovery import ModuleInfo
from hotmod.core.results import Code, Severity
from hotmod.core.worker.protocol import CheckResult


@pytest.fixture
def project(tmp_path: Path) -> dict[str, ModuleInfo]:
    files = {
        "app": "import helper\nVALUE = helper.compute()\n",
        "helper": "def compute():\n    return 1 / 0\n",
        "broken": "def f(:\n    pass\n",
    }
    found = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        found[name] = ModuleInfo(name, path, False)
    return found


def build(raw: CheckResult, module: ModuleInfo, project: dict[str, ModuleInfo]) -> object:
    return build_result(
        raw,
        module,
        {str(m.path): m for m in project.values()},
        timeout_s=5.0,
        memory_limit_mb=512,
        slow_threshold_ms=100.0,
        dev_mode=False,
    )


def frame(module: ModuleInfo, line: int, function: str = "<module>") -> dict[str, object]:
    return {"file": str(module.path), "line": line, "function": function}


def test_an_ok_result_has_no_diagnostics_and_the_timings_it_reports(
    project: dict[str, ModuleInfo],
) -> None:
    app = project["app"]
    raw: CheckResult = {
        "module": "app",
        "outcome": "ok",
        "total_ms": 12.0,
        "inherited_ms": 30.0,
        "modules": {
            "app": {"file": str(app.path), "cumulative_ms": 12.0, "self_ms": 2.0},
            "helper": {"file": str(project["helper"].path), "cumulative_ms": 10.0, "self_ms": 10.0},
        },
        "depends": {"sources": {str(app.path): "d1gest"}, "missing": [], "reads": [], "listed": []},
    }
    result = build(raw, app, project)
    assert result.ok and result.diagnostics == ()  # type: ignore[attr-defined]
    assert (result.load_ms, result.self_ms, result.import_ms) == (12.0, 2.0, 42.0)  # type: ignore[attr-defined]
    assert result.imported == ("helper",)  # type: ignore[attr-defined]
    assert result.digest == "d1gest"  # type: ignore[attr-defined]


def test_an_exception_in_a_dependency_is_a_dependency_error_at_the_import_line(
    project: dict[str, ModuleInfo],
) -> None:
    app, helper = project["app"], project["helper"]
    raw: CheckResult = {
        "module": "app",
        "outcome": "error",
        "error": {
            "type": "ZeroDivisionError",
            "message": "division by zero",
            "frames": [frame(app, 2), frame(helper, 2, "compute")],
        },
    }
    [diagnostic] = build(raw, app, project).diagnostics  # type: ignore[attr-defined]
    assert diagnostic.code == Code.EXCEPTION
    assert diagnostic.span.line == 1 and diagnostic.span.column == 0
    assert diagnostic.message == "ZeroDivisionError: division by zero"
    assert [(r.path, r.span.line) for r in diagnostic.related] == [(helper.path, 1)]


def test_a_syntax_error_points_at_its_column(project: dict[str, ModuleInfo]) -> None:
    broken = project["broken"]
    raw: CheckResult = {
        "module": "broken",
        "outcome": "error",
        "error": {
            "type": "SyntaxError",
            "message": "invalid syntax",
            "is_syntax_error": True,
            "syntax": {"file": str(broken.path), "line": 1, "offset": 7, "msg": "invalid syntax"},
        },
    }
    [diagnostic] = build(raw, broken, project).diagnostics  # type: ignore[attr-defined]
    assert diagnostic.code == Code.SYNTAX_ERROR
    assert (diagnostic.span.line, diagnostic.span.column) == (0, 6)
    assert diagnostic.message == "SyntaxError: invalid syntax"


def test_a_crash_names_the_signal_and_the_line_from_the_dump(
    project: dict[str, ModuleInfo],
) -> None:
    app = project["app"]
    raw: CheckResult = {
        "module": "app",
        "outcome": "crash",
        "exit": {"code": None, "signal": 11},
        "traceback_dump": "Fatal Python error: Segmentation fault\n\n"
        "Current thread 0x00007f (most recent call first):\n"
        f'  File "{app.path}", line 2 in <module>\n',
    }
    [diagnostic] = build(raw, app, project).diagnostics  # type: ignore[attr-defined]
    assert diagnostic.code == Code.CRASH and diagnostic.severity == Severity.ERROR
    assert diagnostic.message == "the interpreter crashed at line 2: killed by SIGSEGV"
    assert diagnostic.span.line == 1


def test_a_timeout_says_the_limit_and_the_line_still_running(
    project: dict[str, ModuleInfo],
) -> None:
    app = project["app"]
    raw: CheckResult = {
        "module": "app",
        "outcome": "timeout",
        "traceback_dump": "Timeout (0:00:05)!\n"
        f'Thread 0x00007f (most recent call first):\n  File "{app.path}", line 2 in <module>\n',
    }
    [diagnostic] = build(raw, app, project).diagnostics  # type: ignore[attr-defined]
    assert diagnostic.code == Code.TIMEOUT
    assert diagnostic.message == "import did not finish within 5 s (still running line 2)"


def test_numbers_no_editor_can_show_are_clamped(project: dict[str, ModuleInfo]) -> None:
    broken = project["broken"]
    raw: CheckResult = {
        "module": "broken",
        "outcome": "error",
        "error": {
            "type": "SyntaxError",
            "is_syntax_error": True,
            "syntax": {"file": str(broken.path), "line": 10**30, "offset": -(10**30), "msg": "x"},
        },
    }
    [diagnostic] = build(raw, broken, project).diagnostics  # type: ignore[attr-defined]
    assert 0 <= diagnostic.span.line < 10_000_000 and 0 <= diagnostic.span.column < 1_000_000


def test_what_hotmod_could_not_find_out_is_said(project: dict[str, ModuleInfo]) -> None:
    app = project["app"]
    raw: CheckResult = {
        "module": "app",
        "outcome": "error",
        "harness": "the module closed hotmod's result pipe at line 2",
        "error": {"type": "ValueError", "message": "late", "frames_unreadable": "audit hook"},
    }
    [diagnostic] = build(raw, app, project).diagnostics  # type: ignore[attr-defined]
    assert diagnostic.message.startswith("ValueError: late (the module closed hotmod's result")
    assert "could not read the traceback (audit hook" in diagnostic.message
