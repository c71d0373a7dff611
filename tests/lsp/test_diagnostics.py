"""Diagnostics published by the server: initial scan, saves, fixes, the watcher."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from .conftest import Session


async def test_initial_scan_publishes_for_unopened_files(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    cart, checkout = shop / "shop/cart.py", shop / "shop/checkout.py"
    await lsp.until(lambda: lsp.diagnostics(cart) and lsp.diagnostics(checkout))
    [broken] = lsp.diagnostics(cart)
    assert broken.code == "import-error"
    assert broken.source == "hotmod"
    assert broken.range.start.line == 2  # `from shop.prices import discount, with_tax`
    assert broken.severity == types.DiagnosticSeverity.Error
    assert "discount" in broken.message
    assert broken.code_description is not None and "import-error" in broken.code_description.href
    [dependent] = lsp.diagnostics(checkout)
    assert dependent.code == "dependency-error"
    assert dependent.range.start.line == 0
    assert dependent.related_information
    assert dependent.related_information[0].location.uri.endswith("shop/cart.py")
    assert dependent.related_information[0].location.range.start.line == 2
    assert not lsp.diagnostics(shop / "shop/catalog.py")


async def test_fix_clears_both_files(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    cart, checkout = shop / "shop/cart.py", shop / "shop/checkout.py"
    await lsp.until(lambda: lsp.diagnostics(checkout))
    lsp.save(
        shop / "shop/prices.py",
        "def with_tax(x):\n    return x * 1.2\n\n\ndef discount(x):\n    return x\n",
    )
    await lsp.until(lambda: not lsp.diagnostics(cart) and not lsp.diagnostics(checkout))
    assert cart.as_uri() in lsp.client.diagnostics  # cleared with an empty list, not forgotten
