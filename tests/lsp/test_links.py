"""Every link the server emits leads to something the user has: the diagnostics'
code descriptions and related locations, the links in the commands' Markdown
reports, and the reports it asks the client to open."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from ..links import broken, markdown_links
from .conftest import Session, uri


def _location_broken(location: types.Location) -> str | None:
    return broken(f"{location.uri}#L{location.range.start.line + 1}")


async def test_every_link_leads_to_a_file_the_user_has(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)  # no hotmodClient: reports are also opened as documents
    await lsp.until(lambda: lsp.codes(shop / "shop" / "checkout.py"))
    await lsp.idle()
    links: list[str] = []
    problems: list[str | None] = []
    published = [d for diagnostics in lsp.client.diagnostics.values() for d in diagnostics]
    assert {str(d.code) for d in published} >= {"import-error", "dependency-error"}
    for d in published:
        assert d.code_description is not None, d
        links.append(d.code_description.href)
        problems += [_location_broken(r.location) for r in d.related_information or []]

    results = [
        await lsp.command("hotmod.reloadModule", {"module": "shop.cart"}),
        await lsp.command("hotmod.reloadAll"),
        await lsp.command("hotmod.performanceSummary"),
        await lsp.command("hotmod.memoryReport"),
        await lsp.command("hotmod.status"),
        await lsp.command("hotmod.profileModule", {"module": "shop.cart", "open": False}),
    ]
    for result in results:
        links += markdown_links(result["markdown"])
    assert uri(shop / "shop" / "cart.py") + "#L3" in links  # the failure's place
    assert any(link.endswith(".html") for link in links)  # the profile's HTML report
    await lsp.until(lambda: len(lsp.client.shown_documents) >= 5)
    links += [shown.uri for shown in lsp.client.shown_documents]

    problems += [broken(link) for link in links]
    assert [p for p in problems if p] == []
