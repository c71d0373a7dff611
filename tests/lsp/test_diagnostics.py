"""Diagnostics published by the server: initial scan, saves, fixes, the watcher."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hotmod.core.results import Code
from hotmod.server import reference
from lsprotocol import types

from .conftest import Session, uri, write


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
    assert broken.code_description is not None  # its section of the shipped reference
    assert broken.code_description.href == reference.diagnostic_href(Code.IMPORT_ERROR)
    [dependent] = lsp.diagnostics(checkout)
    assert dependent.code == "dependency-error"
    assert dependent.range.start.line == 0
    assert dependent.related_information
    assert dependent.related_information[0].location.uri.endswith("shop/cart.py")
    assert dependent.related_information[0].location.range.start.line == 2
    assert not lsp.diagnostics(shop / "shop/catalog.py")


async def test_opening_a_file_sends_its_diagnostics_again(lsp: Session, shop: Path) -> None:
    """eglot/flymake shows only diagnostics that arrive while the file is open."""
    await lsp.start(shop)
    await lsp.idle()
    checkout = shop / "shop/checkout.py"
    [before] = lsp.diagnostics(checkout)
    published = lsp.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    lsp.open(checkout)
    again = await asyncio.wait_for(published, 10)
    assert again.uri == uri(checkout)
    assert [d.message for d in again.diagnostics] == [before.message]


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


async def test_change_on_disk_without_the_editor_is_checked(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    catalog = shop / "shop/catalog.py"
    await lsp.until(lambda: lsp.diagnostics(shop / "shop/checkout.py"))
    # Written by "another tool": no didSave, only the file watcher sees it.
    catalog.write_text("from shop.prices import with_tax\n\nPRICE = with_tax(1) / 0\n")
    await lsp.until(lambda: lsp.codes(catalog) == ["exception"])
    [d] = lsp.diagnostics(catalog)
    assert d.range.start.line == 2
    assert "ZeroDivisionError" in d.message


async def test_changes_in_excluded_folders_cause_no_check(lsp: Session, shop: Path) -> None:
    """A .venv or node_modules under the workspace is no reason to rescan: the watcher
    and the client's watched-file events go through discovery's exclusion."""
    write(shop, {".venv/lib/python3.11/site-packages/dep/mod.py": "X = 1\n"})
    await lsp.start(shop)
    await lsp.idle()

    def runs() -> int:
        return sum(s["state"] == "checking" for s in lsp.status)

    before = runs()
    ignored = {
        ".venv/lib/python3.11/site-packages/dep/mod.py": "X = 2\n",
        "node_modules/tool/gen.py": "X = 1\n",
        "shop/build/gen.py": "X = 1\n",
    }
    write(shop, ignored)
    lsp.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(uri=uri(shop / name), type=types.FileChangeType.Changed)
                for name in ignored
            ]
        )
    )
    await asyncio.sleep(1.0)  # the watcher waits 30 ms for more events
    assert runs() == before
    catalog = shop / "shop/catalog.py"
    catalog.write_text("X = 1 / 0\n")  # a module still counts
    await lsp.until(lambda: lsp.codes(catalog) == ["exception"])
    assert runs() > before


async def test_rapid_saves_end_with_the_final_content(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    catalog = shop / "shop/catalog.py"
    await lsp.idle()
    for i in range(5):
        # Alternate broken and fixed; the last save is broken at line 4.
        body = "X = 1\n" * i + f"raise RuntimeError('version {i}')\n"
        lsp.save(catalog, body)
    await lsp.until(lambda: lsp.codes(catalog) == ["exception"])
    await lsp.idle()
    [d] = lsp.diagnostics(catalog)
    assert "version 4" in d.message
    assert d.range.start.line == 4


async def test_deleted_module_is_cleared_and_dependents_rechecked(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    cart, checkout = shop / "shop/cart.py", shop / "shop/checkout.py"
    await lsp.until(lambda: lsp.diagnostics(cart) and lsp.diagnostics(checkout))
    cart.unlink()
    lsp.client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=cart.as_uri(), type=types.FileChangeType.Deleted)]
        )
    )
    await lsp.until(lambda: not lsp.diagnostics(cart))
    await lsp.until(lambda: lsp.codes(checkout) == ["import-error"])
    assert "shop.cart" in lsp.diagnostics(checkout)[0].message


async def test_dependency_error_links_to_the_failing_diagnostic(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    checkout = shop / "shop/checkout.py"
    await lsp.until(lambda: lsp.diagnostics(checkout))
    [d] = lsp.diagnostics(checkout)
    [related] = d.related_information or []
    [failing] = lsp.diagnostics(shop / "shop/cart.py")
    assert related.location.range == failing.range


async def test_progress_and_status_during_the_initial_scan(lsp: Session, shop: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    reports = [r for values in lsp.client.progress_reports.values() for r in values]
    kinds = [type(r).__name__ for r in reports]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert any(getattr(r, "percentage", None) for r in reports[1:-1])
    assert lsp.status[0]["state"] == "checking"
    assert lsp.status[-1] == {
        "state": "idle",
        "modules": 5,
        "broken": 2,
        "live": 0,  # running programs taking changes (test_live.py)
        "message": "2 broken modules",
    }
    assert lsp.lens_refreshes >= 1


async def test_slow_load_only_in_dev_mode(lsp: Session, shop: Path) -> None:
    slow = shop / "shop/slow.py"
    slow.write_text("import time\n\ntime.sleep(0.15)\n")
    await lsp.start(shop, slowThresholdMs=50)
    await lsp.idle()
    assert lsp.diagnostics(slow) == []
    result = await lsp.command("hotmod.toggleDevMode", {})
    assert result["dev_mode"] is True
    await lsp.until(lambda: lsp.codes(slow) == ["slow-load"])
    assert lsp.diagnostics(slow)[0].severity == types.DiagnosticSeverity.Warning


async def test_settings_change_takes_effect_without_restart(lsp: Session, shop: Path) -> None:
    slow = shop / "shop/slow.py"
    slow.write_text("import time\n\ntime.sleep(0.15)\n")
    lsp.client.set_configuration({"devMode": True, "slowThresholdMs": 10000}, section="hotmod")
    await lsp.start(shop)
    await lsp.idle()
    assert lsp.diagnostics(slow) == []
    lsp.client.set_configuration({"devMode": True, "slowThresholdMs": 50}, section="hotmod")
    lsp.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    await lsp.until(lambda: lsp.codes(slow) == ["slow-load"])
    assert "threshold 50 ms" in lsp.diagnostics(slow)[0].message


async def test_bad_settings_are_reported_and_old_ones_kept(lsp: Session, shop: Path) -> None:
    await lsp.start(shop, importTimeoutS="soon")
    await lsp.idle()
    assert any("importTimeoutS must be" in m.message for m in lsp.client.messages)
    assert lsp.codes(shop / "shop/cart.py") == ["import-error"]  # still working


async def test_two_workspace_folders_stay_independent(lsp: Session, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    write(one, {"util.py": "VALUE = 1\n", "app.py": "from util import VALUE\n"})
    write(two, {"util.py": "OTHER = 2\n", "app.py": "from util import VALUE\n"})
    await lsp.start(one, two)
    await lsp.until(lambda: lsp.codes(two / "app.py") == ["import-error"])
    await lsp.idle()
    assert lsp.diagnostics(one / "app.py") == []
    lsp.save(one / "util.py", "RENAMED = 1\n")
    await lsp.until(lambda: lsp.codes(one / "app.py") == ["import-error"])
    lsp.save(two / "util.py", "VALUE = 2\n")
    await lsp.until(lambda: lsp.diagnostics(two / "app.py") == [])
    assert lsp.codes(one / "app.py") == ["import-error"]


async def test_added_workspace_folder_is_checked(lsp: Session, shop: Path, tmp_path: Path) -> None:
    await lsp.start(shop)
    await lsp.idle()
    other = tmp_path / "other"
    write(other, {"bad.py": "import not_a_real_module_xyz\n"})
    lsp.client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=other.as_uri(), name="other")],
                removed=[types.WorkspaceFolder(uri=shop.as_uri(), name="shop")],
            )
        )
    )
    await lsp.until(lambda: lsp.codes(other / "bad.py") == ["import-error"])
    await lsp.until(lambda: not lsp.diagnostics(shop / "shop/cart.py"))


async def test_untrusted_workspace_runs_no_code(lsp: Session, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    marker = tmp_path / "ran.txt"
    write(
        root,
        {
            "evil.py": f"open({str(marker)!r}, 'w').write('ran')\n",
            "broken.py": "def f(:\n    pass\n",
        },
    )
    await lsp.start(root, trusted=False)
    await lsp.until(lambda: lsp.codes(root / "broken.py") == ["syntax-error"])
    assert lsp.diagnostics(root / "broken.py")[0].range.start.line == 0
    lsp.save(root / "evil.py")
    await asyncio.sleep(0.5)
    assert not marker.exists()
    assert any("not trusted" in m.message for m in lsp.client.messages)
    assert lsp.status[-1]["state"] == "untrusted"


async def test_last_sessions_verdicts_show_at_once_marked_as_cached(
    lsp: Session, shop: Path
) -> None:
    """Verdicts a previous session stored come first, marked; the check replaces them."""
    from hotmod.core import Engine

    with Engine(shop) as engine:  # an earlier session (the editor's, or `hotmod check`)
        assert not engine.check().ok
    write(shop, {"shop/slow.py": "import time\n\ntime.sleep(1.5)\n"})  # a new module: checked
    cart = shop / "shop/cart.py"
    first = lsp.client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    await lsp.start(shop)
    shown = await asyncio.wait_for(first, 10)
    assert shown.uri == uri(cart)
    [cached] = shown.diagnostics
    assert cached.source == "hotmod (cached)" and cached.code == "import-error"
    await lsp.until(lambda: [d.source for d in lsp.diagnostics(cart)] == ["hotmod"])
    [verified] = lsp.diagnostics(cart)
    assert verified.message == cached.message and verified.range == cached.range
