"""workspace/executeCommand: result shapes, bad params, lenses, shutdown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psutil
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from .conftest import Session, uri

MODULE_KEYS = {
    "name",
    "path",
    "status",
    "load_ms",
    "self_ms",
    "memory_bytes",
    "diagnostics",
    "output",
    "output_truncated",
}


async def test_reload_module_by_name_and_by_uri(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    by_name = await lsp.command("hotmod.reloadModule", {"module": "shop.prices"})
    assert by_name["module"] == "shop.prices" and by_name["found"] is True
    assert set(by_name["result"]) == MODULE_KEYS
    assert by_name["result"]["status"] == "ok"
    dependents = {r["name"]: r["status"] for r in by_name["dependents"]}
    assert dependents == {"shop.cart": "error", "shop.checkout": "error", "shop.catalog": "ok"}
    assert by_name["message"] == (
        "Reloaded shop.prices and 3 dependents: 2 failed (shop.cart, shop.checkout)"
    )
    # The same, rendered: the failures with their locations.
    assert by_name["markdown"].startswith("# hotmod: reloaded `shop.prices`\n")
    cart_line = f"[`shop/cart.py:3:1`]({uri(shop / 'shop/cart.py')}#L3) **import-error**"
    assert cart_line in by_name["markdown"]
    by_uri = await lsp.command("hotmod.reloadModule", {"uri": (shop / "shop/cart.py").as_uri()})
    assert by_uri["module"] == "shop.cart"
    assert by_uri["result"]["diagnostics"][0]["code"] == "import-error"
    assert by_uri["result"]["diagnostics"][0]["line"] == 3  # 1-based, as in the CLI's JSON


async def test_reload_module_without_a_target_takes_the_only_open_module(
    lsp: Session, shop: Path
) -> None:
    await lsp.start(shop)
    await lsp.idle()
    with pytest.raises(JsonRpcInvalidParams) as none_open:
        await lsp.command("hotmod.reloadModule")
    message = str(none_open.value)
    assert (
        '{"uri": ...} or {"module": ...}' in message
        and "no module of the workspace is open" in message
    )
    assert "modules: shop, shop.cart, shop.catalog, shop.checkout, shop.prices" in message

    catalog, cart = shop / "shop/catalog.py", shop / "shop/cart.py"
    lsp.open(catalog)
    assert (await lsp.command("hotmod.reloadModule"))["module"] == "shop.catalog"
    # Asking for another file's lenses (a client rendering it) is no sign that
    # the user looks at it.
    await lsp.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri(cart)))
    )
    assert (await lsp.command("hotmod.profileModule", {"open": False}))["module"] == "shop.catalog"

    # Two open: which one the user looks at is unknown, so the server does not guess.
    lsp.open(cart)
    for name in ("hotmod.reloadModule", "hotmod.profileModule"):
        with pytest.raises(JsonRpcInvalidParams) as two_open:
            await lsp.command(name)
        assert str(two_open.value).startswith(f'{name} needs {{"uri": ...}} or {{"module": ...}}')
        assert "2 modules are open (catalog.py, cart.py)" in str(two_open.value)
    lsp.close(catalog)
    assert (await lsp.command("hotmod.reloadModule"))["module"] == "shop.cart"


async def test_reload_all_refresh_and_reports(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    report = await lsp.command("hotmod.reloadAll")
    assert report["modules"] == 5 and report["failed"] == 2
    assert report["markdown"].startswith("# hotmod: reload all modules\n")
    assert report["message"].startswith("Reloaded 5 modules in ")
    assert {r["name"] for r in report["results"]} >= {"shop.cart", "shop.prices"}
    (shop / "shop/new.py").write_text("import shop.prices\n")
    (shop / "shop/catalog.py").unlink()
    refreshed = await lsp.command("hotmod.refresh", {})
    assert refreshed["added"] == ["shop.new"]
    assert refreshed["removed"] == ["shop.catalog"]
    assert refreshed["modules"] == 5
    assert "**Added:** `shop.new`" in refreshed["markdown"]

    summary = await lsp.command("hotmod.performanceSummary")
    assert summary["total_loads"] >= 15 and summary["total_scans"] >= 2
    assert len(summary["slowest"]) == 5
    assert set(summary["slowest"][0]) == {"module", "load_ms", "self_ms", "import_ms"}
    # What a fresh import costs covers the module's own code and its package's.
    assert all(t["import_ms"] >= t["self_ms"] for t in summary["slowest"])
    assert summary["reload_counts"]["shop.prices"] >= 2
    assert "shop.catalog" not in {t["module"] for t in summary["slowest"]}
    assert "## Slowest imports" in summary["markdown"]

    memory = await lsp.command("hotmod.memoryReport")
    assert memory["loaded_modules"] == 5
    sizes = [m["bytes"] for m in memory["modules"]]
    assert sizes == sorted(sizes, reverse=True)
    assert memory["total_kb"] == round(memory["total_bytes"] / 1024, 1)
    assert "## Largest modules" in memory["markdown"]

    status = await lsp.command("hotmod.status")
    assert status["trusted"] is True and status["module_count"] == 5
    assert status["broken_count"] == 2
    assert psutil.pid_exists(status["worker_pid"])
    assert status["python_version"].startswith("3.")
    assert re.search(rf"\| Worker PID +\| {status['worker_pid']} ", status["markdown"])
    assert status["message"].startswith("hotmod ") and "5 modules, 2 broken" in status["message"]


async def test_code_lenses_show_time_memory_and_reloads(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    await lsp.command("hotmod.reloadModule", {"module": "shop.catalog"})
    lenses = await lsp.client.text_document_code_lens_async(
        types.CodeLensParams(
            text_document=types.TextDocumentIdentifier(uri=(shop / "shop/catalog.py").as_uri())
        )
    )
    assert lenses
    top = lenses[0]
    assert top.range.start.line == 0
    assert top.command is not None
    title = top.command.title
    # Its own time, then what a fresh import of it costs (shop and shop.prices included).
    assert re.fullmatch(r"self [\d.]+ ms · import [\d.]+ m?s · .+ · reloaded 1\u00d7", title), title
    assert top.command.command == "hotmod.reloadModule"
    assert list(top.command.arguments or []) == [{"module": "shop.catalog"}]


BAD_ARGUMENTS: list[tuple[str, list[Any], str]] = [
    ("hotmod.reloadModule", [{"module": "no.such.module"}], "unknown module 'no.such.module'"),
    ("hotmod.reloadModule", [{"uri": "file:///etc/passwd"}], "outside the workspace"),
    ("hotmod.reloadModule", [{"uri": "untitled:Untitled-1"}], "only file: URIs"),
    ("hotmod.reloadModule", [{"modul": "shop.cart"}], "unknown key(s) 'modul'"),
    ("hotmod.reloadModule", [{"module": 42}], "module must be a string"),
    ("hotmod.reloadModule", ["shop.cart"], "expects an object argument"),
    ("hotmod.reloadModule", [{}, {}], "at most one argument"),
    ("hotmod.toggleDevMode", [{"enabled": "yes"}], "enabled must be true or false"),
    ("hotmod.reloadAll", [{"module": "x" * 100_000}], "unknown key(s) 'module'"),
]


@pytest.mark.parametrize(("name", "arguments", "message"), BAD_ARGUMENTS)
async def test_bad_arguments_are_invalid_params(
    lsp: Session, shop: Path, name: str, arguments: list[Any], message: str
) -> None:
    await lsp.start(shop)
    with pytest.raises(JsonRpcInvalidParams) as excinfo:
        await lsp.command(name, *arguments)
    assert message in str(excinfo.value)
    assert len(str(excinfo.value)) < 500  # huge arguments are not echoed back
    # ...and the server keeps serving.
    status = await lsp.command("hotmod.status")
    assert status["module_count"] == 5


async def test_reload_of_a_non_module_file_in_the_workspace(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    with pytest.raises(JsonRpcInvalidParams, match="is not a project module"):
        await lsp.command("hotmod.reloadModule", {"uri": (shop / "pyproject.toml").as_uri()})


async def test_shutdown_leaves_no_processes(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    status = await lsp.command("hotmod.status")
    worker = psutil.Process(status["worker_pid"])
    server = worker.parent()
    assert server is not None
    family = [worker, *worker.children(recursive=True)]
    await lsp.shutdown()
    _, alive = psutil.wait_procs(family, timeout=5)
    assert not alive, f"left behind: {alive}"


async def test_a_folder_command_in_two_folders_asks_which_instead_of_guessing(
    lsp: Session, tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, body in ((one, "VALUE = 1\n"), (two, "raise ValueError('two')\n")):
        folder.mkdir()
        (folder / "util.py").write_text(body)
    await lsp.start(one, two)
    await lsp.idle()
    for name in ("hotmod.reloadAll", "hotmod.status", "hotmod.performanceSummary"):
        with pytest.raises(JsonRpcInvalidParams) as excinfo:
            await lsp.command(name)
        assert "which workspace folder" in str(excinfo.value)
        assert uri(one) in str(excinfo.value) and uri(two) in str(excinfo.value)
    report = await lsp.command("hotmod.reloadAll", {"uri": uri(two)})
    assert report["failed"] == 1 and report["modules"] == 1
    report = await lsp.command("hotmod.reloadAll", {"uri": uri(one / "util.py")})
    assert report["failed"] == 0
