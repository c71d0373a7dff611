"""Live reload through the language server, with real running programs.

Each program runs ``serve.py`` with hotmod.live's agent (tests/live_program.py)
in the rendezvous folder the session shares with the servers it starts
(tests/conftest.py); the assertions ask the program what its code does now.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hotmod.live import rendezvous
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ..live_program import SCRIPT, LiveProgram
from .conftest import Session, uri, write

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")

PRICES = "def price(x):\n    return x * 2\n\n\ndef discount():\n    return 1\n"
ORDERS = "from dataclasses import dataclass\n\n\n@dataclass\nclass Order:\n    total: int\n"
PLUGINS = "from shop.registry import REGISTERED\n\nREGISTERED.append('a')\n"


@pytest.fixture
def live_ws(tmp_path: Path) -> Path:
    root = tmp_path / "live-ws"
    write(
        root,
        {
            "pyproject.toml": f"[tool.hotmod]\nexclude = [{SCRIPT!r}]\n",
            "shop/__init__.py": "",
            "shop/prices.py": PRICES,
            "shop/cart.py": "from shop.prices import discount\n\nRATE = discount()\n",
            "shop/orders.py": ORDERS,
            "shop/registry.py": "REGISTERED = []\n",
            "shop/plugins.py": PLUGINS,
        },
    )
    return root


@pytest.fixture
def start(live_ws: Path) -> Iterator[Callable[..., LiveProgram]]:
    programs: list[LiveProgram] = []

    def start(env: dict[str, str] | None = None) -> LiveProgram:
        program = LiveProgram(live_ws, env)
        # What the program has loaded: these modules are live in it.
        program.ask("[__import__(m) for m in ('shop.cart', 'shop.orders', 'shop.plugins')]")
        programs.append(program)
        return program

    yield start
    for program in programs:
        program.stop()


def logged(lsp: Session, text: str) -> Callable[[], bool]:
    def found() -> bool:
        return any(text in m.message for m in lsp.client.log_messages)

    found.__doc__ = f"a log message with {text!r}"
    return found


def live(lsp: Session, count: int) -> Callable[[], bool]:
    def found() -> bool:
        return bool(lsp.status) and lsp.status[-1].get("live") == count

    found.__doc__ = f"a status with live {count}"
    return found


def answers(program: LiveProgram, expression: str, expected: str) -> Callable[[], bool]:
    def found() -> bool:
        return program.ask(expression) == expected

    found.__doc__ = f"{expression} == {expected} in pid {program.pid}"
    return found


async def lens_titles(lsp: Session, path: Path) -> list[str]:
    lenses = await lsp.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )
    return [lens.command.title for lens in lenses or [] if lens.command]


def live_warnings(lsp: Session, path: Path) -> list[types.Diagnostic]:
    return [d for d in lsp.diagnostics(path) if d.source == "hotmod live"]


async def test_a_passing_save_runs_in_the_program_with_its_lens_and_status(
    lsp: Session, live_ws: Path, start: Callable[..., LiveProgram]
) -> None:
    program = start()
    program.ask("prices.__dict__.setdefault('kept', []).append('state')")  # made at run time
    await lsp.start(live_ws)
    await lsp.idle()
    await lsp.until(live(lsp, 1))
    prices = live_ws / "shop/prices.py"
    assert "live in 1 process" in await lens_titles(lsp, prices)

    lsp.save(prices, PRICES.replace("x * 2", "x * 3"))
    await lsp.until(answers(program, "prices.price(10)", "30"))
    await lsp.until(logged(lsp, "hotmod live: applied shop/prices.py: 1 function changed"))
    assert program.ask("(prices.kept, __import__('os').getpid())") == repr((["state"], program.pid))
    await lsp.until(live(lsp, 1))
    assert lsp.status[-1]["message"].endswith("; live in 1 process"), lsp.status[-1]
    titles = await lens_titles(lsp, prices)
    assert "live in 1 process \u00b7 applied 1\u00d7" in titles, titles
    # a module the program never imported is not live
    (live_ws / "shop/extra.py").write_text("X = 1\n")
    lsp.save(live_ws / "shop/extra.py")
    await lsp.idle()
    assert not [t for t in await lens_titles(lsp, live_ws / "shop/extra.py") if "live" in t]

    # the program exits: nothing is live
    program.stop()
    await lsp.until(live(lsp, 0))
    assert not [t for t in await lens_titles(lsp, prices) if t.startswith("live")]


async def test_a_save_that_breaks_a_dependent_is_not_applied_until_fixed(
    lsp: Session, live_ws: Path, start: Callable[..., LiveProgram]
) -> None:
    program = start()
    await lsp.start(live_ws)
    await lsp.idle()
    prices = live_ws / "shop/prices.py"
    broken = "def price(x):\n    return x * 4\n"  # discount() removed: cart breaks
    lsp.save(prices, broken)
    await lsp.until(logged(lsp, "hotmod live: not applied: shop/cart.py:1: "))
    assert program.ask("prices.price(10)") == "20"
    sent = len(lsp.status)
    lsp.save(live_ws / "shop/registry.py")  # passes, but the broken save is still pending
    await lsp.until(lambda: any(s["state"] == "idle" for s in lsp.status[sent:]))
    # the fix brings the pending change along, all at once
    lsp.save(prices, broken + "\n\ndef discount():\n    return 5\n")
    await lsp.until(answers(program, "(prices.price(10), prices.discount())", "(40, 5)"))
    await lsp.until(logged(lsp, "hotmod live: applied shop/prices.py"))
    said = [m.message for m in lsp.client.log_messages if "not applied" in m.message]
    assert len(said) == 1, said  # said once, not after every check while it was kept back


async def test_a_refused_layout_change_is_a_warning_until_the_file_is_applied(
    lsp: Session, live_ws: Path, start: Callable[..., LiveProgram]
) -> None:
    program = start()
    await lsp.start(live_ws)
    await lsp.idle()
    await lsp.until(live(lsp, 1))
    orders = live_ws / "shop/orders.py"
    lsp.save(orders, ORDERS + "    note: str = ''\n")
    await lsp.until(lambda: live_warnings(lsp, orders))
    [warning] = live_warnings(lsp, orders)
    assert warning.message == "needs restart: dataclass Order gained a field"
    assert warning.severity == types.DiagnosticSeverity.Warning
    assert warning.range.start.line == 6  # the field
    await lsp.until(logged(lsp, "hotmod live: not applied: shop/orders.py:7: needs restart: "))
    assert (
        program.ask("len(__import__('dataclasses').fields(sys.modules['shop.orders'].Order))")
        == "1"
    )

    # the check's own diagnostics and the warning live side by side
    lsp.save(orders, ORDERS + "    note: str = ''\n\nimport shop.nowhere\n")
    await lsp.until(lambda: "import-error" in lsp.codes(orders))
    assert live_warnings(lsp, orders)

    lsp.save(orders, ORDERS + "\n    def double(self):\n        return self.total * 2\n")
    await lsp.until(lambda: not live_warnings(lsp, orders) and not lsp.codes(orders))
    assert program.ask("sys.modules['shop.orders'].Order(4).double()") == "8"


async def test_an_untrusted_workspace_is_never_applied_to(
    lsp: Session, live_ws: Path, start: Callable[..., LiveProgram]
) -> None:
    program = start()
    await lsp.start(live_ws, trusted=False)
    await lsp.until(lambda: lsp.status and lsp.status[-1]["state"] == "untrusted")
    lsp.save(live_ws / "shop/prices.py", PRICES.replace("x * 2", "x * 9"))
    answer = await lsp.command("hotmod.liveProcesses")
    assert answer["processes"] == [] and answer["live_reload"] is False
    assert answer["message"].startswith("Live reload is off for live-ws: the workspace is not")
    with pytest.raises(JsonRpcInvalidParams, match="not trusted"):
        await lsp.command("hotmod.liveApply")
    # The server never announced itself, so it never connected to the program.
    assert not [
        e for e in rendezvous.entries("server") if str(live_ws) in json.dumps(e["workspaces"])
    ]
    await lsp.command("hotmod.status")  # the save was handled
    assert program.ask("prices.price(10)") == "20"


class FakeSupervisor:
    """A ``hotmod run`` supervisor's socket: records what it is sent."""

    def __init__(self) -> None:
        self.name = rendezvous.new_name("supervisor")
        self.socket_path = rendezvous.socket_path(self.name)
        self.received: list[dict[str, Any]] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.socket_path)
        self.server.listen(1)
        threading.Thread(target=self._serve, daemon=True).start()
        rendezvous.publish(
            self.name, {"kind": "supervisor", "pid": os.getpid(), "socket": self.socket_path}
        )

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client, client.makefile("rb") as reader:
                self.received.append(json.loads(reader.readline()))
                client.sendall(b'{"ok": true}\n')

    def close(self) -> None:
        self.server.close()
        rendezvous.withdraw(self.name)


async def test_commands_list_apply_now_rerun_and_restart(
    lsp: Session, live_ws: Path, start: Callable[..., LiveProgram], tmp_path: Path
) -> None:
    program = start()
    other = tmp_path / "other-ws"  # a program of another workspace is none of its business
    write(other, {"pyproject.toml": "", "shop/__init__.py": "", "shop/prices.py": PRICES})
    stranger = LiveProgram(other)
    prices = live_ws / "shop/prices.py"
    prices.write_text(PRICES.replace("x * 2", "x * 7"))  # before the server: never saved
    await lsp.start(live_ws)
    await lsp.idle()
    await lsp.until(live(lsp, 1))
    assert program.ask("prices.price(10)") == "20"

    listed = await lsp.command("hotmod.liveProcesses")
    [process] = listed["processes"]
    assert process["pid"] == program.pid and process["command"].endswith(SCRIPT)
    assert {"shop.prices", "shop.orders"} <= set(process["modules"])
    assert process["restartable"] is False and process["applied"] == 0
    assert listed["message"] == f"1 process takes changes of live-ws: pid {program.pid}"
    assert f"| {program.pid} |" in listed["markdown"]

    applied = await lsp.command("hotmod.liveApply")
    assert program.ask("prices.price(10)") == "70"
    [outcome] = applied["outcomes"]
    assert outcome["ok"] and outcome["modules"] == ["shop.prices"]
    assert applied["message"].startswith("Applied 6 modules to 1 process: 1 function changed")
    listed = await lsp.command("hotmod.liveProcesses")
    assert listed["processes"][0]["applied"] == 1

    # top-level code: refused on save, applied by re-running the module on request
    plugins = live_ws / "shop/plugins.py"
    lsp.save(plugins, PLUGINS.replace("'a'", "'b'"))
    await lsp.until(lambda: live_warnings(lsp, plugins))
    assert "apply with re-run" in live_warnings(lsp, plugins)[0].message
    again = await lsp.command("hotmod.liveApply", {})
    assert not again["outcomes"][0]["ok"] and "Not applied in 1 of 1 process" in again["message"]
    rerun = await lsp.command("hotmod.liveApply", {"rerun": True})
    assert rerun["outcomes"][0]["ok"], rerun
    assert program.ask("sys.modules['shop.registry'].REGISTERED") == "['a', 'b']"
    await lsp.until(lambda: not live_warnings(lsp, plugins))

    # restart: only a program that `hotmod run` started, through its supervisor
    with pytest.raises(JsonRpcInvalidParams, match="no attached process was started by"):
        await lsp.command("hotmod.liveRestart")
    with pytest.raises(JsonRpcInvalidParams, match="was not started by `hotmod run`"):
        await lsp.command("hotmod.liveRestart", {"pid": program.pid})
    supervisor = FakeSupervisor()
    try:
        supervised = start({"HOTMOD_LIVE_SUPERVISOR": supervisor.socket_path})
        await lsp.until(live(lsp, 2))
        restarted = await lsp.command("hotmod.liveRestart")
        assert restarted["pid"] == supervised.pid
        assert supervisor.received == [{"op": "restart"}]
        assert restarted["message"].startswith(
            f"Asked `hotmod run` to restart pid {supervised.pid}"
        )
    finally:
        supervisor.close()
    with pytest.raises(JsonRpcInvalidParams, match="is gone"):
        await lsp.command("hotmod.liveRestart", {"pid": supervised.pid})
    with pytest.raises(JsonRpcInvalidParams, match="rerun must be true or false"):
        await lsp.command("hotmod.liveApply", {"rerun": "yes"})
    assert stranger.ask("prices.price(10)") == "20"
    stranger.stop()


async def test_live_reload_off_by_setting(
    lsp: Session, live_ws: Path, start: Callable[..., LiveProgram]
) -> None:
    program = start()
    await lsp.start(live_ws, liveReload=False)
    await lsp.idle()
    lsp.save(live_ws / "shop/prices.py", PRICES.replace("x * 2", "x * 9"))
    await lsp.idle()
    answer = await lsp.command("hotmod.liveProcesses")
    assert answer["processes"] == [] and "liveReload setting" in answer["message"]
    assert lsp.status[-1]["live"] == 0
    assert program.ask("prices.price(10)") == "20"
