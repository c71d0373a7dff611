"""Shared by the benchmark scripts: a real LSP client driving ``hotmod serve``, and
small measuring helpers (percentiles, cold imports, RSS, tables).

Not a benchmark itself; the scripts import it as ``_lsp_driver`` (they run with
``tests/benchmarks`` as ``sys.path[0]``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from lsprotocol import types
from pygls.lsp.client import LanguageClient

SERVER = [
    sys.executable,
    "-m",
    "hotmod.server",
    "--trust",
    *os.environ.get("HOTMOD_BENCH_SERVER_ARGS", "").split(),
]

MB = 1024 * 1024


# -- statistics and output -----------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 1]."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A Markdown table (pastes into docs/performance.md as is)."""
    cells = [list(header), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}\n")

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    print(line(cells[0]))
    print(
        "|"
        + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths))
        + "|"
    )
    for row in cells[1:]:
        print(line(row))


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / (1024**3):.0f} GiB, "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)"
    )


# -- processes ----------------------------------------------------------------------
def cold_import_ms(
    root: Path, module: str, runs: int = 5, env: Mapping[str, str] | None = None
) -> float:
    """Median wall time (ms) of ``python -c "import module"`` in a fresh process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", f"import {module}"],
            cwd=root,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
        )
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MB


def children_rss_mb(pid: int) -> float:
    """RSS of a process's direct children (the server's: the worker zygote)."""
    return sum(c.memory_info().rss for c in psutil.Process(pid).children()) / MB


def is_broken(diagnostics: Sequence[types.Diagnostic]) -> bool:
    """An error-severity diagnostic (warnings such as slow-import do not count)."""
    return any(d.severity in (None, types.DiagnosticSeverity.Error) for d in diagnostics)


# -- the LSP session ----------------------------------------------------------------
@dataclass
class Published:
    at: float  # time.perf_counter() when the notification arrived
    diagnostics: list[types.Diagnostic]


class LspSession:
    """``hotmod serve`` over stdio with a pygls client, recording every notification.

    Use as ``async with LspSession(root) as lsp:``; ``lsp.init_ms`` and
    ``lsp.full_check_s`` are measured on entry (the initial check of every module).
    """

    def __init__(self, root: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.env = dict(env) if env is not None else None
        self.client = LanguageClient("hotmod-bench", "0")
        self.published: dict[str, list[Published]] = {}
        self.status: list[Any] = []
        self.status_at: list[float] = []  # time.perf_counter() when each status arrived
        self.initialized_at = 0.0  # time.perf_counter() when `initialized` was sent
        self.init_ms = 0.0
        self.full_check_s = 0.0
        # CPU seconds of the whole machine during the full check: (user, kernel).
        self.full_check_cpu = (0.0, 0.0)
        self.server_pid = 0
        self.log: list[str] = []  # the server's last stderr lines
        self._drain: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()  # set by every publishDiagnostics

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(
                Published(time.perf_counter(), list(params.diagnostics))
            )
            self._arrived.set()

        @self.client.feature("hotmod/status")
        def on_status(params: Any) -> None:
            self.status.append(params)
            self.status_at.append(time.perf_counter())

        @self.client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def on_refresh(params: None) -> None:
            return None

    async def __aenter__(self) -> LspSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, idle_timeout: float = 900) -> None:
        await self.client.start_io(*SERVER, env=self.env)
        server = self.client._server
        self.server_pid = server.pid if server else 0
        if server is not None and server.stderr is not None:
            # Nobody else reads the server's log: drain it so that it cannot block.
            self._drain = asyncio.create_task(self._read_log(server.stderr))
        start = time.perf_counter()
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=self.root.as_uri(),
                # Like an editor extension: results are read here, not shown.
                initialization_options={"trusted": True, "hotmodClient": "benchmark"},
            )
        )
        self.init_ms = (time.perf_counter() - start) * 1000
        start = self.initialized_at = time.perf_counter()
        before = psutil.cpu_times()
        self.client.initialized(types.InitializedParams())
        await self.until_idle(idle_timeout)
        self.full_check_s = time.perf_counter() - start
        after = psutil.cpu_times()
        self.full_check_cpu = (
            after.user + after.nice - before.user - before.nice,
            after.system - before.system,
        )

    async def _read_log(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.log.append(line.decode("utf-8", "replace").rstrip())
            del self.log[:-200]

    async def until_idle(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not (self.status and getattr(self.status[-1], "state", None) == "idle"):
            if time.monotonic() > deadline:
                raise TimeoutError("server never became idle")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def server_rss_mb(self) -> float:
        return rss_mb(self.server_pid)

    def worker_rss_mb(self) -> float:
        return children_rss_mb(self.server_pid)

    def did_save(self, path: Path) -> None:
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=path.as_uri())
            )
        )

    async def save_and_wait(
        self, path: Path, text: str, expect: Mapping[Path, bool], timeout: float = 120
    ) -> dict[Path, float]:
        """Write ``path``, send didSave, and wait for every file in ``expect`` to be
        published as broken (True) or clean (False).

        Returns ms from didSave to each file's matching publishDiagnostics.
        """
        uris = {p: p.as_uri() for p in expect}
        seen = {p: len(self.published.get(u, [])) for p, u in uris.items()}
        path.write_text(text)
        self._arrived.clear()
        sent = time.perf_counter()
        self.did_save(path)
        arrived: dict[Path, float] = {}
        waiting = dict(expect)
        while waiting:
            # Sleep until a notification arrives: polling would take CPU from the worker.
            left = timeout - (time.perf_counter() - sent)
            try:
                await asyncio.wait_for(self._arrived.wait(), max(0.0, left))
            except TimeoutError:
                missing = sorted(str(p) for p in waiting)
                raise TimeoutError(
                    f"no diagnostics after saving {path.name}: {missing[:5]}"
                ) from None
            self._arrived.clear()
            for p, broken in list(waiting.items()):
                events = self.published.get(uris[p], [])
                for event in events[seen[p] :]:
                    if is_broken(event.diagnostics) == broken:
                        arrived[p] = (event.at - sent) * 1000
                        del waiting[p]
                        break
                seen[p] = len(events) if p in waiting else seen[p]
        return arrived

    async def execute(self, command: str, arguments: list[Any]) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=arguments)
        )

    async def reload_module(self, name: str) -> dict[str, Any]:
        """``hotmod.reloadModule``: the module's result as a dict (self_ms, load_ms, ...)."""
        result = await self.execute("hotmod.reloadModule", [{"module": name}])
        module: dict[str, Any] = (
            result["result"] if isinstance(result, dict) else result.result._asdict()
        )
        return module


async def initialize_ms(root: Path) -> tuple[float, float]:
    """ms from spawning ``hotmod serve`` to its answer to ``initialize``, and from
    sending ``exit`` (after ``shutdown``) to the process having ended."""
    client = LanguageClient("hotmod-bench", "0")
    start = time.perf_counter()
    await client.start_io(*SERVER)
    await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri())
    )
    elapsed = (time.perf_counter() - start) * 1000
    await client.shutdown_async(None)
    process = client._server
    assert process is not None
    start = time.perf_counter()
    client.exit(None)
    await process.wait()
    exit_ms = (time.perf_counter() - start) * 1000
    await client.stop()
    return elapsed, exit_ms


async def alternate_saves(
    lsp: LspSession,
    path: Path,
    saves: int,
    dependents: Sequence[Path] = (),
    pause: float = 0.05,
) -> tuple[list[float], list[float]]:
    """Alternate broken and fixed saves of ``path`` (a ``raise`` at its end, so that
    dependents run all of its code and then fail too).

    Returns (ms to the saved file's own diagnostics, ms to the last of all files').
    """
    original = path.read_text()
    own, last = [], []
    try:
        for i in range(saves):
            broken = i % 2 == 0
            tail = f"raise RuntimeError('save {i}')\n" if broken else f"# save {i}\n"
            expect = {path: broken, **{d: broken for d in dependents}}
            arrived = await lsp.save_and_wait(path, original + tail, expect)
            own.append(arrived[path])
            last.append(max(arrived.values()))
            await asyncio.sleep(pause)
    finally:
        path.write_text(original)
    return own, last
