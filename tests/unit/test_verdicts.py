"""Verdict = fresh import: what ``python -c "import m"`` would say, at the right line."""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hotmod.core import Code, Severity, Span

from ..conftest import Workspace
from .helpers import by_name, line_of, only_diagnostic


def fresh_import(root: Path, module: str) -> subprocess.CompletedProcess[str]:
    """``python -c "import module"`` in ``root``: the reference verdict."""
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


# -- edits seen by the same engine ---------------------------------------------

B_SOURCE = '"""Uses a."""\nimport os\nfrom a import f\n\nRESULT = f()\n'


def test_removing_a_function_flags_its_importer_and_restoring_clears_it(
    workspace: Workspace,
) -> None:
    workspace.write({"a.py": "def f():\n    return 1\n", "b.py": B_SOURCE, "c.py": "X = 1\n"})
    a_path = workspace.path("a.py")
    with workspace.engine() as engine:
        assert engine.check().ok

        a_path.write_text("def g():\n    return 1\n")
        report = engine.check_paths([a_path])
        # b is re-checked as a dependent of a; c is not touched.
        assert sorted(by_name(report)) == ["a", "b"]
        b = engine.result("b")
        assert b is not None and not b.ok
        diagnostic = only_diagnostic(b)
        assert diagnostic.code == Code.IMPORT_ERROR
        assert diagnostic.path == workspace.path("b.py")
        assert diagnostic.span.line == line_of(B_SOURCE, "from a import f")
        assert "cannot import name 'f'" in diagnostic.message
        assert [r.path for r in diagnostic.related] == [a_path]

        a_path.write_text("def f():\n    return 2\n")
        report = engine.check_paths([a_path])
        assert report.ok
        b = engine.result("b")
        assert b is not None and b.ok and b.diagnostics == ()


def test_deleting_a_module_flags_its_importers(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n", "b.py": "import os\nimport a\n"})
    with workspace.engine() as engine:
        assert engine.check().ok
        workspace.path("a.py").unlink()
        report = engine.check_paths([workspace.path("a.py")])
        assert report.removed == ("a",)
        assert engine.result("a") is None
        diagnostic = only_diagnostic(engine.result("b"))
    assert diagnostic.code == Code.IMPORT_ERROR
    assert diagnostic.span.line == 1
    assert "No module named 'a'" in diagnostic.message


def test_adding_a_missing_module_clears_its_importers(workspace: Workspace) -> None:
    workspace.write({"b.py": "import newmod\n"})
    with workspace.engine() as engine:
        assert only_diagnostic(engine.check().results[0]).code == Code.IMPORT_ERROR
        workspace.write({"newmod.py": "X = 1\n"})
        report = engine.check_paths([workspace.path("newmod.py")])
        assert sorted(by_name(report)) == ["b", "newmod"]
        assert report.ok


def test_module_registering_itself_passes_every_repeated_check(workspace: Workspace) -> None:
    workspace.write(
        {
            "reg.py": """\
                _registry = set()

                def register(name):
                    if name in _registry:
                        raise ValueError(f"{name} is already registered")
                    _registry.add(name)
            """,
            "plugin.py": "import reg\nreg.register('x')\n",
            "app.py": "import reg\nimport plugin\nreg.register('app')\n",
        }
    )
    assert fresh_import(workspace.root, "app").returncode == 0
    with workspace.engine() as engine:
        for _ in range(3):
            report = engine.check()
            assert report.ok, [d.message for r in report.results for d in r.diagnostics]
        assert engine.check(["plugin"]).ok
        again = engine.check(["reg"])
        assert [(r.name, r.ok) for r in again.results] == [
            ("app", True),
            ("plugin", True),
            ("reg", True),
        ]


# -- circular and relative imports ---------------------------------------------

CYCLES = {
    "mutual-import": {
        "c1.py": "import c2\nX = 1\n",
        "c2.py": "import c1\n\ndef g():\n    return c1.X\n",
    },
    "from-import-one-way": {"a.py": "import b\nX = 1\n", "b.py": "from a import X\n"},
    "from-import-both-ways": {
        "d1.py": "from d2 import Y\nX = 1\n",
        "d2.py": "from d1 import X\nY = 2\n",
    },
    "package-cycle": {
        "pkg/__init__.py": "from .a import A\n",
        "pkg/a.py": "from . import b\nA = 1\n",
        "pkg/b.py": "from pkg import a\n\ndef use():\n    return a.A\n",
    },
}


@pytest.mark.parametrize("files", CYCLES.values(), ids=CYCLES.keys())
def test_circular_imports_get_the_fresh_run_verdict(
    workspace: Workspace, files: dict[str, str]
) -> None:
    workspace.write(files)
    with workspace.engine() as engine:
        results = by_name(engine.check())
    assert len(results) == len(files)
    for name, result in results.items():
        fresh = fresh_import(workspace.root, name)
        assert result.ok == (fresh.returncode == 0), (name, fresh.stderr)
        if not result.ok:
            # The same error: the last line of the fresh traceback, minus the
            # file name that hotmod shows as a related location instead.
            error = fresh.stderr.strip().splitlines()[-1].split(" (/")[0]
            assert error in only_diagnostic(result).message


def test_relative_imports(workspace: Workspace) -> None:
    m_source = "from . import x\nfrom ..pkg import y\nfrom ..pkg.y import Y\n"
    workspace.write(
        {
            "top/__init__.py": "",
            "top/pkg/__init__.py": "",
            "top/pkg/y.py": "Y = 1\n",
            "top/sub/__init__.py": "from . import x\n",
            "top/sub/x.py": "X = 2\n",
            "top/sub/m.py": m_source,
        }
    )
    with workspace.engine() as engine:
        assert engine.check().ok
        assert engine.dependents(["top.pkg.y"]) == {"top.sub.m"}
        workspace.write({"top/pkg/y.py": "Z = 1\n"})
        report = engine.check_paths([workspace.path("top/pkg/y.py")])
        assert sorted(by_name(report)) == ["top.pkg.y", "top.sub.m"]
        diagnostic = only_diagnostic(engine.result("top.sub.m"))
    assert diagnostic.code == Code.IMPORT_ERROR
    assert diagnostic.span.line == line_of(m_source, "from ..pkg.y import Y")


def test_relative_import_beyond_top_level_fails_like_python(workspace: Workspace) -> None:
    workspace.write({"t.py": "import os\nfrom . import x\n", "x.py": ""})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(by_name(engine.check())["t"])
    assert fresh_import(workspace.root, "t").returncode != 0
    assert diagnostic.code == Code.IMPORT_ERROR
    assert diagnostic.span.line == 1
    assert "no known parent package" in diagnostic.message


# -- where failures are reported ------------------------------------------------


def test_error_in_package_init_and_its_submodule(workspace: Workspace) -> None:
    init = "VALUE = 1\nraise RuntimeError('broken package')\n"
    workspace.write({"bad/__init__.py": init, "bad/sub.py": "import os\nZ = 1\n"})
    with workspace.engine() as engine:
        results = by_name(engine.check())
    package = only_diagnostic(results["bad"])
    assert package.code == Code.EXCEPTION
    assert package.path == workspace.path("bad/__init__.py")
    assert package.span.line == 1
    assert package.message == "RuntimeError: broken package"
    sub = only_diagnostic(results["bad.sub"])
    assert sub.code == Code.DEPENDENCY_ERROR
    assert sub.path == workspace.path("bad/sub.py")
    assert "'bad'" in sub.message and "broken package" in sub.message
    assert [(r.path, r.span.line) for r in sub.related] == [(workspace.path("bad/__init__.py"), 1)]


def test_missing_third_party_package(workspace: Workspace) -> None:
    source = "import os\nimport sys\nimport not_installed_pkg_xyz\n"
    workspace.write({"m.py": source})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.IMPORT_ERROR
    assert diagnostic.span == Span(2, 0, 2, len("import not_installed_pkg_xyz"))
    assert "No module named 'not_installed_pkg_xyz'" in diagnostic.message


def test_optional_import_of_a_missing_package_passes(workspace: Workspace) -> None:
    workspace.write(
        {"m.py": "try:\n    import not_installed_pkg_xyz\nexcept ImportError:\n    pass\n"}
    )
    with workspace.engine() as engine:
        assert engine.check().ok


@pytest.mark.parametrize("line", [1, 4, 9])
def test_exception_reported_at_its_line(workspace: Workspace, line: int) -> None:
    source = "x = 1\n" * (line - 1) + "raise KeyError('k')\n" + "y = 2\n"
    workspace.write({"e.py": source})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.EXCEPTION
    assert diagnostic.span == Span(line - 1, 0, line - 1, len("raise KeyError('k')"))
    assert diagnostic.message == "KeyError: 'k'"


def test_exception_inside_a_function_points_at_the_raise(workspace: Workspace) -> None:
    source = "def g():\n    return [][3]\n\n\nVALUE = g()\n"
    workspace.write({"f.py": source})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.EXCEPTION
    assert diagnostic.span == Span(1, 11, 1, 16)  # the `[][3]` expression
    assert diagnostic.message.startswith("IndexError")


def test_failing_dependency_is_a_dependency_error_at_the_import(workspace: Workspace) -> None:
    base = '"""Base."""\n\nRATE = 1 / 0\n'
    user = "import os\n\n\nfrom base import RATE\n"
    workspace.write({"base.py": base, "user.py": user})
    with workspace.engine() as engine:
        results = by_name(engine.check())
    assert only_diagnostic(results["base"]).span.line == 2
    diagnostic = only_diagnostic(results["user"])
    assert diagnostic.code == Code.DEPENDENCY_ERROR
    assert diagnostic.path == workspace.path("user.py")
    assert diagnostic.span.line == 3
    assert "importing 'base' failed" in diagnostic.message
    assert "ZeroDivisionError" in diagnostic.message
    (related,) = diagnostic.related
    assert related.path == workspace.path("base.py")
    assert related.span.line == 2
    assert "ZeroDivisionError" in related.message


def test_syntax_error_span(workspace: Workspace) -> None:
    workspace.write({"s.py": "x = 1\ndef f(:\n    pass\n", "u.py": "import s\n"})
    with workspace.engine() as engine:
        results = by_name(engine.check())
    diagnostic = only_diagnostic(results["s"])
    assert diagnostic.code == Code.SYNTAX_ERROR
    # line 2, column 7 for Python: 0-based here
    assert diagnostic.span == Span(1, 6, 1, 7)
    assert diagnostic.message == "SyntaxError: invalid syntax"
    dependent = only_diagnostic(results["u"])
    assert dependent.code == Code.DEPENDENCY_ERROR
    assert dependent.related[0].span == Span(1, 6, 1, 7)


def test_syntax_error_column_counts_characters(workspace: Workspace) -> None:
    # Compiled from bytes, CPython reports this column in UTF-8 bytes (11).
    source = "x = 1\nlabel = 'éé' $ 2\n"
    workspace.write({"s.py": source})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.SYNTAX_ERROR
    column = source.splitlines()[1].index("$")
    assert diagnostic.span == Span(1, column, 1, column + 1)


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param(b"", id="plain"),
        pytest.param(b"\xef\xbb\xbf", id="utf8-bom"),
        pytest.param(b"x = 1\r\n\r\n", id="crlf"),
        pytest.param(b"x = 1\n\x0c\n", id="form-feed-line"),
        pytest.param("s = '\u2028'\n".encode(), id="line-separator-in-string"),
        pytest.param("s = 'ünïcödé'\n".encode(), id="non-ascii-line"),
    ],
)
def test_exception_columns_survive_unusual_source_text(workspace: Workspace, prefix: bytes) -> None:
    workspace.path("m.py").write_bytes(prefix + "name = 'é'; value = [1, 2, 3][10]\n".encode())
    line = prefix.count(b"\n")
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.EXCEPTION
    text = "name = 'é'; value = [1, 2, 3][10]"
    start = text.index("[1, 2, 3][10]")
    assert diagnostic.span == Span(line, start, line, len(text))


# -- runaway modules --------------------------------------------------------------


def test_timeout_is_reported_at_the_running_line(workspace: Workspace) -> None:
    workspace.write({"t.py": "import os\n\nwhile True: pass\n", "ok.py": "X = 1\n"})
    with workspace.engine(import_timeout_s=1) as engine:
        diagnostic = only_diagnostic(engine.check(["t"]).results[0])
        assert diagnostic.code == Code.TIMEOUT
        assert diagnostic.span.line == 2
        assert "1 s" in diagnostic.message
        # The worker survives: the next checks work.
        assert engine.check(["ok"]).ok
        workspace.write({"t.py": "import os\n\nX = 1\n"})
        assert engine.check_paths([workspace.path("t.py")]).ok


def test_segfault_is_a_crash(workspace: Workspace) -> None:
    workspace.write({"cr.py": "import ctypes\nctypes.string_at(0)\n", "ok.py": "X = 1\n"})
    with workspace.engine() as engine:
        results = by_name(engine.check())
    diagnostic = only_diagnostic(results["cr"])
    assert diagnostic.code == Code.CRASH
    assert diagnostic.span.line == 1
    assert "SIGSEGV" in diagnostic.message
    assert results["ok"].ok


def test_os_exit_is_a_crash_that_says_so(workspace: Workspace) -> None:
    workspace.write({"ex.py": "import os\nos._exit(3)\n"})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.CRASH
    assert "os._exit(3)" in diagnostic.message
    assert diagnostic.span.line == 1


def test_sys_exit_at_import_is_an_exception(workspace: Workspace) -> None:
    workspace.write({"se.py": "import sys\nsys.exit(2)\n"})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.EXCEPTION
    assert diagnostic.message == "SystemExit: 2"
    assert diagnostic.span.line == 1


def test_module_stdout_is_captured(workspace: Workspace, capfd: pytest.CaptureFixture[str]) -> None:
    workspace.write({"o.py": "print('hello from o')\nprint('second line')\n"})
    with workspace.engine() as engine:
        result = engine.check().results[0]
    assert result.ok
    assert result.output == "hello from o\nsecond line\n"
    assert not result.output_truncated
    assert "hello from o" not in capfd.readouterr().out  # not leaked to our stdout


def test_huge_output_is_capped_without_deadlock(workspace: Workspace) -> None:
    workspace.write({"big.py": "import sys\nsys.stdout.write('x' * 5_000_000)\nDONE = True\n"})
    with workspace.engine(output_limit_bytes=10_000) as engine:
        result = engine.check().results[0]
    assert result.ok
    assert result.output_truncated
    assert result.output == "x" * 10_000


def test_input_at_import_sees_an_empty_stdin(workspace: Workspace) -> None:
    workspace.write({"i.py": "import os\nanswer = input('name? ')\n"})
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.EXCEPTION
    assert diagnostic.message.startswith("EOFError")
    assert diagnostic.span.line == 1


def rewrite_in_place(path: Path, text: str) -> None:
    """New content of the same size and the same mtime: only the bytes tell."""
    before = path.stat()
    path.write_text(text)
    assert path.stat().st_size == before.st_size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_stale_pyc_cannot_cause_a_stale_verdict(workspace: Workspace) -> None:
    a_path = workspace.path("a.py")
    a_path.write_text("X = 11\n")
    with workspace.engine() as engine:
        assert engine.check().ok
        py_compile.compile(str(a_path))  # bytecode of the good version
        # The .pyc still looks valid for the new source.
        rewrite_in_place(a_path, "1 / 0\n\n")
        report = engine.check()
    assert not report.ok
    assert only_diagnostic(report.results[0]).message == "ZeroDivisionError: division by zero"


# The zygote compiles the project when it starts (worker/precompile.py) and what
# checks had to compile once it has been idle a moment (worker/codecache.py);
# later checks run that code when the bytes match.
ZYGOTE_IDLE_S = 0.3


def test_code_compiled_in_the_worker_never_outlives_an_edit(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 11\n", "b.py": "from a import X\n"})
    with workspace.engine() as engine:
        assert engine.check().ok
        time.sleep(ZYGOTE_IDLE_S)  # a and b are compiled in the zygote now
        rewrite_in_place(workspace.path("a.py"), "Y = 11\n")
        report = engine.check(["b"])
    assert only_diagnostic(by_name(report)["b"]).message.startswith(
        "ImportError: cannot import name 'X' from 'a'"
    )


def test_compile_warnings_are_printed_by_every_check(workspace: Workspace) -> None:
    # A fresh import compiles the module and prints the warning each time.
    workspace.write({"w.py": "assert (1, 'always true')\nX = 1\n"})
    with workspace.engine() as engine:
        first = engine.check().results[0]
        time.sleep(ZYGOTE_IDLE_S)
        again = engine.check().results[0]
    for result in (first, again):
        assert result.ok
        assert "SyntaxWarning: assertion is always true" in result.output


def test_same_size_same_mtime_edit_is_parsed_again(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n", "b.py": "Y = 1111\n"})
    b_path = workspace.path("b.py")
    with workspace.engine() as engine:
        assert engine.check().ok
        rewrite_in_place(b_path, "import a\n")
        assert engine.check_paths([b_path]).ok
        parsed = engine.parsed("b")
        assert parsed is not None
        assert [(ref.target, ref.line) for ref in parsed.imports] == [("a", 0)]
        assert engine.dependents(["a"]) == {"b"}
        workspace.write({"a.py": "raise RuntimeError('a broke')\n"})
        report = engine.check_paths([workspace.path("a.py")])
    assert sorted(r.name for r in report.failed) == ["a", "b"]


def test_many_modules_checked_concurrently_never_crash(workspace: Workspace) -> None:
    # Regression: a check forked while a finished sibling was not yet reaped
    # crashed with exit status 71 (the sibling's closed pipe was None).
    workspace.write({f"m{i:02d}.py": "X = 1\n" for i in range(40)})
    with workspace.engine(env={"HOTMOD_WORKER_JOBS": "4"}) as engine:
        for _ in range(2):
            report = engine.check()
            assert len(report.results) == 40
            assert report.ok, [d.message for r in report.failed for d in r.diagnostics]


def test_a_module_named_with_a_keyword_is_checked_and_noted(workspace: Workspace) -> None:
    workspace.write({"locale/__init__.py": "", "locale/is/__init__.py": "NAME = 'Icelandic'\n"})
    with workspace.engine() as engine:
        result = engine.check(["locale.is"]).results[0]
    assert result.ok  # importlib.import_module imports it
    [note] = result.diagnostics
    assert note.code is Code.KEYWORD_NAME and note.severity is Severity.INFORMATION
    assert "no import statement can name 'locale.is'" in note.message
