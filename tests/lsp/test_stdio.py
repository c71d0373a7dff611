"""stdin read on the event loop (server/stdio.py), and the fallback to pygls' reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
from hotmod.server.stdio import PipeReader, can_read_async

from .conftest import RawClient, uri


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def responses(stdout: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC messages in a server's output."""
    found = []
    while stdout:
        headers, _, rest = stdout.partition(b"\r\n\r\n")
        length = int(headers.split(b"\r\n")[0].split(b":")[1])
        found.append(json.loads(rest[:length]))
        stdout = rest[length:]
    return found


SESSION = b"".join(
    frame(m)
    for m in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    )
)


async def test_pipe_reader_reads_messages_split_across_writes() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        reader = PipeReader(pipe)
        message = frame({"jsonrpc": "2.0", "method": "x"})
        for i in range(0, len(message), 7):  # the client writes in pieces
            os.write(write_fd, message[i : i + 7])
        os.close(write_fd)
        header = await reader.readline()
        assert header.startswith(b"Content-Length: ")
        assert await reader.readline() == b"\r\n"
        body = await reader.readexactly(int(header.split(b":")[1]))
        assert json.loads(body) == {"jsonrpc": "2.0", "method": "x"}
        assert await reader.readline() == b""  # end of input


async def test_pipe_reader_gives_empty_bytes_when_the_client_dies_mid_message() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        os.write(write_fd, b'{"jsonrpc": "2.0"')
        os.close(write_fd)
        assert await PipeReader(pipe).readexactly(100) == b""


def test_only_pipes_and_sockets_of_their_own_are_read_on_the_loop(tmp_path: Path) -> None:
    in_r, in_w = os.pipe()  # what an editor starts a server with: two pipes
    out_r, out_w = os.pipe()
    with os.fdopen(in_r, "rb") as stdin, os.fdopen(out_w, "wb") as stdout:
        assert can_read_async(stdin, stdout)
        # One open file for both (a terminal, one socket): making it
        # non-blocking would make writes fail on a full buffer.
        assert not can_read_async(stdin, stdin)
    for fd in (in_w, out_r):
        os.close(fd)
    regular = tmp_path / "messages"
    regular.write_bytes(b"")
    with open(regular, "rb") as stdin, open(tmp_path / "out", "wb") as stdout:
        assert not can_read_async(stdin, stdout)


def run_server(stdin: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hotmod.server"],
        stdin=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_server_answers_over_os_pipes() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotmod.server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(SESSION, timeout=60)
    assert proc.returncode == 0, err.decode()
    answers = {m.get("id"): m for m in responses(out) if "id" in m}
    assert answers[1]["result"]["serverInfo"]["name"] == "hotmod"
    assert answers[2]["result"] is None


def test_server_reads_messages_from_a_regular_file(tmp_path: Path) -> None:
    """Not a pipe (e.g. a recorded session replayed): pygls' own reader serves it."""
    session = tmp_path / "session.bin"
    session.write_bytes(SESSION)
    with open(session, "rb") as stdin:
        done = run_server(stdin)
    assert done.returncode == 0, done.stderr.decode()
    answers = {m.get("id"): m for m in responses(done.stdout) if "id" in m}
    assert answers[1]["result"]["serverInfo"]["name"] == "hotmod"


def _start(shop: Path, stderr: Any = subprocess.DEVNULL) -> RawClient:
    client = RawClient(stderr=stderr)
    client.request(
        "initialize",
        {
            "processId": None,
            "rootUri": uri(shop),
            "capabilities": {},
            "initializationOptions": {"trusted": True, "hotmodClient": "test"},
        },
    )
    client.notify("initialized", {})
    return client


def _worker_family(client: RawClient) -> list[psutil.Process]:
    assert "result" in client.command("hotmod.reloadAll", [])
    worker = psutil.Process(client.command("hotmod.status", [])["result"]["worker_pid"])
    return [worker, *worker.children(recursive=True)]


def test_exit_ends_the_server_at_once_and_leaves_no_process(shop: Path) -> None:
    """eglot kills a server still there 0.1 s after `exit` (and reports status 9):
    the time is measured by tests/benchmarks/bench_lsp.py (target 50 ms) and seen
    by the Emacs end-to-end test (exit status 0); here, that the server ends by
    itself, cleanly, with everything it started."""
    client = _start(shop)
    family = _worker_family(client)
    client.request("shutdown", None)
    client.notify("exit", None)
    client.proc.wait(timeout=10)
    assert client.proc.returncode == 0
    _, alive = psutil.wait_procs(family, timeout=5)
    assert not alive, f"left behind: {alive}"


def test_exit_without_shutdown_closes_everything_too(shop: Path) -> None:
    client = _start(shop)
    family = _worker_family(client)
    client.notify("exit", None)
    client.proc.wait(timeout=10)
    assert client.proc.returncode == 1  # LSP: exit without shutdown
    _, alive = psutil.wait_procs(family, timeout=5)
    assert not alive, f"left behind: {alive}"


def test_the_log_stays_quiet_about_what_the_server_ignores(shop: Path, tmp_path: Path) -> None:
    """Edits of a server that declined document sync (eglot sends them anyway),
    unknown notifications and rejected arguments: no error, no traceback."""
    log = tmp_path / "server.log"
    with log.open("wb") as stderr:
        client = _start(shop, stderr=stderr)
        cart = shop / "shop/cart.py"
        document = {"uri": uri(cart), "languageId": "python", "version": 1}
        client.notify("textDocument/didOpen", {"textDocument": {**document, "text": "x"}})
        for version in (2, 3):
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri(cart), "version": version},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 0, "character": 0},
                                "end": {"line": 0, "character": 0},
                            },
                            "text": "# ",
                        }
                    ],
                },
            )
        client.notify("$/unknownNotification", {"x": 1})
        client.notify("textDocument/willSave", {"textDocument": {"uri": uri(cart)}, "reason": 1})
        rejected = client.command("hotmod.reloadModule", [{"module": "no.such.module"}])
        assert rejected["error"]["code"] == -32602
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri(cart)}})
        client.close()
    text = log.read_text()
    assert "Traceback" not in text and " ERROR " not in text and " WARNING " not in text, text
    lines = text.splitlines()
    assert len([line for line in lines if "no.such.module" in line]) == 1, text
    ignored = ("didChange", "willSave", "unknownNotification", "didClose")
    assert not [line for line in lines if any(method in line for method in ignored)], text
