"""The Neovim plugin (editors/nvim) in a real headless Neovim.

Run just these: ``pytest -m nvim tests/e2e/nvim`` (``-s`` prints timings).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.live_program import SCRIPT, LiveProgram

# (no `from conftest import ...`: another rootless conftest.py may shadow it)
PLUGIN = Path(__file__).resolve().parents[3] / "editors" / "nvim"
NvimRun = Any  # conftest.NvimRun

pytestmark = pytest.mark.nvim

COMMANDS = [
    "HotmodDevMode",
    "HotmodLive",
    "HotmodLiveApply",
    "HotmodLiveRestart",
    "HotmodMemory",
    "HotmodPerf",
    "HotmodProfile",
    "HotmodRefresh",
    "HotmodReload",
    "HotmodReloadAll",
    "HotmodStatus",
    "HotmodTrust",
    "HotmodUntrust",
]
ERROR = 4  # vim.log.levels.ERROR


def _ok(run: NvimRun) -> None:
    assert run.results.get("errors") == [], run.explain()
    assert not run.results.get("timed_out"), run.explain()
    assert run.returncode == 0, run.explain()
    print(f"\n  nvim run: {run.seconds:.2f} s")
    for step in run.results.get("steps", []):
        waited = f" (waited {step['waited_ms']:.0f} ms)" if "waited_ms" in step else ""
        print(f"  {step['ms']:8.0f} ms  {'ok ' if step['ok'] else 'FAIL'} {step['name']}{waited}")


def _step(run: NvimRun, name: str) -> dict[str, Any]:
    for step in run.results.get("steps", []):
        if step["name"] == name:
            return step
    raise AssertionError(f"no step {name!r}\n{run.explain()}")


def _steps_ok(run: NvimRun, *names: str) -> None:
    for name in names:
        assert _step(run, name)["ok"], f"step {name!r} failed\n{run.explain()}"


def _text(lines: list[str]) -> str:
    return "\n".join(lines)


# -- no server needed -----------------------------------------------------------
def test_plugin_without_server(run_nvim: Any, tmp_path: Path, workspace: Path) -> None:
    """Commands, setup(), the lsp/ config, trust storage and prompt, reports
    in a float, :checkhealth hotmod and :helptags, in a copy of the plugin
    (:helptags writes doc/tags)."""
    plugin = tmp_path / "plugin-copy"
    shutil.copytree(PLUGIN, plugin, ignore=shutil.ignore_patterns("tags"))
    run = run_nvim("plugin", workspace=workspace, plugin_dir=plugin, timeout=30)
    _ok(run)
    d = run.data

    assert d["commands"] == COMMANDS

    cfg = d["default_config"]
    assert cfg["cmd"] == ["hotmod", "serve"]
    assert cfg["filetypes"] == ["python"]
    assert cfg["root_markers"] == [["pyproject.toml", "setup.py"], ".git"]
    assert cfg["has_root_dir_fn"] is True
    assert cfg["refresh_support"] is True
    assert sorted(cfg["handlers"]) == ["hotmod/status", "workspace/codeLens/refresh"]
    assert d["enabled_before_setup"] is False

    assert "trust must be true, false or 'ask'" in d["bad_trust_error"]
    assert "output must be 'float' or 'split'" in d["bad_output_error"]

    setup = d["setup_config"]
    assert setup["cmd"][1:] == ["serve"] and setup["cmd"][0].endswith("hotmod")
    assert setup["settings"] == {"hotmod": {"slowThresholdMs": 25, "devMode": False}}
    assert d["enabled_after_setup"] is True

    assert d["init_options_untrusted"] == {
        "python": "python3.12",
        "slowThresholdMs": 25,
        "devMode": False,
        "trusted": False,
        "hotmodClient": "nvim",
    }
    assert d["init_options_preapproved"] == {"trusted": True, "hotmodClient": "nvim"}

    # trust: one prompt for two buffers of a root, remembered under stdpath('state')
    assert d["trust_store"] == d["state_dir"] + "/hotmod/trust.json"
    assert d["trust_prompts"] == 1
    assert d["trust_answers"] == [True, True, True]
    assert str(workspace) in d["prompt"]
    assert d["trust_file_exists"] is True
    assert json.loads(_text(d["trust_file"]))["roots"] == {str(workspace): True}
    assert d["trust_remembered"] is True
    assert d["trust_after_forget"] is True

    assert d["statusline_no_server"] == ""
    errors = [n for n in d["no_server_notifications"] if n["level"] == ERROR]
    assert errors and "no hotmod language server is running" in errors[0]["msg"]

    assert d["report_lines"] == ["# hotmod: status", "", "| a | b |", "| --- | --- |"]
    assert "sent no report" in _text(d["report_missing"])

    assert d["float"]["relative"] == "editor"
    assert d["float"]["lines"] == d["report_lines"]
    assert d["float"]["filetype"] == "markdown"
    assert d["float_closed"] is True

    health = _text(d["health"])
    assert "hotmod" in health and "Neovim 0.1" in health
    assert "server executable:" in health
    assert "--version: hotmod " in health
    assert "interpreter:" in health and "Python 3." in health
    assert "ERROR" not in health, health
    missing = _text(d["health_missing"])
    assert 'server executable "/nonexistent/hotmod" not found' in missing
    assert "ERROR" in missing

    assert d["helptags_error"] is None
    tags = {line.split("\t")[0] for line in d["tags"]}
    for command in COMMANDS:
        assert f":{command}" in tags
    for tag in ("hotmod", "hotmod.setup()", "hotmod-trust", "hotmod.statusline()"):
        assert tag in tags
    assert all(v == "hotmod.txt" for v in d["help"].values()), d["help"]


# -- with the server ----------------------------------------------------------------
def test_diagnostics_fix_lenses_commands(run_nvim: Any, workspace: Path) -> None:
    """The whole loop in a trusted workspace: open the broken cart, see its
    import error and the checkout's dependency error, run the commands, fix
    prices.py with a buffer edit and :write, see both errors go, lenses."""
    run = run_nvim("server", workspace=workspace, timeout=60)
    _ok(run)
    d = run.data
    _steps_ok(run, "client attached", "diagnostics published")

    assert d["init_trusted"] is True
    assert d["root_dir"] == str(workspace)
    assert d["slow_threshold_ms"] == 7  # setup({settings}) reached the server

    cart = d["cart_diagnostics"]
    import_errors = [x for x in cart if x["code"] == "import-error"]
    assert import_errors, run.explain()
    assert import_errors[0]["lnum"] == 6  # line 7, 1-based
    assert import_errors[0]["severity"] == 1  # ERROR
    assert import_errors[0]["source"] == "hotmod"
    assert "discount" in import_errors[0]["message"]
    checkout = d["checkout_diagnostics"]
    assert any(x["code"] == "dependency-error" and x["severity"] == 1 for x in checkout), checkout
    assert d["checkout_loaded"] is False  # read without opening it

    _steps_ok(run, "status idle (broken)")
    assert d["statusline_broken"] == "hotmod: 2/5 broken"

    # lenses before the fix: the broken module's own lens
    _steps_ok(run, "cart lenses")
    assert any(" ms" in t for t in d["cart_lenses"]), d["cart_lenses"]
    assert any(" ms" in t for t in d["cart_lens_virt_text"]), d["cart_lens_virt_text"]

    # running the module's lens shows the reload's report (not just sends it)
    _steps_ok(run, "lens run")
    assert _text(d["lens_output"]).startswith("# hotmod: reloaded `shop.cart`")

    # commands: the server's reports, in a float
    _steps_ok(run, ":HotmodStatus", ":HotmodReload", ":HotmodReloadAll", ":HotmodMemory")
    status = _text(d["status_output"])
    assert "# hotmod: status" in status and str(workspace) in status
    assert "| Workspace trusted | yes" in status
    reload = _text(d["reload_output"])
    assert reload.startswith("# hotmod: reloaded `shop.cart`") and "shop.checkout" in reload
    assert "[`shop/cart.py:7:1`]" in reload and "**import-error**" in reload  # the failure's place
    assert d["reload_float"] == "editor"
    reload_all = _text(d["reload_all_output"])
    assert "Reloaded 5 modules in " in reload_all
    assert ": 2 failed (shop.cart, shop.checkout)" in reload_all
    memory = _text(d["memory_output"])
    assert "# hotmod: memory report" in memory and "shop" in memory
    for out in ("status_output", "reload_output", "reload_all_output", "memory_output"):
        assert not any(line.lstrip().startswith("{") for line in d[out]), d[out]

    # :HotmodProfile (current file, then by name): the float names the module,
    # and the server asked Neovim to open each HTML report
    _steps_ok(run, ":HotmodProfile", "profile report opened")
    profile = _text(d["profile_output"])
    assert profile.startswith("# hotmod: profile of `shop.cart`"), profile
    # cart is broken: profiled up to the failure
    assert "**error**" in profile and "discount" in profile
    assert "## Hottest lines" in profile and "## Imports" in profile
    assert d["profile_float"] == "editor"
    named = _text(d["profile_named_output"])
    assert named.startswith("# hotmod: profile of `shop.catalog`") and "shop.prices" in named, named
    lines = d["profile_output"] + d["profile_named_output"]
    assert not any(line.lstrip().startswith("{") for line in lines)  # rendered, not raw JSON
    assert len(d["opened"]) == 2 and all(
        uri.startswith("file://") and uri.endswith(".html") for uri in d["opened"]
    ), d["opened"]
    assert "shop.cart" in d["opened"][0] and "shop.catalog" in d["opened"][1], d["opened"]

    # errors from the server are notified at ERROR level
    _steps_ok(run, "bad module error")
    bad = [n for n in d["bad_module_notifications"] if n["level"] == ERROR]
    assert bad and "no.such.module" in bad[0]["msg"], d["bad_module_notifications"]

    # the fix: both errors cleared
    _steps_ok(run, "prices attached", "diagnostics cleared")
    assert d["wrote_prices"] is True
    # the save reached the server as didSave (not only through its file watcher)
    assert "Notification 'textDocument/didSave' received" in run.server_log.read_text()
    assert d["cart_diagnostics_after"] == []
    assert d["checkout_diagnostics_after"] == []
    _steps_ok(run, "status idle (ok)")
    assert d["statusline_ok"] == "hotmod: 5 ok"

    # lenses refreshed by the server after the check
    _steps_ok(run, "prices lenses")
    assert any(" ms" in t and "reloaded" in t for t in d["prices_lenses"]), d["prices_lenses"]
    _steps_ok(run, "cart lenses refreshed")
    assert not any("failed" in t for t in d["cart_lenses_after"]), d["cart_lenses_after"]

    # :HotmodPerf names the modules
    _steps_ok(run, ":HotmodPerf")
    perf = _text(d["perf_output"])
    assert "# hotmod: performance summary" in perf
    assert "shop.prices" in perf or "shop.cart" in perf, perf
    assert d["perf_float"] == "editor"

    _steps_ok(run, ":HotmodDevMode")
    assert d["dev_mode"] is True

    print(f"  time to first diagnostics: {d['time_to_diagnostics_ms']:.0f} ms")
    print(f"  time from :write to cleared: {d['time_to_clear_ms']:.0f} ms")


def test_trust_prompt_untrusted_then_trust(run_nvim: Any, workspace: Path) -> None:
    """No pre-approval: the prompt is answered "do not trust" (remembered);
    the server runs untrusted (no import checks, commands refused); then
    :HotmodTrust restarts it trusted and the import error appears."""
    run = run_nvim("trust", workspace=workspace, timeout=60)
    _ok(run)
    d = run.data
    assert d["prompts"] == 1
    _steps_ok(run, "client attached", "status untrusted")
    assert d["init_trusted_first"] is False
    assert d["statusline_untrusted"] == "hotmod: untrusted"
    assert not [x for x in d["cart_diagnostics_untrusted"] if x["code"] == "import-error"]
    refused = [n for n in d["untrusted_reload_notifications"] if n["level"] == ERROR]
    assert refused and "not trusted" in refused[0]["msg"], d["untrusted_reload_notifications"]
    assert d["trust_file_first"] == {str(workspace): False}

    _steps_ok(run, "restarted trusted", "import error after trust")
    assert d["init_trusted_second"] is True
    assert d["trust_file_second"] == {str(workspace): True}
    assert d["prompts_total"] == 1  # the stored answer is not asked again


def test_enable_without_setup(run_nvim: Any, workspace: Path) -> None:
    """Just `vim.lsp.enable('hotmod')`: the default cmd `hotmod serve` from $PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    run = run_nvim("enable", workspace=workspace, timeout=60, env={"PATH": path})
    _ok(run)
    _steps_ok(run, "import error", "status")
    assert run.data["cmd"] == ["hotmod", "serve"]
    assert run.data["root_dir"] == str(workspace)
    assert run.data["statusline"].startswith("hotmod: ")


# A healthy shop (the example's cart is broken, and a save is applied only when
# its dependents pass) with a dataclass, for live reload.
LIVE_FILES = {
    "shop/prices.py": (
        "def price(x):\n    return x * 2\n\n\nTAX_RATE = 0.2\n\n\n"
        "def with_tax(amount):\n    return round(amount * (1 + TAX_RATE), 2)\n\n\n"
        "def discount(amount):\n    return amount\n"
    ),
    "shop/orders.py": (
        "from dataclasses import dataclass\n\n\n@dataclass\nclass Order:\n    total: int\n"
    ),
}


def test_live_lens_status_applied_save_and_refusal(run_nvim: Any, workspace: Path) -> None:
    """A program with an agent runs in the workspace: its modules get the live
    lens and the statusline says `live 1`; a save to prices.py runs in the
    program; a dataclass gaining a field is a `hotmod live` warning at the field."""
    for name, text in LIVE_FILES.items():
        (workspace / name).write_text(text)
    with (workspace / "pyproject.toml").open("a") as f:
        f.write(f"exclude = [{SCRIPT!r}]\n")
    program = LiveProgram(workspace)
    try:
        program.ask("__import__('shop.orders')")
        run = run_nvim("live", workspace=workspace, timeout=60)
        _ok(run)
        d = run.data
        _steps_ok(run, "client attached", "statusline live 1", "live lens")
        assert d["statusline"] == "hotmod: 6 ok · live 1", d["statusline"]
        assert d["status"]["live"] == 1
        assert "live in 1 process" in d["prices_lenses"], d["prices_lenses"]

        _steps_ok(run, "applied lens")
        assert "live in 1 process · applied 1\u00d7" in d["prices_lenses_after"]
        assert program.ask("prices.price(10)") == "30"  # the save runs in the program

        _steps_ok(run, "orders attached", "refusal warning")
        [warning] = d["orders_warnings"]
        assert warning["message"] == "needs restart: dataclass Order gained a field"
        assert warning["lnum"] == 6 and warning["severity"] == 2  # WARN, at the field
        fields = "len(__import__('dataclasses').fields(sys.modules['shop.orders'].Order))"
        assert program.ask(fields) == "1"

        _steps_ok(run, ":HotmodLive")
        listed = _text(d["live_output"])
        assert "# hotmod: live processes" in listed and f"| {program.pid} |" in listed, listed
    finally:
        program.stop()
