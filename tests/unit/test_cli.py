"""``hotmod check``: exit status, text and JSON output, targets, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hotmod.core import __version__
from hotmod.server.cli import main

from ..conftest import Workspace

TEXT_LINE = re.compile(
    r"^(?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>[a-z-]+) (?P<msg>.+)$"
)

BROKEN = {
    "pyproject.toml": "[project]\nname = 'demo'\n",
    "a.py": "def f():\n    return 1\n",
    "b.py": "import os\nfrom a import g\n",
    "c.py": "import b\n",
    "d.py": "X = 1\n",
}


@pytest.fixture
def project(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A workspace that is also the current directory, with HOTMOD_* unset."""
    monkeypatch.chdir(workspace.root)
    monkeypatch.delenv("HOTMOD_DEV_MODE", raising=False)
    return workspace


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "--python", sys.executable, *args])
    out, err = capsys.readouterr()
    return code, out, err


def hotmod_command() -> list[str]:
    """The installed console script next to this interpreter, else ``-m``."""
    script = Path(sys.executable).with_name("hotmod")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "hotmod.server.cli"]


def test_exit_0_when_everything_loads(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write({"pyproject.toml": "", "a.py": "X = 1\n", "pkg/__init__.py": "", "pkg/m.py": ""})
    code, out, err = run([], capsys)
    assert code == 0
    assert out.startswith("All 3 modules import cleanly (")
    assert err == ""


def test_exit_1_and_linter_lines_when_something_fails(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(BROKEN)
    code, out, _ = run([], capsys)
    assert code == 1
    lines = out.splitlines()
    diagnostics = [m.groupdict() for m in map(TEXT_LINE.match, lines) if m]
    assert diagnostics == [
        {
            "path": "b.py",
            "line": "2",
            "col": "1",
            "code": "import-error",
            "msg": "ImportError: cannot import name 'g' from 'a'",
        },
        {
            "path": "c.py",
            "line": "1",
            "col": "1",
            "code": "dependency-error",
            "msg": "importing 'b' failed: ImportError: cannot import name 'g' from 'a'",
        },
    ]
    assert "    a.py:1: module 'a' is defined here" in lines
    assert lines[-1].startswith("2 of 4 modules failed to import (")


def test_color_always_paints_and_never_does_not(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(BROKEN)
    assert "\033[" in run(["--color", "always"], capsys)[1]
    assert "\033[" not in run(["--color", "never"], capsys)[1]


def test_naming_a_module_checks_it_and_its_dependents(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(BROKEN)
    code, out, _ = run(["--format", "json", "a"], capsys)
    assert code == 1
    assert [m["name"] for m in json.loads(out)["modules"]] == ["a", "b", "c"]
    code, out, _ = run(["--format", "json", "d"], capsys)
    assert code == 0
    assert [m["name"] for m in json.loads(out)["modules"]] == ["d"]


def test_naming_a_file_or_folder(project: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    project.write({**BROKEN, "pkg/__init__.py": "", "pkg/m.py": "import d\n"})
    code, out, _ = run(["--format", "json", "d.py"], capsys)
    assert code == 0
    assert [m["name"] for m in json.loads(out)["modules"]] == ["d", "pkg.m"]
    code, out, _ = run(["--format", "json", "pkg"], capsys)
    assert [m["name"] for m in json.loads(out)["modules"]] == ["pkg", "pkg.m"]


def test_root_is_found_from_a_target_path(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace.write(BROKEN)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = run(["--format", "json", str(workspace.path("d.py"))], capsys)
    assert code == 0
    (module,) = json.loads(out)["modules"]
    assert module["path"] == str(workspace.path("d.py"))


@pytest.mark.parametrize("marker", ["setup.cfg", ".git"])
def test_run_inside_a_package_the_root_is_the_project_root(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    marker: str,
) -> None:
    # No pyproject.toml: the project is marked by another file, or by its repository.
    workspace.write(
        {
            "shop/__init__.py": "",
            "shop/prices.py": "def with_tax(x):\n    return x\n",
            "shop/cart.py": "from shop.prices import discount\n",
        }
    )
    if marker == ".git":
        workspace.path(".git").mkdir()
    else:
        workspace.write({marker: ""})
    monkeypatch.delenv("HOTMOD_DEV_MODE", raising=False)
    monkeypatch.chdir(workspace.path("shop"))
    for targets, checked in (
        ([], ["shop", "shop.cart", "shop.prices"]),
        (["cart.py"], ["shop.cart"]),
    ):
        code, out, _ = run(["--format", "json", *targets], capsys)
        modules = {m["name"]: m for m in json.loads(out)["modules"]}
        assert (code, sorted(modules)) == (1, checked)
        # the real error, not "No module named 'shop'"
        (diagnostic,) = modules["shop.cart"]["diagnostics"]
        assert "cannot import name 'discount' from 'shop.prices'" in diagnostic["message"]


def assert_shape(value: Any, shape: dict[str, type | tuple[type, ...]]) -> None:
    assert isinstance(value, dict)
    assert set(value) == set(shape), sorted(value)
    for key, kind in shape.items():
        assert isinstance(value[key], kind), (key, value[key])


def test_json_output_matches_the_documented_shape(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write({**BROKEN, "s.py": "x = 1\ndef f(:\n    pass\n"})
    code, out, _ = run(["--format", "json"], capsys)
    assert code == 1
    data = json.loads(out)
    assert_shape(data, {"version": int, "python": str, "modules": list})
    assert data["version"] == 1
    assert data["python"] == ".".join(map(str, sys.version_info[:3]))
    assert [m["name"] for m in data["modules"]] == ["a", "b", "c", "d", "s"]
    for module in data["modules"]:
        assert_shape(
            module,
            {
                "name": str,
                "path": str,
                "status": str,
                "load_ms": float,
                "self_ms": float,
                "memory_bytes": int,
                "diagnostics": list,
                "output": str,
                "output_truncated": bool,
            },
        )
        assert Path(module["path"]).is_absolute()
        assert Path(module["path"]) == project.path(module["name"] + ".py")
        assert module["status"] == ("ok" if module["name"] in ("a", "d") else "error")
        assert (module["diagnostics"] == []) == (module["status"] == "ok")
        for diagnostic in module["diagnostics"]:
            assert_shape(
                diagnostic,
                {
                    "path": str,
                    "line": int,
                    "column": int,
                    "end_line": int,
                    "end_column": int,
                    "code": str,
                    "severity": str,
                    "message": str,
                    "related": list,
                },
            )
            assert diagnostic["path"] == module["path"]
            assert diagnostic["severity"] == "error"
            for related in diagnostic["related"]:
                assert_shape(related, {"path": str, "line": int, "message": str})
                assert Path(related["path"]).is_absolute()
    by_name = {m["name"]: m for m in data["modules"]}
    # 1-based lines and columns
    (syntax,) = by_name["s"]["diagnostics"]
    assert (syntax["code"], syntax["line"], syntax["column"]) == ("syntax-error", 2, 7)
    assert (syntax["end_line"], syntax["end_column"]) == (2, 8)
    (imp,) = by_name["b"]["diagnostics"]
    assert (imp["code"], imp["line"], imp["column"]) == ("import-error", 2, 1)
    assert imp["end_column"] == len("from a import g") + 1
    (dep,) = by_name["c"]["diagnostics"]
    assert dep["code"] == "dependency-error"
    assert dep["related"] == [
        {
            "path": str(project.path("b.py")),
            "line": 2,
            "message": "ImportError: cannot import name 'g' from 'a'",
        }
    ]


def test_dev_flag_reports_slow_loads(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(
        {
            "pyproject.toml": "[tool.hotmod]\nslow_threshold_ms = 50\n",
            "sleepy.py": "import time\ntime.sleep(0.12)\n",
        }
    )
    code, out, _ = run([], capsys)
    assert (code, "slow-load" in out) == (0, False)
    code, out, _ = run(["--dev"], capsys)
    assert code == 0  # a warning does not fail the check
    assert re.search(r"^sleepy\.py:1:1: slow-load module 'sleepy' takes \d+ ms", out, re.M)


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        pytest.param(
            {"pyproject.toml": "[tool.hotmod]\nimport_timeout_s = 'x'\n", "a.py": ""},
            [],
            "import_timeout_s must be a positive number of seconds",
            id="bad-config",
        ),
        pytest.param(
            {"pyproject.toml": "[tool.hotmod\n", "a.py": ""}, [], "invalid TOML", id="bad-toml"
        ),
        pytest.param(
            {"pyproject.toml": "", "a.py": ""},
            ["no_such_module"],
            "no_such_module: no such file, folder or project module",
            id="unknown-target",
        ),
        pytest.param(
            {"pyproject.toml": "", "a.py": "", "notes/readme.txt": ""},
            ["notes"],
            "notes: no project modules there",
            id="folder-without-modules",
        ),
        pytest.param(
            {"pyproject.toml": "", "a.py": ""},
            ["--python", "/nonexistent/python3"],
            "Python interpreter not found: /nonexistent/python3",
            id="missing-interpreter",
        ),
    ],
)
def test_exit_2_on_usage_and_configuration_errors(
    project: Workspace,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    project.write(files)
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("hotmod: error: ")
    assert message in err
    assert "Traceback" not in err


def test_console_script_errors_without_traceback(workspace: Workspace) -> None:
    workspace.write({"pyproject.toml": "", "a.py": "X = 1\n"})
    proc = subprocess.run(
        [*hotmod_command(), "check", "--python", "/nonexistent/python3"],
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "HOTMOD_DEV_MODE"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "hotmod: error: Python interpreter not found: /nonexistent/python3 "
        "(set `python` in [tool.hotmod] or pass --python)"
    )


def test_console_script_checks_a_workspace(workspace: Workspace) -> None:
    workspace.write(BROKEN)
    proc = subprocess.run(
        [*hotmod_command(), "check", "--python", sys.executable, "--format", "json"],
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert [m["status"] for m in json.loads(proc.stdout)["modules"]] == [
        "ok",
        "error",
        "error",
        "ok",
    ]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"hotmod {__version__}\n"
    proc = subprocess.run(
        [*hotmod_command(), "--version"], capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (0, f"hotmod {__version__}\n")


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: hotmod" in capsys.readouterr().out


def test_text_output_shows_what_a_failing_module_printed(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = "".join(f"print('step {i}')\n" for i in range(15))
    project.write(
        {"app.py": lines + "raise RuntimeError('no database')\n", "ok.py": "print('hi')\n"}
    )
    code, out, _ = run(["--color", "never"], capsys)
    assert code == 1
    assert "    output of app (last 10 lines):\n    | step 5\n" in out
    assert "    | step 14\n" in out and "step 4\n" not in out
    assert "output of ok" not in out  # only failing modules' output is shown


# Messages of several lines (Django's ImproperlyConfigured), in a diagnostic
# and in a related location; a related "defined here"; a module's output.
MULTILINE = {
    "pyproject.toml": "[project]\nname = 'demo'\n",
    "app/__init__.py": "",
    "app/db.py": (
        "class ImproperlyConfigured(Exception):\n    pass\n\n\n"
        "raise ImproperlyConfigured("
        "'Error loading MySQLdb module.\\nDid you install mysqlclient?')\n"
    ),
    "app/models.py": "import os\nfrom app import db\n",
    "app/util.py": "def f():\n    return 1\n",
    "app/views.py": "print('loading views')\nfrom app.util import g\n",
}
DOCS_CLI = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _checked(capsys: pytest.CaptureFixture[str]) -> tuple[str, list[dict[str, Any]]]:
    """The text output of a check, and the diagnostics of the same check as JSON."""
    _, text, _ = run(["--color", "never"], capsys)
    _, as_json, _ = run(["--format", "json"], capsys)
    modules = json.loads(as_json)["modules"]
    diagnostics = [d for m in modules for d in m["diagnostics"]]
    assert any("\n" in d["message"] for d in diagnostics)  # the case at stake
    assert any("\n" in r["message"] for d in diagnostics for r in d["related"])
    return text, diagnostics


def _first_line(message: str) -> str:
    return message.splitlines()[0]


def test_each_diagnostic_is_one_unindented_line(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write(MULTILINE)
    text, diagnostics = _checked(capsys)
    lines = text.splitlines()
    own = [line for line in lines[:-1] if not line.startswith(" ")]  # [-1]: the summary
    assert own == [
        f"{os.path.relpath(d['path'])}:{d['line']}:{d['column']}: {d['code']} "
        f"{_first_line(d['message'])}"
        for d in diagnostics
    ]
    assert "\n        Did you install mysqlclient?\n" in text
    assert "\n    app/db.py:5: ImproperlyConfigured: Error loading MySQLdb module.\n" in text


def test_vim_default_errorformat_reads_one_entry_per_diagnostic(
    project: Workspace, capsys: pytest.CaptureFixture[str], nvim_bin: str, tmp_path: Path
) -> None:
    """A real Neovim loads the output with `:cgetfile` and its default 'errorformat'."""
    project.write(MULTILINE)
    text, diagnostics = _checked(capsys)
    output, quickfix = tmp_path / "check.txt", tmp_path / "quickfix.json"
    output.write_text(text)
    dump = (
        "lua vim.fn.writefile({vim.json.encode(vim.tbl_map(function(e) return "
        "{file = vim.fn.bufname(e.bufnr), line = e.lnum, col = e.col, text = e.text,"
        f" valid = e.valid}} end, vim.fn.getqflist()))}}, '{quickfix}')"
    )
    subprocess.run(
        [nvim_bin, "--headless", "--clean", "-c", f"cgetfile {output}", "-c", dump, "-c", "qa!"],
        cwd=project.root,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    entries = json.loads(quickfix.read_text())
    with_column = [e for e in entries if e["valid"] and e["col"] > 0]
    assert with_column == [
        {
            "file": os.path.relpath(d["path"]),
            "line": d["line"],
            "col": d["column"],
            "text": f" {d['code']} {_first_line(d['message'])}",
            "valid": 1,
        }
        for d in diagnostics
    ]
    related = [(e["file"], e["line"]) for e in entries if e["valid"] and e["col"] == 0]
    assert related == [
        (os.path.relpath(r["path"]), r["line"]) for d in diagnostics for r in d["related"]
    ]
    text_lines = [e["text"].strip() for e in entries if not e["valid"]]
    assert "Did you install mysqlclient?" in text_lines


def test_documented_problem_matcher_matches_each_diagnostic_once(
    project: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The GitHub Actions problem matcher of docs/cli.md, with Python's `re`
    (its pattern is valid in both)."""
    docs = DOCS_CLI.read_text(encoding="utf-8")
    block = re.search(r"```json\n(\{\n  \"problemMatcher\".*?)```", docs, re.DOTALL)
    assert block, "docs/cli.md has no problem matcher"
    (matcher,) = json.loads(block.group(1))["problemMatcher"]
    (pattern,) = matcher["pattern"]
    regexp = re.compile(pattern["regexp"])
    # a further line of a message that reads like a diagnostic of its own
    conf = "raise ValueError('bad settings\\nsettings.ini:3:1: unknown key x')\n"
    project.write({**MULTILINE, "app/conf.py": conf})
    text, diagnostics = _checked(capsys)
    found = [
        {
            field: match.group(pattern[field])
            for field in ("file", "line", "column", "code", "message")
        }
        for match in map(regexp.match, text.splitlines())
        if match
    ]
    assert found == [
        {
            "file": os.path.relpath(d["path"]),
            "line": str(d["line"]),
            "column": str(d["column"]),
            "code": d["code"],
            "message": _first_line(d["message"]),
        }
        for d in diagnostics
    ]
