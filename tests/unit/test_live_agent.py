"""The live agent in a real program, driven as ``hotmod run`` and the server drive it.

Each program is a separate Python process started with hotmod.live's boot
folder on PYTHONPATH (what ``hotmod run`` does), in a private rendezvous
folder of the test's own; it prints what its code returns, so that the
assertions are about what the running program does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hotmod.core import Engine
from hotmod.core.live_apply import LiveApplier, describe
from hotmod.core.live_links import ApplyOutcome, LiveLinks, LiveProcess
from hotmod.live import rendezvous
from hotmod.live.agent import digest

BOOT = Path(rendezvous.__file__).parent / "boot"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")


class Program:
    """A running program with an agent, reading its output lines."""

    def __init__(self, process: subprocess.Popen[str], root: Path) -> None:
        self.process = process
        self.root = root
        self.lines: list[str] = []

    def line(self, timeout: float = 10.0) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line:
                self.lines.append(line.rstrip("\n"))
                return self.lines[-1]
        raise AssertionError(f"no output; so far: {self.lines}")

    def ask(self, expression: str) -> str:
        """Evaluate ``expression`` in the program (its stdin loop) and return the answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(expression + "\n")
        self.process.stdin.flush()
        return self.line()


@pytest.fixture
def rendezvous_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "rv"
    monkeypatch.setenv("HOTMOD_LIVE_DIR", str(folder))
    return folder


# A program that answers expressions read from stdin: it stands for a REPL or a
# server that keeps running between edits.
SERVE = """
import sys
from shop import prices
counter = 0
print("ready", flush=True)
for line in sys.stdin:
    counter += 1
    try:
        print(repr(eval(line)), flush=True)
    except Exception as exc:
        print("error: %s: %s" % (type(exc).__name__, exc), flush=True)
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def start(tmp_path: Path, rendezvous_dir: Path) -> Iterator[Callable[..., Program]]:
    programs: list[Program] = []

    def start(
        files: dict[str, str] | None = None, env: dict[str, str] | None = None, boot: bool = True
    ) -> Program:
        root = tmp_path / "project"
        write(
            root, {"pyproject.toml": "", "shop/__init__.py": "", "main.py": SERVE, **(files or {})}
        )
        environ = {**os.environ, "HOTMOD_LIVE_WORKSPACE": str(root), **(env or {})}
        if boot:
            environ["PYTHONPATH"] = str(BOOT)
        process = subprocess.Popen(
            [sys.executable, "main.py"],
            cwd=root,
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        program = Program(process, root)
        programs.append(program)
        assert program.line() == "ready"
        return program

    yield start
    for program in programs:
        if program.process.poll() is None:
            program.process.kill()
        program.process.wait()


def links(accept: Callable[[LiveProcess, str], bool] | None = None, **kwargs: object) -> LiveLinks:
    return LiveLinks("run", accept or (lambda process, name: True), **kwargs)  # type: ignore[arg-type]


def until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def verified(path: Path) -> tuple[Path, str]:
    return path, digest(path.read_bytes())


PRICES = """
def price(x):
    return x * 2
"""


def test_a_running_program_runs_the_new_body_and_keeps_its_state(
    start: Callable[..., Program],
) -> None:
    program = start({"shop/prices.py": PRICES})
    assert program.ask("prices.price(10)") == "20"
    keep = program.ask("(counter, __import__('os').getpid())")
    path = program.root / "shop/prices.py"
    path.write_text(PRICES.replace("x * 2", "x * 3") + "\ndef added():\n    return 'new'\n")
    with links() as live:
        [outcome] = live.apply([verified(path)])
    assert outcome.ok, outcome
    assert outcome.summary == "1 function changed, 1 added"
    assert program.ask("prices.price(10)") == "30"
    assert program.ask("prices.added()") == "'new'"
    counter, pid = eval(keep)
    assert program.ask("(counter, __import__('os').getpid())") == repr((counter + 3, pid))


def test_a_file_that_differs_from_what_was_checked_is_not_applied(
    start: Callable[..., Program],
) -> None:
    program = start({"shop/prices.py": PRICES})
    path = program.root / "shop/prices.py"
    checked = verified(path)
    path.write_text(PRICES.replace("x * 2", "x * 5"))
    with links() as live:
        [outcome] = live.apply([checked])
    assert not outcome.ok and "changed after it was checked" in outcome.error
    assert program.ask("prices.price(10)") == "20"


def test_a_change_needing_a_restart_is_refused_whole(start: Callable[..., Program]) -> None:
    program = start(
        {
            "shop/prices.py": PRICES,
            "shop/orders.py": """
                from dataclasses import dataclass

                @dataclass
                class Order:
                    total: int
            """,
        }
    )
    program.ask("__import__('shop.orders')")
    prices, orders = program.root / "shop/prices.py", program.root / "shop/orders.py"
    prices.write_text(PRICES.replace("x * 2", "x * 7"))
    orders.write_text(orders.read_text() + "    note: str = ''\n")
    with links() as live:
        [outcome] = live.apply([verified(prices), verified(orders)])
    assert not outcome.ok
    assert [(r.path.name, r.line) for r in outcome.refused] == [("orders.py", 7)]  # the field
    assert "Order" in outcome.refused[0].reason and "field" in outcome.refused[0].reason
    assert program.ask("prices.price(10)") == "20"  # all or nothing


def test_paths_outside_the_project_and_modules_never_imported(
    start: Callable[..., Program], tmp_path: Path
) -> None:
    program = start({"shop/prices.py": PRICES, "shop/unused.py": "X = 1\n"})
    outside = tmp_path / "elsewhere.py"
    outside.write_text("X = 1\n")
    with links() as live:
        [refused] = live.apply([verified(outside)])
        unused = program.root / "shop/unused.py"
        unused.write_text("X = 2\n")
        [untouched] = live.apply([verified(unused)])
    assert not refused.ok and "not a project file" in refused.error
    assert untouched.ok and untouched.files == () and untouched.changed == 0
    assert program.ask("'shop.unused' in __import__('sys').modules") == "False"


def test_only_a_controller_holding_the_token_is_heard(
    start: Callable[..., Program], rendezvous_dir: Path
) -> None:
    start({"shop/prices.py": PRICES})
    [entry] = rendezvous.entries("agent")
    assert (rendezvous_dir.stat().st_mode & 0o777) == 0o700
    assert (rendezvous_dir / (entry["name"] + ".json")).stat().st_mode & 0o777 == 0o600
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(entry["socket"])
        sock.sendall(json.dumps({"op": "hello", "token": "guess", "controller": "run"}).encode())
        sock.sendall(b"\n" + json.dumps({"op": "info", "id": 1}).encode() + b"\n")
        assert sock.recv(100) == b""  # dropped without a word


def test_the_rendezvous_folder_must_be_private(
    rendezvous_dir: Path,
) -> None:
    rendezvous_dir.mkdir(mode=0o755)
    rendezvous_dir.chmod(0o755)
    with pytest.raises(rendezvous.LiveError, match="not a private folder"):
        rendezvous.folder()


def test_an_exit_leaves_nothing_behind_and_a_killed_program_is_cleaned_up(
    start: Callable[..., Program], rendezvous_dir: Path
) -> None:
    first = start({"shop/prices.py": PRICES})
    assert len(os.listdir(rendezvous_dir)) == 2  # its entry and its socket
    assert first.process.stdin is not None
    first.process.stdin.close()
    assert first.process.wait(10) == 0
    assert os.listdir(rendezvous_dir) == []
    second = start()
    second.process.send_signal(signal.SIGKILL)
    second.process.wait()
    assert len(os.listdir(rendezvous_dir)) == 2
    assert rendezvous.entries("agent") == []
    assert os.listdir(rendezvous_dir) == []


def test_every_controller_hears_what_another_applied(start: Callable[..., Program]) -> None:
    program = start({"shop/prices.py": PRICES})
    heard: list[ApplyOutcome] = []
    with links(on_applied=heard.append) as listener, links() as applier:
        until(lambda: listener.refresh())
        path = program.root / "shop/prices.py"
        path.write_text(PRICES.replace("x * 2", "x * 4"))
        applier.apply([verified(path)])
        until(lambda: heard)
        assert heard[0].ok and heard[0].by_other and heard[0].summary == "1 function changed"
        until(lambda: listener.processes()[0].applied == 1)


def test_a_forked_child_takes_changes_of_its_own(start: Callable[..., Program]) -> None:
    program = start({"shop/prices.py": PRICES})
    child = int(
        program.ask(
            "[os := __import__('os'), pid := os.fork(), "
            "(__import__('time').sleep(60), os._exit(0)) if pid == 0 else pid][-1]"
        )
    )
    try:
        with links() as live:
            until(lambda: {p.pid for p in live.refresh()} == {program.process.pid, child})
            path = program.root / "shop/prices.py"
            path.write_text(PRICES.replace("x * 2", "x * 9"))
            outcomes = live.apply([verified(path)])
        assert sorted(o.pid for o in outcomes if o.ok) == sorted([program.process.pid, child])
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_module_changed_before_the_agent_started_is_not_guessed(
    start: Callable[..., Program],
) -> None:
    """Imported, edited, then attached: its running source is unknown (no bytecode
    cache to prove it), so a change to it needs a restart rather than a guess."""
    program = start(
        {"shop/prices.py": PRICES},
        env={"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": ""},
        boot=False,
    )
    path = program.root / "shop/prices.py"
    path.write_text(PRICES.replace("x * 2", "x * 6"))
    assert "Agent" in program.ask(
        f"__import__('hotmod.live', fromlist=['attach']).attach({str(program.root)!r})"
    )
    with links() as live:
        [outcome] = live.apply([verified(path)])
    assert not outcome.ok
    assert "imported before hotmod attached" in outcome.refused[0].reason
    assert program.ask("prices.price(10)") == "20"


def test_saves_are_applied_once_they_and_their_dependents_pass(
    start: Callable[..., Program],
) -> None:
    program = start(
        {
            "shop/prices.py": PRICES + "\ndef discount():\n    return 1\n",
            "shop/cart.py": "from shop.prices import discount\n",
        }
    )
    root = program.root
    with Engine(root) as engine, links() as live:
        engine.reload_all()
        applier = LiveApplier(engine, live)
        prices = root / "shop/prices.py"
        prices.write_text(PRICES.replace("x * 2", "x * 8"))  # removes discount: cart breaks
        applier.saved([prices])
        engine.check_paths([prices])
        decision = applier.checked()
        assert decision is not None and not decision.outcomes
        assert [r.name for r in decision.blocked_by] == ["shop.cart"]
        [line] = describe(decision, root)
        assert line.startswith("not applied: shop/cart.py:1: ") and "discount" in line
        assert program.ask("prices.price(10)") == "20"
        prices.write_text(prices.read_text() + "\ndef discount():\n    return 2\n")
        applier.saved([prices])
        engine.check_paths([prices])
        decision = applier.checked()
        assert decision is not None and decision.applied, decision
        assert describe(decision, root)[0].startswith("applied shop/prices.py: 2 functions changed")
        assert program.ask("(prices.price(10), prices.discount())") == "(80, 2)"
        assert applier.pending == ()


def test_a_save_is_applied_only_with_the_verdict_of_its_own_content(
    start: Callable[..., Program],
) -> None:
    program = start({"shop/prices.py": PRICES})
    root = program.root
    with Engine(root) as engine, links() as live:
        engine.reload_all()
        applier = LiveApplier(engine, live)
        prices = root / "shop/prices.py"
        prices.write_text(PRICES.replace("x * 2", "x * 8"))
        applier.saved([prices])
        engine.check_paths([prices])
        prices.write_text(PRICES.replace("x * 2", "x * 9"))  # saved again, not checked yet
        applier.saved([prices])
        decision = applier.checked()
        assert decision is not None and not decision.outcomes and decision.waiting == (prices,)
        assert program.ask("prices.price(10)") == "20"
        engine.check_paths([prices])
        decision = applier.checked()
        assert decision is not None and decision.applied, decision
        assert decision.outcomes[0].modules == ("shop.prices",)
        assert program.ask("prices.price(10)") == "90"


def test_a_file_saved_again_while_it_is_applied_stays_pending(
    start: Callable[..., Program],
) -> None:
    program = start({"shop/prices.py": PRICES})
    root = program.root
    prices = root / "shop/prices.py"
    with Engine(root) as engine, links() as live:
        engine.reload_all()
        applier = LiveApplier(engine, live)
        sending = live.apply

        def save_during_the_apply(*args: object, **kwargs: object) -> list[ApplyOutcome]:
            outcomes = sending(*args, **kwargs)  # type: ignore[arg-type]
            prices.write_text(PRICES.replace("x * 2", "x * 4"))
            applier.saved([prices])
            return outcomes

        live.apply = save_during_the_apply  # type: ignore[method-assign]
        prices.write_text(PRICES.replace("x * 2", "x * 3"))
        applier.saved([prices])
        engine.check_paths([prices])
        decision = applier.checked()
        assert decision is not None and decision.applied, decision
        assert program.ask("prices.price(10)") == "30"
        assert applier.pending == (prices,)  # the newer save is still to apply
        live.apply = sending  # type: ignore[method-assign]
        engine.check_paths([prices])
        decision = applier.checked()
        assert decision is not None and decision.applied, decision
        assert program.ask("prices.price(10)") == "40"


def blocked(program: Program, thread: str, sig: int) -> bool:
    """Whether ``thread`` of ``program`` blocks ``sig``, from /proc (Linux)."""
    status = (
        "[l for l in open('/proc/self/task/%d/status' % "
        f"[t for t in __import__('threading').enumerate() if {thread}][0].native_id)"
        " if l.startswith('SigBlk:')][0].split()[1]"
    )
    mask = int(program.ask(status).strip("'"), 16)
    return bool(mask >> (sig - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_the_program_not_the_agent_thread_gets_its_signals(start: Callable[..., Program]) -> None:
    """A Ctrl-C the kernel gave the agent's thread would leave a REPL in its read."""
    program = start({"shop/prices.py": PRICES})
    agent = "t.name == 'hotmod-live'"
    main = "t is __import__('threading').main_thread()"
    assert blocked(program, agent, signal.SIGINT)
    assert blocked(program, agent, signal.SIGTERM)
    assert not blocked(program, agent, signal.SIGSEGV)  # a fault stays the thread's own
    assert not blocked(program, main, signal.SIGINT)  # the mask was the thread's only
