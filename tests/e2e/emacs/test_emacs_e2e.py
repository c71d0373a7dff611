"""Emacs's built-in eglot against the real server, with the configuration
docs/editors.md gives (loaded as it is), in ``emacs --batch``.

eglot has no hotmod extension: this checks that a plain LSP client sees the
diagnostics (also those of a file opened after its check: flymake drops what
arrived while the file was closed), their clearing after a fixing save, and
the commands' results
(a message, a Markdown report the server asks it to open). ``driver.el``
does what a user would and writes its observations to a JSON file.

Emacs comes from ``$HOTMOD_EMACS``, else ``emacs`` on PATH; it needs eglot
1.16+ (Emacs 30). ``make e2e-setup`` installs it (tests/e2e/emacs/setup.sh);
without it the test is skipped, except in CI (``$CI``), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hotmod.core.cachedir import workspace_cache_dir

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[2] / "docs" / "editors.md"
MARKER = "<!-- tested: tests/e2e/emacs loads this block -->"
TIMEOUT_S = 90
# prints "<emacs-version> t" when eglot has eglot-execute (1.16+, Emacs 30)
PROBE = "(progn (require 'eglot) (princ (format \"%s %s\" emacs-version (fboundp 'eglot-execute))))"


@pytest.fixture(scope="session")
def emacs_bin() -> str:
    """An Emacs whose eglot the documented configuration works with, or skip."""
    exe = os.environ.get("HOTMOD_EMACS") or shutil.which("emacs")
    found = "no emacs on PATH"
    if exe and not os.access(exe, os.X_OK):
        found = f"{exe} is not an executable"
    elif exe:
        probe = subprocess.run(
            [exe, "--batch", "-Q", "--eval", PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        version, _, usable = probe.stdout.strip().partition(" ")
        if probe.returncode == 0 and usable == "t":
            return exe
        found = f"{exe} is Emacs {version or '?'}, without eglot 1.16+"
    reason = f"needs Emacs 30 (eglot 1.16+): {found}; `make e2e-setup` (root) or set HOTMOD_EMACS"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def documented_config() -> str:
    """The Emacs Lisp block of docs/editors.md marked as tested."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(re.escape(MARKER) + r"\s*```elisp\n(.*?)```", text, re.DOTALL)
    assert match, f"{DOCS} has no ```elisp block after {MARKER!r}"
    return match.group(1)


def _explain(results: dict[str, Any], proc: subprocess.CompletedProcess[str]) -> str:
    data = results.get("data", {})
    return (
        f"returncode={proc.returncode}\nerrors={results.get('errors')}\n"
        f"timed_out={results.get('timed_out')}\n"
        f"steps={json.dumps(results.get('steps'), indent=1)}\n"
        f"stderr={proc.stderr[-3000:]}\nserver stderr:\n{data.get('server_stderr', '')[-3000:]}"
    )


def test_eglot_diagnostics_fix_and_command_results(
    emacs_bin: str, tmp_path: Path, workspace: Path, hotmod_exe: str
) -> None:
    config = tmp_path / "hotmod-eglot.el"
    config.write_text(documented_config(), encoding="utf-8")
    results_file = tmp_path / "results.json"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        # `hotmod` as the documented configuration names it: from PATH
        "PATH": f"{Path(hotmod_exe).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOTMOD_EMACS_CONFIG": str(config),
        "HOTMOD_WORKSPACE": str(workspace),
        "HOTMOD_RESULTS": str(results_file),
        "HOTMOD_TIMEOUT_S": str(TIMEOUT_S),
    }
    # the server must not take this venv for the workspace's interpreter
    env.pop("VIRTUAL_ENV", None)
    env.pop("HOTMOD_DEV_MODE", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [emacs_bin, "--batch", "-Q", "-l", str(HERE / "driver.el")],
        cwd=workspace,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 30,
    )
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    why = _explain(results, proc)
    assert proc.returncode == 0 and results, why
    assert results["errors"] == [] and not results["timed_out"], why
    print(f"\n  emacs run: {time.perf_counter() - start:.2f} s")
    for step in results["steps"]:
        print(f"  {step['ms']:8.0f} ms  {'ok ' if step['ok'] else 'FAIL'} {step['name']}")
    failed = [s["name"] for s in results["steps"] if not s["ok"]]
    assert not failed, why
    d = results["data"]

    assert d["major_mode"] == "python-mode"
    # project-vc-extra-root-markers: the project is the pyproject.toml folder,
    # not the package folder of the opened file
    assert Path(d["project_root"]) == workspace
    assert "hotmod.reloadModule" in d["commands"] and "hotmod.status" in d["commands"]

    # diagnostics on open, in the file and in its dependent, not open
    cart = d["cart_diagnostics"]
    assert [(x["line"], x["type"]) for x in cart] == [(7, "eglot-error")], cart
    assert "import-error" in cart[0]["text"] and "discount" in cart[0]["text"], cart
    assert any("dependency-error" in t for t in d["checkout_diagnostics"]), d
    # opened after the check, the dependent shows its diagnostic in its buffer
    opened = d["checkout_opened_diagnostics"]
    assert [(x["line"], x["type"]) for x in opened] == [(3, "eglot-error")], opened
    assert "dependency-error" in opened[0]["text"], opened

    # a one-line result is a message; a report is a Markdown file eglot opened
    assert "Server reports (type=3): hotmod: Dev mode is now on" in d["messages"], d["messages"]
    report = Path(d["report_file"])
    assert report.parent == workspace_cache_dir(workspace) / "reports", report
    assert d["report_text"].startswith("# hotmod: reloaded `shop.cart`"), d["report_text"]
    assert "## Failures" in d["report_text"] and "shop.checkout" in d["report_text"]

    # the fixing save: didSave, then both cleared
    assert "textDocument/didSave" in d["events"]
    assert d["cart_diagnostics_after"] == []
    assert d["checkout_diagnostics_after"] == []

    # a clean exit, within eglot's patience (it kills a server still running
    # 0.1 s after `exit`, and reports exit status 9)
    assert d["server_exit_status"] == 0, d["messages_at_end"]
    assert "still hasn't run" not in d["messages_at_end"]
    assert "Traceback" not in d["server_stderr"], d["server_stderr"]
