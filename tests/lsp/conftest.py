"""A real hotmod server over stdio, driven by pytest-lsp's client."""

from __future__ import annotations

import asyncio
import os
import sys
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
                root_uri=uri(folders[0]),
                workspace_folders=[types.WorkspaceFolder(uri=uri(f), name=f.name) for f in folders],
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
