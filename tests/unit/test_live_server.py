"""What the server's ``apply now`` sends: the verified content of the modules the
running programs have loaded, and why it leaves the others out."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from hotmod.core.live_links import ApplyOutcome, LiveProcess
from hotmod.live.agent import digest
from hotmod.server.live import FolderLive

from ..conftest import Workspace


def _process(modules: set[str]) -> LiveProcess:
    return LiveProcess(
        pid=1, argv=("python", "app.py"), python="3.11", workspace=Path("/"),
        modules=frozenset(modules), applied=0, supervisor=None, started=time.time(),
    )  # fmt: skip


def test_apply_now_sends_the_loaded_modules_that_pass_and_says_why_not_the_others(
    workspace: Workspace,
) -> None:
    workspace.write(
        {
            "pyproject.toml": "",
            "shop/__init__.py": "",
            "shop/prices.py": "def price(x):\n    return x\n",
            "shop/cart.py": "from shop.prices import discount\n",  # fails: prices lacks it
            "shop/catalog.py": "X = 1\n",
            "shop/orders.py": "Y = 1\n",
            "shop/unused.py": "Z = 1\n",
        }
    )
    sent: list[list[tuple[Path, str]]] = []
    with workspace.engine() as engine:
        engine.reload_all()
        workspace.write({"shop/orders.py": "Y = 2\n"})  # changed since its check
        live = FolderLive(workspace.root, engine, on_change=lambda: None, on_heard=lambda o: None)
        try:
            live.processes = lambda: [  # type: ignore[method-assign]
                _process({"shop.prices", "shop.cart", "shop.catalog", "shop.orders", "json"})
            ]

            def apply(files: Any, rerun: bool | None = None) -> list[ApplyOutcome]:
                sent.append(list(files))
                return []

            live.links.apply = apply  # type: ignore[method-assign]
            done = asyncio.run(live.apply_now())
        finally:
            live.close()
    catalog = workspace.path("shop/catalog.py")
    assert sent == [[(catalog, digest(catalog.read_bytes()))]]
    assert done.decision.files == (catalog,)
    assert {(m.module, m.why) for m in done.left_out} == {
        ("shop.cart", "it fails to import"),
        ("shop.prices", "shop.cart, which depends on it, fails"),
        ("shop.orders", "it changed since its check"),
    }
