"""``hotmod run``: real programs under a real supervisor, edited while they run.

Each test starts ``hotmod run -- python ...`` as a user would (its own
rendezvous folder, ``HOTMOD_LIVE_DIR``), edits the project's files on disk
and asserts on what the running program does next and on the lines
``hotmod run`` prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import termios
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import psutil
import pytest
from hotmod.core.live_links import LiveLinks
from hotmod.live import rendezvous
from hotmod.live.agent import digest
from hotmod.server.cli import main

from ..processes import gone

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets, ptys")

HOTMOD_RUN = [sys.executable, "-m", "hotmod.server.cli", "run", "--python", sys.executable]
TIMEOUT_S = 20.0


class Output:
    """Lines read from a stream on a thread of their own, waited for by pattern."""

    def __init__(self, stream: IO[bytes] | int) -> None:
        self.text = ""
        self._changed = threading.Condition()
        self._stream = stream
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                if isinstance(self._stream, int):
                    data = os.read(self._stream, 4096)
                else:
                    data = self._stream.read1(4096)  # type: ignore[attr-defined]
            except OSError:  # the pty's other side closed
                data = b""
            with self._changed:
                self.text += data.decode(errors="replace").replace("\r\n", "\n")
                self._changed.notify_all()
            if not data:
                return

    def mark(self) -> int:
        with self._changed:
            return len(self.text)

    def wait(self, pattern: str, since: int = 0, timeout: float = TIMEOUT_S) -> re.Match[str]:
        """The first match of ``pattern`` (a regex, line by line) after offset ``since``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = re.search(pattern, self.text[since:], re.MULTILINE)
                if found:
                    return found
                left = deadline - time.monotonic()
                assert left > 0, f"no {pattern!r} in:\n{self.text[since:]}"
                self._changed.wait(left)


class HotmodRun:
    """``hotmod run -- COMMAND`` started in ``root``; its lines in ``err``."""

    def __init__(self, root: Path, command: list[str], **popen: object) -> None:
        self.root = root
        self.process = subprocess.Popen(
            [*HOTMOD_RUN, "--", *command],
            cwd=root,
            stdin=popen.pop("stdin", subprocess.DEVNULL),
            stdout=popen.pop("stdout", subprocess.PIPE),
            stderr=popen.pop("stderr", subprocess.PIPE),
            **popen,  # type: ignore[call-overload]
        )
        self.out = Output(self.process.stdout) if self.process.stdout else None
        self.err = Output(self.process.stderr) if self.process.stderr else None

    def text(self) -> str:
        return self.err.text if self.err else ""

    def mark(self) -> int:
        return self.err.mark() if self.err else 0

    def said(self, pattern: str, since: int = 0) -> str:
        assert self.err is not None
        return self.err.wait(r"^hotmod: " + pattern, since).group(0)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(TIMEOUT_S)


@pytest.fixture
def rendezvous_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "rv"
    monkeypatch.setenv("HOTMOD_LIVE_DIR", str(folder))  # for hotmod run and this test
    return folder


@pytest.fixture
def project(tmp_path: Path, rendezvous_dir: Path) -> Callable[[dict[str, str]], Path]:
    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        for name, text in {"pyproject.toml": "", "shop/__init__.py": "", **files}.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return root

    return write


@pytest.fixture
def run() -> Iterator[Callable[..., HotmodRun]]:
    started: list[HotmodRun] = []

    def start(root: Path, command: list[str], **popen: object) -> HotmodRun:
        started.append(HotmodRun(root, command, **popen))
        return started[-1]

    yield start
    for each in started:
        if each.process.poll() is None:
            each.process.terminate()  # passed on to the program
            try:
                each.process.wait(5)
            except subprocess.TimeoutExpired:
                each.process.kill()
                each.process.wait()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


PRICES = """
def price(x):
    return x * 2


def discount():
    return 1
"""

WEB = """
import http.server
import os

from shop.prices import discount, price

requests = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global requests
        requests += 1
        body = "v1 price=%d requests=%d pid=%d" % (price(10), requests, os.getpid())
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format, *args):
        pass
"""

SERVE = """
import http.server

from shop.web import Handler

if __name__ == "__main__":
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
"""


def test_a_web_server_takes_a_verified_edit_and_keeps_running_the_last_good_code(
    project: Callable[[dict[str, str]], Path], run: Callable[..., HotmodRun]
) -> None:
    root = project({"shop/prices.py": PRICES, "shop/web.py": WEB, "serve.py": SERVE})
    hotmod = run(root, [sys.executable, "serve.py"])
    assert hotmod.out is not None
    port = int(hotmod.out.wait(r"^\d+$").group(0))

    def get() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            return str(response.read().decode())

    first = get()
    pid = first.split("pid=")[1]
    assert first == f"v1 price=20 requests=1 pid={pid}"

    web = root / "shop/web.py"
    edit(web, '"v1 price', '"v2 price')
    hotmod.said(r"applied shop/web\.py: 1 function changed \(\d+\.\d ms\)$")
    assert get() == f"v2 price=20 requests=2 pid={pid}"  # new body, same counter, same process

    mark = hotmod.mark()
    edit(web, "def do_GET(self):", "def do_GET(self:")
    hotmod.said(r"not applied: shop/web\.py:\d+: SyntaxError: .*$", mark)
    assert get() == f"v2 price=20 requests=3 pid={pid}"

    edit(web, "def do_GET(self:", "def do_GET(self):")
    hotmod.said(r"applied shop/web\.py: nothing to change", mark)
    mark = hotmod.mark()
    prices = root / "shop/prices.py"
    edit(prices, "return x * 2", "return x * 5")
    edit(prices, "def discount():\n    return 1\n", "")
    line = hotmod.said(r"not applied: .*$", mark)
    assert re.fullmatch(
        r"hotmod: not applied: shop/web\.py:5: ImportError: cannot import name 'discount'.*", line
    ), line
    assert get() == f"v2 price=20 requests=4 pid={pid}"  # the whole save was held back

    assert hotmod.stop() == 128 + signal.SIGTERM  # passed on to the server, which it ended
    hotmod.said(rf"{re.escape(sys.executable)} serve\.py was killed by SIGTERM$")


REPL_MODULE = """
def price(x):
    return x * 2


class Cart:
    def __init__(self):
        self.items = [3, 4]

    def total(self):
        return sum(self.items)
"""


def test_a_repl_keeps_its_variables_and_its_instances_run_the_new_methods(
    project: Callable[[dict[str, str]], Path], run: Callable[..., HotmodRun]
) -> None:
    root = project({"shop/prices.py": REPL_MODULE})
    leader, follower = pty.openpty()

    def terminal() -> None:  # the pty is the session's terminal, as in a real one
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {**os.environ, "TERM": "dumb", "INPUTRC": os.devnull, "PYTHONSTARTUP": ""}
    hotmod = run(
        root,
        [sys.executable, "-q", "-i"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        preexec_fn=terminal,
    )
    os.close(follower)
    screen = Output(leader)

    def type_line(line: str) -> int:
        mark = screen.mark()
        os.write(leader, line.encode() + b"\n")
        return mark

    screen.wait(r"^>>> ")
    type_line("from shop import prices; cart = prices.Cart(); n = 41")
    mark = type_line("print('sta' + 'te', n, cart.total(), prices.price(1))")
    screen.wait(r"^state 41 7 2$", mark)

    module = root / "shop/prices.py"
    module.write_text(
        module.read_text()
        .replace("return sum(self.items)", "return sum(self.items) * 100")
        .replace("return x * 2", "return x * 3")
    )
    screen.wait(r"hotmod: applied shop/prices\.py: 2 functions changed", mark)
    mark = type_line("print('sta' + 'te', n, cart.total(), prices.price(1))")
    screen.wait(r"^state 41 700 3$", mark)

    # Ctrl-C is the program's: the REPL shrugs it off, hotmod run goes on.
    screen.wait(r"^>>> ", mark)  # the REPL is back at its prompt (or about to read)
    mark = screen.mark()
    os.write(leader, b"\x03")
    # A ^C that lands between the prompt and the REPL's read is only raised when
    # the read returns (CPython's REPL): an empty line settles both cases.
    os.write(leader, b"\n")
    interrupted = screen.wait(r"^KeyboardInterrupt$", mark)
    screen.wait(r"^>>> ", mark + interrupted.end())
    edit(root / "shop/prices.py", "return x * 3", "return x * 4")
    screen.wait(r"hotmod: applied shop/prices\.py: 1 function changed", mark)
    mark = type_line("print('sta' + 'te', n, cart.total(), prices.price(1))")
    screen.wait(r"^state 41 700 4$", mark)

    type_line("raise SystemExit(7)")
    assert hotmod.process.wait(TIMEOUT_S) == 7
    os.close(leader)


TWO = """
import os
import subprocess
import sys
import time

from shop import prices

if __name__ == "__main__":
    if sys.argv[1:] == ["parent"]:
        subprocess.Popen([sys.executable, __file__, "child"])
    end = time.monotonic() + 60  # a failed test leaves nothing running for long
    while time.monotonic() < end:  # each tells, in a file of its own, what its code returns
        os.makedirs("state", exist_ok=True)
        with open("state/%d.tmp" % os.getpid(), "w") as f:
            f.write(str(prices.price(1)))
        os.replace("state/%d.tmp" % os.getpid(), "state/%d" % os.getpid())
        time.sleep(0.02)
"""


def until(predicate: Callable[[], object], timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_every_python_process_the_program_starts_is_updated(
    project: Callable[[dict[str, str]], Path], run: Callable[..., HotmodRun]
) -> None:
    root = project({"shop/prices.py": PRICES, "two.py": TWO})
    hotmod = run(root, [sys.executable, "two.py", "parent"])
    state = root / "state"

    def values() -> dict[str, str]:
        return {p.name: p.read_text() for p in state.glob("*") if p.suffix != ".tmp"}

    try:
        until(lambda: len(values()) == 2 and len(rendezvous.entries("agent")) == 2)
        assert set(values().values()) == {"2"}
        edit(root / "shop/prices.py", "return x * 2", "return x * 7")
        hotmod.said(r"applied shop/prices\.py in pid \d+: 1 function changed")
        until(lambda: set(values().values()) == {"7"})
        # One line per process (the second may come just after its process changed).
        until(
            lambda: (
                set(re.findall(r"in pid (\d+): 1 function changed", hotmod.text())) == set(values())
            )
        )

        # A restart is of the whole program: the process it started is stopped too.
        old = {int(pid) for pid in values()}
        [supervisor] = rendezvous.entries("supervisor")
        restart(supervisor)
        assert all(gone(pid) for pid in old)
        until(lambda: len(set(values()) - {str(pid) for pid in old}) == 2)
    finally:  # the processes the program started outlive it (as without hotmod)
        for pid in values():
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(int(pid))
                if str(root / "two.py") in process.cmdline() or process.cwd() == str(root):
                    process.kill()


RESTARTABLE = """
import os
import sys

from shop import prices

if __name__ == "__main__":
    print("ready", os.getpid(), prices.price(1), flush=True)
    os._exit(int(sys.stdin.readline()))  # as a crash would: no clean-up of its own
"""


def published(folder: Path) -> set[str]:
    """Whose entries and sockets are in the rendezvous folder, as ``kind-pid``."""
    return {f.split(".")[0].rsplit("-", 1)[0] for f in os.listdir(folder)}


def restart(entry: dict[str, object]) -> int:
    """What the language server's restart command does: ask the supervisor; the new pid."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(TIMEOUT_S)
        sock.connect(str(entry["socket"]))
        sock.sendall(json.dumps({"op": "restart"}).encode() + b"\n")
        with sock.makefile("rb") as reader:
            answer = json.loads(reader.readline())  # once the program runs again
    assert set(answer) == {"restarted"}, answer
    return int(answer["restarted"])


def test_a_restart_runs_a_new_program_and_an_exit_leaves_nothing_behind(
    project: Callable[[dict[str, str]], Path],
    run: Callable[..., HotmodRun],
    rendezvous_dir: Path,
) -> None:
    root = project({"shop/prices.py": PRICES, "main.py": RESTARTABLE})
    hotmod = run(root, [sys.executable, "main.py"], stdin=subprocess.PIPE)
    assert hotmod.out is not None and hotmod.process.stdin is not None
    first = hotmod.out.wait(r"^ready (\d+) 2$")
    until(lambda: rendezvous.entries("agent"))
    [supervisor] = rendezvous.entries("supervisor")
    [agent] = rendezvous.entries("agent")
    assert agent["supervisor"] == supervisor["socket"]
    assert supervisor["program"] == int(first.group(1)) == agent["pid"]

    edit(root / "shop/prices.py", "return x * 2", "return x * 3")
    hotmod.said(r"applied shop/prices\.py: 1 function changed")
    new_pid = restart(supervisor)
    second = hotmod.out.wait(r"^ready (\d+) 3$", first.end())
    assert second.group(1) != first.group(1) and int(second.group(1)) == new_pid
    hotmod.said(rf"restarted .*main\.py \(pid {first.group(1)} → {second.group(1)}\)$")
    # The old program was stopped before it could remove its entry: the supervisor did.
    wanted = {f"supervisor-{hotmod.process.pid}", f"agent-{second.group(1)}"}
    until(lambda: published(rendezvous_dir) == wanted)

    hotmod.process.stdin.write(b"3\n")
    hotmod.process.stdin.flush()
    assert hotmod.process.wait(TIMEOUT_S) == 3  # the program's exit status
    hotmod.said(r".*main\.py exited with status 3$")
    assert os.listdir(rendezvous_dir) == []


def test_with_an_editors_server_it_only_tells_what_the_server_applied(
    project: Callable[[dict[str, str]], Path], run: Callable[..., HotmodRun]
) -> None:
    root = project({"shop/prices.py": PRICES, "main.py": RESTARTABLE})
    editor = LiveLinks("server", lambda process, name: True, announce=[root])
    try:
        hotmod = run(root, [sys.executable, "main.py"], stdin=subprocess.PIPE)
        assert hotmod.out is not None
        hotmod.said(r"the editor's hotmod \(pid \d+\) checks and applies changes to ")
        hotmod.out.wait(r"^ready")
        until(lambda: editor.refresh())

        prices = root / "shop/prices.py"
        edit(prices, "return x * 2", "return x * 3")
        time.sleep(1.0)  # hotmod run would have checked and applied by now
        assert editor.processes()[0].applied == 0
        assert "applied" not in hotmod.text()

        [outcome] = editor.apply([(prices, digest(prices.read_bytes()))])  # the server's part
        assert outcome.ok
        hotmod.said(r"applied shop/prices\.py: 1 function changed \(\d+\.\d ms\)$")
    finally:
        editor.close()

    edit(prices, "return x * 3", "return x * 4")  # no server any more: hotmod run checks
    hotmod.said(r"the editor's hotmod has gone: checking changes here again$")
    line = hotmod.said(r"applied shop/prices\.py: .*$")
    assert line.count("applied") == 1
    until(lambda: hotmod.text().count("1 function changed") == 2)


def test_what_it_cannot_run_is_said_in_one_line(
    tmp_path: Path,
    rendezvous_dir: Path,
    project: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(project({}))

    def hotmod(*args: str) -> tuple[int, str]:
        code = main(["run", "--python", sys.executable, *args])
        return code, capsys.readouterr().err

    assert hotmod("--", "no-such-command-here") == (
        127,
        "hotmod: error: no-such-command-here: command not found\n",
    )
    assert hotmod("--rerun") == (
        2,
        "hotmod: error: no program to run: hotmod run [options] -- COMMAND [ARGS...]\n",
    )
    nowhere = tmp_path / "nowhere"
    assert hotmod("--root", str(nowhere), "--", "true") == (
        2,
        f"hotmod: error: {nowhere}: workspace folder does not exist\n",
    )
    rendezvous_dir.mkdir(mode=0o755)
    rendezvous_dir.chmod(0o755)  # others could read the tokens
    code, err = hotmod("--", "true")
    assert code == 2
    assert err.startswith("hotmod: error: ") and "not a private folder" in err
    assert err.count("\n") == 1


def test_it_exits_with_the_programs_status(
    project: Callable[[dict[str, str]], Path], run: Callable[..., HotmodRun]
) -> None:
    hotmod = run(project({}), [sys.executable, "-c", "raise SystemExit(5)"])
    assert hotmod.process.wait(TIMEOUT_S) == 5
    hotmod.said(r".* -c raise SystemExit\(5\) exited with status 5$")


def test_a_save_with_no_python_process_to_apply_it_to_is_checked_and_said_so(
    project: Callable[[dict[str, str]], Path], run: Callable[..., HotmodRun]
) -> None:
    root = project({"shop/prices.py": PRICES})
    hotmod = run(root, ["sleep", "60"])
    until(lambda: rendezvous.entries("supervisor"))  # published once it watches
    edit(root / "shop/prices.py", "return x * 2", "return x * 3")
    hotmod.said(r"checked shop/prices\.py: ok, but no process of the program is attached$")
    edit(root / "shop/prices.py", "def discount", "def discount(")
    hotmod.said(r"not applied: shop/prices\.py:\d+: SyntaxError")
