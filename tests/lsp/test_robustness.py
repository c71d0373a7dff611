"""Bad input and odd clients: broken config, cancellation, TCP, cost lenses."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pygls.lsp.client import LanguageClient

from .conftest import Session, write


async def test_invalid_pyproject_is_reported_and_recovers_when_fixed(
    lsp: Session, shop: Path
) -> None:
    pyproject = shop / "pyproject.toml"
    pyproject.write_text("[tool.hotmod\nslow_threshold_ms = 5\n")
    await lsp.start(shop)
    await lsp.until(lambda: any("invalid TOML" in m.message for m in lsp.client.messages))
    message = next(m.message for m in lsp.client.messages if "invalid TOML" in m.message)
    assert "line 1" in message and "pyproject.toml" in message
    assert "Traceback" not in message
    assert lsp.diagnostics(shop / "shop/cart.py") == []  # nothing ran
    status = await lsp.command("hotmod.status")
    assert "invalid TOML" in status["error"] and status["root"] == str(shop)
    assert status["module_count"] is None  # the config says where modules are
    pyproject.write_text("[tool.hotmod]\nslow_threshold_ms = 5\n")
    lsp.save(pyproject)
    await lsp.until(lambda: lsp.codes(shop / "shop/cart.py") == ["import-error"])
    assert (await lsp.command("hotmod.status"))["error"] is None


async def test_bad_config_value_names_the_key(lsp: Session, shop: Path) -> None:
    (shop / "pyproject.toml").write_text("[tool.hotmod]\nimport_timeout_s = 'ten'\n")
    await lsp.start(shop)
    await lsp.until(lambda: lsp.client.messages)
    text = lsp.client.messages[0].message
    assert "import_timeout_s must be a positive number of seconds" in text


async def test_cancel_request_stops_a_long_command(lsp: Session, shop: Path) -> None:
    (shop / "shop/slow.py").write_text("import time\n\ntime.sleep(1.5)\n")
    await lsp.start(shop)
    await lsp.idle()
    # send_request (not send_request_async, which sends only once awaited).
    future = asyncio.wrap_future(
        lsp.client.protocol.send_request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command="hotmod.reloadAll", arguments=[]),
            msg_id="reload-all-to-cancel",
        )
    )
    await asyncio.sleep(0.3)
    lsp.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="reload-all-to-cancel"))
    with pytest.raises(JsonRpcRequestCancelled):
        await future
    status = await lsp.command("hotmod.status")  # still serving
    assert status["module_count"] == 6


async def test_import_cost_lens_on_an_expensive_import(lsp: Session, tmp_path: Path) -> None:
    root, site = tmp_path / "ws", tmp_path / "site"
    write(site, {"slowdep.py": "import time\n\ntime.sleep(0.2)\n"})
    write(root, {"uses.py": "import os\nimport slowdep\n\nX = 1\n"})
    (root / "pyproject.toml").write_text(f"[tool.hotmod]\nenv = {{ PYTHONPATH = '{site}' }}\n")
    await lsp.start(root)
    await lsp.idle()
    lenses = await lsp.client.text_document_code_lens_async(
        types.CodeLensParams(
            text_document=types.TextDocumentIdentifier(uri=(root / "uses.py").as_uri())
        )
    )
    titles = {lens.range.start.line: lens.command.title for lens in lenses if lens.command}
    assert 1 in titles, titles
    cost = int(titles[1].split("—")[1].split("ms")[0])
    assert titles[1].startswith("import slowdep — ") and cost >= 200
    assert 0 in titles and "reloaded 0\u00d7" in titles[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_over_tcp(shop: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hotmod.server", "--tcp", f"127.0.0.1:{port}", "--trust"],
        stderr=subprocess.DEVNULL,
    )
    client = LanguageClient("tcp-test", "0")
    published: dict[str, list[types.Diagnostic]] = {}
    client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)(
        lambda params: published.__setitem__(params.uri, list(params.diagnostics))
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        result = await client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=shop.as_uri())
        )
        assert result.server_info is not None and result.server_info.name == "hotmod"
        client.initialized(types.InitializedParams())
        cart = (shop / "shop/cart.py").as_uri()
        deadline = time.monotonic() + 20
        while not published.get(cart):
            assert time.monotonic() < deadline, "no diagnostics over TCP"
            await asyncio.sleep(0.05)
        assert published[cart][0].code == "import-error"
        await client.shutdown_async(None)
        client.exit(None)
    finally:
        await client.stop()
        server.terminate()
        server.wait(timeout=10)
