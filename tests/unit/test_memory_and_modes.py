"""Memory figures, the no-fork worker, untrusted syntax checks, CLI edges."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hotmod.core.config import detect_module_dirs
from hotmod.core.discovery import ModuleInfo
from hotmod.core.syntax import syntax_diagnostics

from ..conftest import Workspace


def test_memory_per_check_reflects_what_the_module_allocates(workspace: Workspace) -> None:
    workspace.write(
        {
            "small.py": "DATA = b'x' * 1024\n",
            "large.py": "DATA = [0] * (50 * 1024 * 1024 // 8)\n",  # a 50 MB list
            "empty.py": "X = 1\n",
        }
    )
    with workspace.engine() as engine:
        engine.check()
        memory = {name: engine.result(name).memory for name in ("small", "large", "empty")}  # type: ignore[union-attr]
    assert memory["large"].bytes >= 0.95 * 50 * 1024 * 1024  # RSS is page-granular
    assert memory["small"].bytes < 1024 * 1024  # the calibrated baseline is subtracted
    assert memory["empty"].bytes < 256 * 1024
    assert not memory["large"].traced


def test_measure_memory_attributes_bytes_without_counting_a_load(workspace: Workspace) -> None:
    workspace.write({"large.py": "DATA = [0] * (10 * 1024 * 1024 // 8)\n", "small.py": "X = 1\n"})
    with workspace.engine(dev_mode=True, slow_threshold_ms=1_000_000) as engine:
        engine.check()
        before = engine.performance_summary()
        report = engine.memory_report(measure=True)
        after = engine.performance_summary()
        large = engine.result("large")
    assert large is not None and large.memory.traced
    assert large.memory.traced_bytes >= 10 * 1024 * 1024
    assert [m.module for m in report.modules] == ["large", "small"]
    assert report.modules[0].traced is True
    # A measurement is not a reload.
    assert after.total_loads == before.total_loads
    assert after.reload_counts == before.reload_counts


def test_no_fork_mode_gives_the_same_verdicts(workspace: Workspace) -> None:
    workspace.write(
        {
            "a.py": "def f():\n    return 1\n",
            "b.py": "from a import g\n",
            "c.py": "import time\n\nwhile True:\n    time.sleep(0.01)\n",
        }
    )
    with workspace.engine(env={"HOTMOD_WORKER_NO_FORK": "1"}, import_timeout_s=1) as engine:
        report = engine.check()
        results = {r.name: r for r in report.results}
        assert results["a"].ok
        [d] = results["b"].diagnostics
        assert (d.code.value, d.span.line) == ("import-error", 0)
        [t] = results["c"].diagnostics
        assert (t.code.value, t.span.line) == ("timeout", 3)
        assert engine.status().worker_pid is not None


def test_untrusted_syntax_check_columns_are_characters(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("x = 'éé' $ 2\n", encoding="utf-8")
    [d] = syntax_diagnostics(ModuleInfo("m", path, False))
    assert d.code.value == "syntax-error"
    assert d.span.column == 9  # the `$`, counted in characters (bytes would say 11)


def test_src_with_only_a_pycache_is_not_a_src_layout(tmp_path: Path) -> None:
    (tmp_path / "src" / "__pycache__").mkdir(parents=True)
    (tmp_path / "app.py").write_text("X = 1\n")
    assert detect_module_dirs(tmp_path) == (tmp_path,)
    (tmp_path / "src" / "pkg").mkdir()
    assert detect_module_dirs(tmp_path) == (tmp_path / "src",)


def test_check_piped_into_head_ends_quietly(workspace: Workspace) -> None:
    workspace.write({f"m{i}.py": "X = 1\n" for i in range(30)})
    hotmod = Path(sys.executable).with_name("hotmod")
    pipeline = subprocess.run(
        f"'{hotmod}' check --format json | head -c 10",
        shell=True,
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert pipeline.stdout == '{\n  "versi'
    assert "Traceback" not in pipeline.stderr
    assert "BrokenPipe" not in pipeline.stderr
