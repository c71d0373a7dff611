"""Clients without a hotmod extension (eglot, Helix, Zed...) see every command's result."""

from __future__ import annotations

from pathlib import Path

from hotmod.core.cachedir import workspace_cache_dir
from lsprotocol import types
from pygls import uris

from ..editor_docs import helix_languages
from .conftest import Session


def _messages(lsp: Session) -> list[str]:
    return [m.message for m in lsp.client.messages]


async def test_one_liners_are_messages_and_reports_open_as_documents(
    lsp: Session, shop: Path
) -> None:
    await lsp.start(shop)
    await lsp.idle()
    toggled = await lsp.command("hotmod.toggleDevMode", {"enabled": True})
    assert toggled["dev_mode"] is True
    await lsp.until(lambda: any("Dev mode is now on" in m for m in _messages(lsp)))
    assert f"hotmod: {toggled['message']}" in _messages(lsp)

    healthy = await lsp.command("hotmod.reloadModule", {"module": "shop.catalog"})
    assert healthy["message"] == "Reloaded shop.catalog: all ok"
    await lsp.until(lambda: "hotmod: Reloaded shop.catalog: all ok" in _messages(lsp))
    assert lsp.client.shown_documents == []  # a one-liner opens nothing

    status = await lsp.command("hotmod.status")
    await lsp.until(lambda: lsp.client.shown_documents)
    shown = lsp.client.shown_documents[0]
    assert shown.external is not True and shown.take_focus is True
    report = Path(uris.to_fs_path(shown.uri) or "")
    assert report.parent == workspace_cache_dir(shop) / "reports"
    assert report.suffix == ".md" and report.read_text() == status["markdown"]

    broken = await lsp.command("hotmod.reloadModule", {"module": "shop.cart"})
    await lsp.until(lambda: len(lsp.client.shown_documents) == 2)
    report = Path(uris.to_fs_path(lsp.client.shown_documents[1].uri) or "")
    assert report.read_text() == broken["markdown"] and "## Failures" in broken["markdown"]


async def test_without_show_document_a_message_names_the_report(lsp: Session, shop: Path) -> None:
    await lsp.start(shop, capabilities=types.ClientCapabilities())
    summary = await lsp.command("hotmod.performanceSummary")
    expected = f"hotmod: {summary['message']}. The report is in "
    await lsp.until(lambda: any(m.startswith(expected) for m in _messages(lsp)))
    named = next(m for m in _messages(lsp) if m.startswith(expected))
    assert Path(named.removeprefix(expected)).read_text() == summary["markdown"]


async def test_hotmod_extensions_show_results_themselves(lsp: Session, shop: Path) -> None:
    await lsp.start(shop, hotmodClient="vscode")
    await lsp.idle()
    toggled = await lsp.command("hotmod.toggleDevMode")
    status = await lsp.command("hotmod.status")
    assert toggled["markdown"] and status["markdown"].startswith("# hotmod: status")
    # The status request was answered after the toggle's message would have gone out.
    assert not [m for m in _messages(lsp) if "Dev mode" in m]
    assert lsp.client.shown_documents == []


async def test_a_helix_session_with_the_documented_configuration(lsp: Session, shop: Path) -> None:
    """Helix as observed (25.01, which does not run on these machines): the
    documented languages.toml's `config` as initializationOptions, `rootUri:
    null` outside a repository, no `window/showDocument`, commands sent
    without arguments."""
    config = helix_languages()["language-server"]["hotmod"]["config"]
    await lsp.start(capabilities=types.ClientCapabilities(), **config)
    cart = shop / "shop/cart.py"
    lsp.open(cart)
    await lsp.until(lambda: lsp.codes(cart) == ["import-error"])
    await lsp.idle()

    reloaded = await lsp.command("hotmod.reloadModule")  # the one open module
    assert reloaded["module"] == "shop.cart"
    expected = f"hotmod: {reloaded['message']}. The report is in "
    await lsp.until(lambda: any(m.startswith(expected) for m in _messages(lsp)))
    named = next(m for m in _messages(lsp) if m.startswith(expected))
    assert Path(named.removeprefix(expected)).read_text() == reloaded["markdown"]

    toggled = await lsp.command("hotmod.toggleDevMode")
    await lsp.until(lambda: f"hotmod: {toggled['message']}" in _messages(lsp))


async def test_a_report_the_client_declines_to_open_is_named_in_a_message(
    lsp: Session, shop: Path
) -> None:
    """An editor may answer window/showDocument with success: false (no such
    file type, the user said no): the report must not vanish."""
    declined: list[types.ShowDocumentParams] = []

    def decline(params: types.ShowDocumentParams) -> types.ShowDocumentResult:
        declined.append(params)
        return types.ShowDocumentResult(success=False)

    lsp.client.protocol.fm.features[types.WINDOW_SHOW_DOCUMENT] = decline
    await lsp.start(shop)
    status = await lsp.command("hotmod.status")
    expected = f"hotmod: {status['message']}. The report is in "
    await lsp.until(lambda: any(m.startswith(expected) for m in _messages(lsp)))
    named = next(m for m in _messages(lsp) if m.startswith(expected))
    [asked] = declined
    assert uris.to_fs_path(asked.uri) == named.removeprefix(expected)
    assert Path(named.removeprefix(expected)).read_text() == status["markdown"]
