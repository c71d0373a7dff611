"""A real hotmod server over stdio, driven by pytest-lsp's client."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls import uris
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = [
    sys.executable,
    "-m",
    "hotmod.server",
    *os.environ.get("HOTMOD_TEST_SERVER_ARGS", "").split(),
]


def uri(path: Path) -> str:
    value = uris.from_fs_path(str(path))
    assert value is not None
    return value


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


class RawClient:
    """Just enough LSP over stdio: requests, notifications, and answers to the server's
    own requests (progress tokens, registrations)."""

    def __init__(self, stderr: Any = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hotmod.server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        self._ids = itertools.count(1)
        self._responses: dict[Any, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self.messages: list[str] = []  # window/showMessage texts
        threading.Thread(target=self._read, daemon=True).start()

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = None
            line = stream.readline()
            if not line:
                break
            while line.strip():
                key, _, value = line.decode().partition(":")
                if key.lower() == "content-length":
                    length = int(value)
                line = stream.readline()
            assert length is not None
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:  # a request from the server
                self._send({"id": message["id"], "result": None})
            elif "id" in message:
                with self._cond:
                    self._responses[message["id"]] = message
                    self._cond.notify_all()
            elif message.get("method") == "window/showMessage":
                self.messages.append(message["params"]["message"])
        with self._cond:
            self._cond.notify_all()

    def request(self, method: str, params: Any, timeout: float = 60.0) -> dict[str, Any]:
        request_id = next(self._ids)
        self._send({"id": request_id, "method": method, "params": params})
        with self._cond:
            if not self._cond.wait_for(lambda: request_id in self._responses, timeout):
                alive = self.proc.poll() is None
                raise AssertionError(f"no answer to {method} (server alive: {alive})")
            return self._responses.pop(request_id)

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def command(self, name: str, arguments: list[Any]) -> dict[str, Any]:
        return self.request("workspace/executeCommand", {"command": name, "arguments": arguments})

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


class Session:
    """One client session against a fresh server; helpers for waiting on state."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.started = False
        self.status: list[dict[str, Any]] = []
        self.lens_refreshes = 0
        self.registrations: list[types.Registration] = []

    async def start(
        self,
        *folders: Path,
        editor: str = "visual-studio-code",
        capabilities: types.ClientCapabilities | None = None,
        trusted: bool = True,
        **options: Any,
    ) -> types.InitializeResult:
        """``options`` go into initializationOptions: settings, or ``hotmodClient``
        to be one of hotmod's own extensions (which show command results themselves)."""
        self.client.feature("hotmod/status")(lambda params: self.status.append(_plain(params)))

        @self.client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def lens_refresh(params: None) -> None:
            self.lens_refreshes += 1

        @self.client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params: types.RegistrationParams) -> None:
            self.registrations.extend(params.registrations)

        init = {"trusted": trusted, **options}
        result = await self.client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities or pytest_lsp.client_capabilities(editor),
                # No folders: what Helix sends outside a repository.
                root_uri=uri(folders[0]) if folders else None,
                workspace_folders=[types.WorkspaceFolder(uri=uri(f), name=f.name) for f in folders]
                or None,
                initialization_options=init,
            )
        )
        self.started = True
        return result

    async def shutdown(self) -> None:
        await self.client.shutdown_session()
        self.client.capabilities = None  # the fixture's own shutdown is then a no-op

    def diagnostics(self, path: Path) -> list[types.Diagnostic]:
        return list(self.client.diagnostics.get(uri(path), []))

    def codes(self, path: Path) -> list[str]:
        return [str(d.code) for d in self.diagnostics(path)]

    async def until(self, condition: Callable[[], object], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {condition.__doc__ or condition}")
            await asyncio.sleep(0.02)

    async def idle(self, timeout: float = 20.0) -> None:
        """Wait for the server's next `idle` status after everything settled."""
        await self.until(lambda: self.status and self.status[-1]["state"] == "idle", timeout)

    def save(self, path: Path, text: str | None = None) -> None:
        if text is not None:
            path.write_text(text)
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=uri(path))
            )
        )

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments))
        )

    def open(self, path: Path) -> None:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri(path), language_id="python", version=1, text=path.read_text()
                )
            )
        )

    def close(self, path: Path) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri(path)))
        )


def _plain(params: Any) -> dict[str, Any]:
    """pygls hands unknown notifications' params over as namedtuples."""
    return dict(params) if isinstance(params, dict) else dict(params._asdict())


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    # pytest-lsp hands the test the client itself, whatever this yields.
    yield
    await lsp_client.shutdown_session()  # a no-op when the session never started


@pytest.fixture
def lsp(client: LanguageClient) -> Session:
    return Session(client)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A workspace whose cart is broken and whose checkout depends on the cart."""
    root = tmp_path / "shop-ws"
    write(
        root,
        {
            "pyproject.toml": "[project]\nname = 'shop'\nversion = '0'\n",
            "shop/__init__.py": "",
            "shop/prices.py": "def with_tax(x):\n    return x * 1.2\n",
            "shop/cart.py": (
                "import os\n\nfrom shop.prices import discount, with_tax\n\nITEMS = []\n"
            ),
            "shop/checkout.py": "from shop.cart import ITEMS\n\nTOTAL = len(ITEMS)\n",
            "shop/catalog.py": "from shop.prices import with_tax\n\nPRICE = with_tax(1)\n",
        },
    )
    return root
