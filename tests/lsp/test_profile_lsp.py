"""hotmod.profileModule, hot-line and trend lenses, load-regression, history across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_lsp
from hotmod.core.cachedir import workspace_cache_dir
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ..sources import SLOW
from .conftest import SERVER, Session, uri, write

PYPROJECT = "[project]\nname = 'ws'\nversion = '0'\n"


async def _lenses(lsp: Session, path: Path) -> list[types.CodeLens]:
    return list(
        await lsp.client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
        )
        or []
    )


def _titles(lenses: list[types.CodeLens]) -> list[str]:
    return [lens.command.title for lens in lenses if lens.command]


async def test_profile_module_returns_the_profile_opens_the_report_and_adds_lenses(
    lsp: Session, tmp_path: Path
) -> None:
    root = tmp_path / "prof-ws"
    write(root, {"pyproject.toml": PYPROJECT, "slow.py": SLOW, "slowdep.py": "X = 1\n"})
    shown = lsp.client.shown_documents  # pytest-lsp answers window/showDocument
    await lsp.start(root)
    await lsp.idle()
    slow = root / "slow.py"
    result = await lsp.command("hotmod.profileModule", {"uri": uri(slow)})
    assert result["module"] == "slow" and result["status"] == "ok"
    assert result["lines"][0]["line"] == 7
    assert result["lines"][0]["text"].startswith("for _ in range(40)")
    assert [i["name"] for i in result["imports"]] == ["slowdep"]
    assert result["calls"]["kind"] == "root" and result["functions"]
    report = Path(result["html"])
    assert report.is_file() and "slow" in report.read_text()
    # The HTML report opens in the browser (the Markdown summary in the editor:
    # this client has no hotmod extension, see test_any_client.py).
    await lsp.until(lambda: [d for d in shown if d.external])
    [html] = [d for d in shown if d.external]
    assert html.uri == uri(report)

    hot = [lens for lens in await _lenses(lsp, slow) if "hot line" in lens.command.title]  # type: ignore[union-attr]
    assert [lens.range.start.line for lens in hot] == [6]  # line 7, 0-based
    assert "% of the import" in hot[0].command.title  # type: ignore[union-attr]

    # The lenses last until the file changes.
    lsp.save(slow, SLOW + "# edited\n")
    assert not any("hot line" in t for t in _titles(await _lenses(lsp, slow)))

    # open: false leaves the editor alone; arguments are checked like reloadModule's.
    await lsp.command("hotmod.profileModule", {"module": "slowdep", "open": False})
    assert len([d for d in shown if d.external]) == 1
    for bad, message in (
        ({"module": 3}, "module must be a string"),
        ({"module": "nope"}, "unknown module 'nope'"),
        ({"module": "slow", "open": "yes"}, "open must be true or false"),
        ({"modul": "slow"}, "unknown key"),
    ):
        with pytest.raises(JsonRpcInvalidParams, match=message):
            await lsp.command("hotmod.profileModule", bad)


async def test_load_regression_appears_after_a_slowdown_and_clears_after_recovery(
    lsp: Session, tmp_path: Path
) -> None:
    root = tmp_path / "reg-ws"
    write(root, {"pyproject.toml": PYPROJECT, "mod.py": "X = 1\n"})
    mod = root / "mod.py"
    await lsp.start(root, regressionMinMs=20, regressionRatio=1.5)
    await lsp.idle()
    for _ in range(5):
        await lsp.command("hotmod.reloadModule", {"module": "mod"})
    mod.write_text("import time\n\ntime.sleep(0.15)\n")
    slow = await lsp.command("hotmod.reloadModule", {"module": "mod"})
    assert [d["code"] for d in slow["result"]["diagnostics"]] == ["load-regression"]
    await lsp.until(lambda: lsp.codes(mod) == ["load-regression"])
    assert lsp.diagnostics(mod)[0].severity == types.DiagnosticSeverity.Information
    assert any("\u25b2" in t and "vs median" in t for t in _titles(await _lenses(lsp, mod)))
    summary = await lsp.command("hotmod.performanceSummary")
    assert summary["regressions"] == ["mod"]
    assert summary["history"][0]["module"] == "mod" and summary["history"][0]["samples"] >= 5

    mod.write_text("X = 1\n")
    await lsp.command("hotmod.reloadModule", {"module": "mod"})
    await lsp.until(lambda: lsp.codes(mod) == [])


async def test_history_survives_a_server_restart(lsp: Session, tmp_path: Path) -> None:
    root = tmp_path / "restart-ws"
    write(root, {"pyproject.toml": PYPROJECT, "mod.py": "X = 1\n"})
    await lsp.start(root)
    await lsp.idle()
    for _ in range(5):
        await lsp.command("hotmod.reloadModule", {"module": "mod"})
    await lsp.shutdown()

    client = pytest_lsp.make_test_lsp_client()
    await client.start_io(*SERVER)
    again = Session(client)
    try:
        await again.start(root)
        await again.idle()
        summary = await again.command("hotmod.performanceSummary")
        row = next(r for r in summary["history"] if r["module"] == "mod")
        assert row["samples"] >= 5 and row["median_ms"] is not None
    finally:
        await again.shutdown()
        await client.stop()


async def test_a_corrupt_history_database_warns_and_checking_goes_on(
    lsp: Session, shop: Path
) -> None:
    db = workspace_cache_dir(shop) / "history.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"garbage" * 500)
    await lsp.start(shop)
    await lsp.idle()
    assert lsp.codes(shop / "shop/cart.py") == ["import-error"]
    await lsp.until(lambda: any("unreadable" in m.message for m in lsp.client.messages))
    message = next(m for m in lsp.client.messages if "unreadable" in m.message)
    assert message.type == types.MessageType.Warning
    result = await lsp.command("hotmod.reloadModule", {"module": "shop.prices"})
    assert result["result"]["status"] == "ok"


async def test_memory_report_ranks_modules_and_reports_the_worker(
    lsp: Session, tmp_path: Path
) -> None:
    root = tmp_path / "mem-ws"
    write(
        root,
        {
            "pyproject.toml": PYPROJECT,
            "large.py": "DATA = [0] * (50 * 1024 * 1024 // 8)\n",
            "small.py": "DATA = b'x' * 1024\n",
        },
    )
    await lsp.start(root)
    await lsp.idle()
    report = await lsp.command("hotmod.memoryReport")
    assert [m["module"] for m in report["modules"]] == ["large", "small"]
    large, small = (m["bytes"] for m in report["modules"])
    assert large >= 50 * 1024 * 1024 and small < 64 * 1024
    assert report["loaded_modules"] == 2 and report["worker_rss_bytes"] > 0
    assert report["worker_rss_mb"] == round(report["worker_rss_bytes"] / 1024 / 1024, 2)
