"""Hostile modules, broken interpreters and odd URIs through the real server."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ..processes import wait_for_no_leftovers
from .conftest import Session, uri, write

ESCAPE = """\
import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(300)
    os._exit(0)
X = 1
"""


async def test_hostile_modules_through_the_server(lsp: Session, tmp_path: Path) -> None:
    root, guarded = tmp_path / "ws", tmp_path / "guarded"
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir()
    write(
        root,
        {
            "loop.py": "import os\n\nwhile True: pass\n",
            "segv.py": "import ctypes\n\nctypes.string_at(0)\n",
            "escape.py": ESCAPE,
            "fine.py": "X = 1\n",
        },
    )
    # A second folder whose pyproject.toml blocks side effects.
    write(
        guarded,
        {
            "pyproject.toml": "[tool.hotmod]\nside_effects = 'block'\n"
            f"env = {{ TMPDIR = '{private_tmp}' }}\n",
            "precious.txt": "keep me\n",
            "deleter.py": "import os\n\nos.remove(os.path.join(os.path.dirname(__file__),"
            " 'precious.txt'))\n",
        },
    )
    await lsp.start(root, guarded, importTimeoutS=0.5)
    await lsp.idle(timeout=30)
    await lsp.until(lambda: lsp.codes(guarded / "deleter.py"))
    assert lsp.codes(root / "loop.py") == ["timeout"]
    assert lsp.diagnostics(root / "loop.py")[0].range.start.line == 2
    assert lsp.codes(root / "segv.py") == ["crash"]
    assert lsp.diagnostics(root / "segv.py")[0].range.start.line == 2
    # Forking at import is a side effect worth a warning; the fork is gone.
    assert lsp.codes(root / "escape.py") == ["side-effect"]
    assert lsp.diagnostics(root / "escape.py")[0].range.start.line == 4
    assert sorted(lsp.codes(guarded / "deleter.py")) == ["exception", "side-effect"]
    assert (guarded / "precious.txt").read_text() == "keep me\n"
    warning = next(d for d in lsp.diagnostics(guarded / "deleter.py") if d.code == "side-effect")
    assert warning.severity == types.DiagnosticSeverity.Warning
    assert warning.range.start.line == 2

    status = await lsp.command("hotmod.status", {"uri": uri(root)})
    zygote = status["worker_pid"]
    wait_for_no_leftovers(zygote)
    # The same warm worker answers the next request.
    result = await lsp.command("hotmod.reloadModule", {"module": "segv"})
    assert result["result"]["diagnostics"][0]["code"] == "crash"
    assert (await lsp.command("hotmod.status", {"uri": uri(root)}))["worker_pid"] == zygote
    wait_for_no_leftovers(zygote)


def _fake_python(tmp_path: Path) -> tuple[Path, Path]:
    launches = tmp_path / "launches"
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho x >> {launches}\necho 'this python is broken' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake, launches


async def test_broken_interpreter_is_told_once_without_a_crash_loop(
    lsp: Session, shop: Path, tmp_path: Path
) -> None:
    fake, launches = _fake_python(tmp_path)
    await lsp.start(shop, python=str(fake))
    await lsp.until(lambda: any("did not start" in m.message for m in lsp.client.messages))
    for _ in range(5):
        lsp.save(shop / "shop/cart.py")
    # Still serving; commands explain why the folder cannot be checked, and
    # the status says what is wrong.
    with pytest.raises(JsonRpcInvalidParams, match="the worker did not start"):
        await lsp.command("hotmod.reloadAll")
    status = await lsp.command("hotmod.status")
    assert "the worker did not start" in status["error"]
    assert status["module_count"] == 5 and status["worker_pid"] is None
    time.sleep(0.5)
    told = [m.message for m in lsp.client.messages if "did not start" in m.message]
    assert len(told) == 1 and "this python is broken" in told[0]
    assert "Traceback" not in told[0]
    assert len(launches.read_text().splitlines()) <= 2  # no restart per save


async def test_nonexistent_interpreter_is_told_once(lsp: Session, shop: Path) -> None:
    await lsp.start(shop, python="/nonexistent/python3")
    await lsp.until(lambda: lsp.client.messages)
    for _ in range(3):
        lsp.save(shop / "shop/cart.py")
    with pytest.raises(JsonRpcInvalidParams, match="Python interpreter not found"):
        await lsp.command("hotmod.reloadAll")
    status = await lsp.command("hotmod.status")
    assert status["error"].startswith("Python interpreter not found: /nonexistent/python3")
    told = [m.message for m in lsp.client.messages]
    assert told == [
        "hotmod: Python interpreter not found: /nonexistent/python3 "
        "(set `python` in [tool.hotmod] or pass --python)"
    ]


async def test_untitled_documents_are_ignored(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    untitled = "untitled:Untitled-1"
    lsp.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=untitled, language_id="python", version=1, text="import nothing\n"
            )
        )
    )
    lsp.client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=untitled))
    )
    lenses = await lsp.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=untitled))
    )
    assert not lenses
    with pytest.raises(JsonRpcInvalidParams, match="only file: URIs"):
        await lsp.command("hotmod.reloadModule", {"uri": untitled})
    # An open untitled document is not a module: no argument does not mean it.
    with pytest.raises(JsonRpcInvalidParams, match="no module of the workspace is open"):
        await lsp.command("hotmod.reloadModule")
    assert untitled not in lsp.client.diagnostics
    assert (await lsp.command("hotmod.status"))["module_count"] == 5


async def test_file_deleted_right_after_its_save(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    cart = shop / "shop/cart.py"
    assert lsp.codes(cart) == ["import-error"]
    lsp.save(cart)
    cart.unlink()
    await lsp.until(lambda: lsp.codes(cart) == [])
    await lsp.until(lambda: lsp.codes(shop / "shop/checkout.py") == ["import-error"])
    assert (await lsp.command("hotmod.status"))["module_count"] == 4


async def test_missing_module_dirs_setting(lsp: Session, shop: Path) -> None:
    await lsp.start(shop, moduleDirs=["no-such-dir"])
    await lsp.until(lambda: lsp.client.messages)
    with pytest.raises(JsonRpcInvalidParams, match="no such folder"):
        await lsp.command("hotmod.reloadModule", {"module": "shop.cart"})
    assert "no such folder" in (await lsp.command("hotmod.status"))["error"]
    [message] = [m.message for m in lsp.client.messages]
    assert "module_dirs: no such folder" in message and "no-such-dir" in message
    assert lsp.diagnostics(shop / "shop/cart.py") == []  # nothing ran


FORGE = """\
import json

json.dumps = lambda *args, **kwargs: '{"outcome": "ok"}'
raise ValueError("forged")
"""

BAD_SYNTAX_ERROR = """\
error = SyntaxError("odd")
error.offset = "x"
error.filename = 5
error.lineno = 10**30
raise error
"""


async def test_results_built_to_poison_the_server_cost_only_their_module(
    lsp: Session, tmp_path: Path
) -> None:
    """Issue 13's poisoned server: a forged verdict and an exception hotmod cannot
    describe are reported at their own modules, and a later save of another module
    is still checked and published."""
    root = tmp_path / "ws"
    write(root, {"forge.py": FORGE, "odd.py": BAD_SYNTAX_ERROR, "later.py": "X = 1\n"})
    await lsp.start(root)
    await lsp.idle(timeout=30)
    assert lsp.codes(root / "forge.py") == ["exception"]
    assert lsp.diagnostics(root / "forge.py")[0].range.start.line == 3
    assert "ValueError: forged" in lsp.diagnostics(root / "forge.py")[0].message
    assert lsp.codes(root / "odd.py") == ["exception"]
    assert lsp.diagnostics(root / "odd.py")[0].range.start.line < 10
    lsp.save(root / "later.py", "raise KeyError('after the poison')\n")
    await lsp.until(lambda: lsp.codes(root / "later.py") == ["exception"])
    lsp.save(root / "forge.py", "X = 2\n")
    await lsp.until(lambda: lsp.codes(root / "forge.py") == [])
