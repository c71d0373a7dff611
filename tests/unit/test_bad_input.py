"""Bad input on disk: odd encodings, vanishing files, symlink loops, huge modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hotmod.core import Code, ConfigError, Engine

from ..conftest import Workspace
from .helpers import by_name, only_diagnostic


def test_non_utf8_source_is_a_syntax_error_at_its_line(workspace: Workspace) -> None:
    workspace.path("latin.py").write_bytes(b"X = 1\nNAME = '\xe9t\xe9'\n")
    # A declared encoding is honoured, as by Python.
    workspace.path("declared.py").write_bytes(b"# -*- coding: latin-1 -*-\nNAME = '\xe9t\xe9'\n")
    with workspace.engine() as engine:
        results = by_name(engine.check())
    diagnostic = only_diagnostic(results["latin"])
    assert diagnostic.code == Code.SYNTAX_ERROR
    assert "utf-8" in diagnostic.message.lower()
    assert results["declared"].ok


def test_file_deleted_between_save_and_check(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n", "b.py": "import a\n"})
    with workspace.engine() as engine:
        assert engine.check().ok
        workspace.path("a.py").unlink()
        # The engine still believes in `a` (no rescan yet): the check says
        # what importing it says now, and nothing breaks.
        stale = by_name(engine.check(["a"], dependents=False))["a"]
        assert only_diagnostic(stale).code == Code.IMPORT_ERROR
        # The save notification arrives after the deletion: `a` is gone.
        report = engine.check_paths([workspace.path("a.py")])
        assert report.removed == ("a",)
        assert only_diagnostic(by_name(report)["b"]).code == Code.IMPORT_ERROR


def test_symlink_loops_under_module_dirs_terminate(workspace: Workspace) -> None:
    workspace.write({"pkg/__init__.py": "", "pkg/mod.py": "X = 1\n"})
    os.symlink(workspace.path("pkg"), workspace.path("pkg/again"))  # pkg/again -> pkg
    os.symlink(workspace.path("pkg/self"), workspace.path("pkg/self"))  # dangling, to itself
    with workspace.engine() as engine:
        report = engine.check()
    assert {"pkg", "pkg.mod"} <= {r.name for r in report.results}
    assert len(report.results) <= 4  # not an endless pkg.again.again... walk
    assert report.ok


def test_ten_megabyte_module(workspace: Workspace) -> None:
    filler = "# " + "x" * 97 + "\n"  # 100 bytes a line
    lines = 10 * 1024 * 1024 // len(filler)
    source = "import os\n" + filler * lines + "VALUE = 1 / 0\n"
    workspace.path("huge.py").write_text(source)
    with workspace.engine() as engine:
        diagnostic = only_diagnostic(engine.check().results[0])
    assert diagnostic.code == Code.EXCEPTION
    assert diagnostic.span.line == lines + 1
    assert diagnostic.message == "ZeroDivisionError: division by zero"


def test_missing_module_dirs_are_a_config_error(workspace: Workspace, tmp_path: Path) -> None:
    # Checking nothing and saying "all 0 modules import" would hide the mistake.
    workspace.write({"a.py": "X = 1\n"})
    with pytest.raises(ConfigError, match=r"module_dirs: no such folder: .*does-not-exist"):
        Engine(workspace.root, {"module_dirs": ["does-not-exist", str(tmp_path / "gone")]})


def test_module_dir_that_is_a_file(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n"})
    with pytest.raises(ConfigError, match="module_dirs: no such folder"):
        Engine(workspace.root, {"module_dirs": ["a.py"]}, environ={})
