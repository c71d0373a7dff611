"""Soak: many saves across 50 modules through a real LSP client.

The regular suite runs a short soak (``HOTMOD_SOAK_SAVES``, default 300);
``python tests/benchmarks/soak.py`` runs the issue's full 10 000 saves.
Afterwards the diagnostics must match the files' final content, and the
server must not have grown much or leaked processes or file descriptors.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import psutil

from ..processes import wait_for_no_leftovers
from .conftest import Session, write

SAVES = int(os.environ.get("HOTMOD_SOAK_SAVES") or 300)
MODULES = 50

# content kind -> (source of module i, the diagnostic codes it must end with)
KINDS: dict[str, tuple[str, list[str]]] = {
    "ok": ("from pkg import base\n\nVALUE = base.BASE + {i}\n", []),
    "raises": ("from pkg import base\n\nVALUE = base.BASE / 0  # {i}\n", ["exception"]),
    "bad-import": ("from pkg.base import MISSING  # {i}\n", ["import-error"]),
    "syntax": ("from pkg import base\n\nVALUE = (  # {i}\n", ["syntax-error"]),
}


def _snapshot(process: psutil.Process) -> tuple[int, int]:
    return process.memory_info().rss, process.num_fds()


async def test_soak_many_saves(lsp: Session, tmp_path: Path) -> None:
    root = tmp_path / "soak"
    files = {"pkg/__init__.py": "", "pkg/base.py": "BASE = 1\n"}
    files |= {f"pkg/m{i:02d}.py": KINDS["ok"][0].format(i=i) for i in range(MODULES)}
    write(root, files)
    await lsp.start(root)
    await lsp.idle(timeout=60)
    status = await lsp.command("hotmod.status")
    assert status["module_count"] == MODULES + 2 and status["broken_count"] == 0
    zygote = psutil.Process(status["worker_pid"])
    server = zygote.parent()
    assert server is not None

    rng = random.Random(8)
    final = dict.fromkeys(range(MODULES), "ok")
    warm: tuple[int, int] | None = None
    for n in range(SAVES):
        i, kind = rng.randrange(MODULES), rng.choice(list(KINDS))
        path = root / f"pkg/m{i:02d}.py"
        path.write_text(KINDS[kind][0].format(i=i))
        final[i] = kind
        lsp.save(path)
        if n % 5 == 4:  # bursts of saves, some superseding each other
            await asyncio.sleep(0.02)
        if n == min(50, SAVES - 1):
            await lsp.idle(timeout=60)
            warm = _snapshot(server)

    def settled() -> bool:
        return all(
            lsp.codes(root / f"pkg/m{i:02d}.py") == KINDS[kind][1] for i, kind in final.items()
        )

    await lsp.until(settled, timeout=60)
    await lsp.idle(timeout=60)
    status = await lsp.command("hotmod.status")
    assert status["broken_count"] == sum(kind != "ok" for kind in final.values())
    assert status["worker_pid"] == zygote.pid  # never restarted

    assert warm is not None
    rss, fds = _snapshot(server)
    growth_mb = (rss - warm[0]) / 1024 / 1024
    print(
        f"\nsoak: {SAVES} saves over {MODULES} modules; server RSS {warm[0] / 2**20:.1f} -> "
        f"{rss / 2**20:.1f} MB ({growth_mb:+.1f} MB), fds {warm[1]} -> {fds}"
    )
    assert growth_mb < 30 + SAVES / 500, f"server RSS grew by {growth_mb:.1f} MB"
    assert fds <= warm[1] + 5, f"file descriptors: {warm[1]} -> {fds}"
    wait_for_no_leftovers(zygote.pid)
    assert [p.pid for p in server.children()] == [zygote.pid]
