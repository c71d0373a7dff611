"""Live reload in a real IPython kernel, driven with jupyter_client as a notebook drives it.

The kernel runs in a temporary project with ``%load_ext hotmod.live``; a
variable and an instance are made, the module's method is edited on disk,
checked by the engine and applied through LiveLinks/LiveApplier as ``hotmod
run`` or the language server apply it.  The assertions are about what the
kernel's own objects do afterwards.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hotmod.core import Engine
from hotmod.core.live_apply import LiveApplier, describe
from hotmod.core.live_links import LiveLinks

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="live reload uses Unix sockets")

CART = """\
class Cart:
    def __init__(self):
        self.items = []

    def add(self, price):
        self.items.append(price)
        return self

    def total(self):
        return sum(self.items)
"""


class Kernel:
    """A running IPython kernel and a client that runs cells in it."""

    def __init__(self, manager: Any, client: Any) -> None:
        self.manager = manager
        self.client = client

    def run(self, code: str) -> str:
        """Run a cell; its printed output and its value, as a notebook shows them."""
        shown: list[str] = []

        def output(message: dict[str, Any]) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                shown.append(content["text"])
            elif kind == "execute_result":
                shown.append(content["data"]["text/plain"] + "\n")
            elif kind == "error":
                shown.append(f"{content['ename']}: {content['evalue']}\n")

        reply = self.client.execute_interactive(code, timeout=30, output_hook=output)
        text = "".join(shown).strip()
        assert reply["content"]["status"] == "ok", text
        return text


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    for name, text in {"pyproject.toml": "", "shop/__init__.py": "", "shop/cart.py": CART}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    # The kernel and this test's LiveLinks meet in a private folder of the test's own.
    monkeypatch.setenv("HOTMOD_LIVE_DIR", str(tmp_path / "rendezvous"))
    monkeypatch.delenv("HOTMOD_LIVE_WORKSPACE", raising=False)
    return root


@pytest.fixture
def kernel(project: Path) -> Iterator[Kernel]:
    from jupyter_client.manager import start_new_kernel

    try:
        manager, client = start_new_kernel(cwd=str(project), env=dict(os.environ))
    except Exception as exc:  # no kernel on this platform: say why, do not pass
        pytest.skip(f"an IPython kernel cannot start here: {type(exc).__name__}: {exc}")
    try:
        yield Kernel(manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)


def test_a_kernel_keeps_its_variables_and_instances_and_runs_the_new_method(
    kernel: Kernel, project: Path
) -> None:
    loaded = kernel.run("%load_ext hotmod.live")
    match = re.fullmatch(r"hotmod: live reload on for (.+) \(pid (\d+)\)", loaded)
    assert match and Path(match[1]) == project.resolve(), loaded
    pid = int(match[2])
    kernel.run(
        "from shop.cart import Cart\n"
        "answer = 41\n"
        "cart = Cart().add(1).add(2)\n"
        "total = cart.total  # a bound method taken before the edit\n"
        "before = id(cart)"
    )
    assert kernel.run("cart.total()") == "3"

    path = project / "shop/cart.py"
    path.write_text(CART.replace("return sum(self.items)", "return sum(self.items) * 10"))
    with (
        Engine(project, {"python": sys.executable}, environ={}) as engine,
        LiveLinks("run", lambda process, name: process.pid == pid) as links,
    ):
        engine.reload_all()
        applier = LiveApplier(engine, links)
        applier.saved([path])
        engine.check_paths([path])
        decision = applier.checked()
    assert decision is not None and decision.applied, decision
    assert [o.pid for o in decision.outcomes] == [pid]
    assert describe(decision, project)[0].startswith("applied shop/cart.py: 1 function changed")

    assert kernel.run("answer, cart.items, id(cart) == before") == "(41, [1, 2], True)"
    assert kernel.run("cart.total(), total(), Cart().add(5).total()") == "(30, 30, 50)"


def test_a_kernel_leaves_nothing_behind_when_it_unloads_the_extension(
    kernel: Kernel, project: Path
) -> None:
    folder = Path(os.environ["HOTMOD_LIVE_DIR"])
    kernel.run("%load_ext hotmod.live")
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".sock"]
    kernel.run("%unload_ext hotmod.live")
    assert list(folder.iterdir()) == []
