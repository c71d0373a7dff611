"""Workspace roots that clients pick inside a package: the project's root is checked.

eglot opens the file's folder when there is no repository; Helix sends
``rootUri: null``.  Checked from such a folder, every ``import shop...`` fails
with ``No module named 'shop'``; the server checks the project root instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import Session, uri


async def _reports_the_real_errors(lsp: Session, shop: Path) -> None:
    cart, checkout = shop / "shop/cart.py", shop / "shop/checkout.py"
    # From the package folder, checkout would fail to import `shop` itself.
    await lsp.until(lambda: lsp.codes(checkout) == ["dependency-error"])
    [broken] = lsp.diagnostics(cart)
    assert "cannot import name 'discount' from 'shop.prices'" in broken.message
    await lsp.idle()
    messages = [d.message for path in shop.rglob("*.py") for d in lsp.diagnostics(path)]
    assert not [m for m in messages if "No module named" in m]
    assert not lsp.diagnostics(shop / "shop/catalog.py")


@pytest.mark.parametrize("marker", ["pyproject.toml", None])
async def test_a_package_folder_as_workspace_checks_its_project(
    lsp: Session, shop: Path, marker: str | None
) -> None:
    if marker is None:  # nothing marks the root: the folder above the package is it
        (shop / "pyproject.toml").unlink()
    await lsp.start(shop / "shop", editor="neovim")
    await _reports_the_real_errors(lsp, shop)


async def test_without_a_root_the_first_opened_file_s_project_is_checked(
    lsp: Session, shop: Path
) -> None:
    await lsp.start()  # rootUri: null, no workspace folders
    await lsp.until(lambda: lsp.status and lsp.status[-1]["message"] == "no workspace folder open")
    cart = shop / "shop/cart.py"
    lsp.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri(cart), language_id="python", version=1, text=cart.read_text()
            )
        )
    )
    await _reports_the_real_errors(lsp, shop)
    # Saves in that project are checked like in any workspace folder.
    lsp.save(
        shop / "shop/prices.py",
        "def with_tax(x):\n    return x\n\n\ndef discount(x):\n    return x\n",
    )
    await lsp.until(
        lambda: not lsp.diagnostics(cart) and not lsp.diagnostics(shop / "shop/checkout.py")
    )
