"""A running program that takes live changes, for the server's and the editors' tests.

It is started as ``hotmod run`` starts one: hotmod.live's boot folder first on
``PYTHONPATH`` and ``HOTMOD_LIVE_WORKSPACE`` set, so that an agent loads
before its code.  It evaluates the expressions written to its stdin and prints
their ``repr``: the tests ask the running program what its code does now.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from hotmod.live import rendezvous

BOOT = Path(rendezvous.__file__).parent / "boot"

# Excluded from the checks (``[tool.hotmod] exclude``): importing it would wait on stdin.
SCRIPT = "serve.py"
SERVE = """\
import sys
import shop.prices as prices
print("ready", flush=True)
for line in sys.stdin:
    try:
        print(repr(eval(line)), flush=True)
    except Exception as exc:
        print("error: %s: %s" % (type(exc).__name__, exc), flush=True)
"""


class LiveProgram:
    """``python serve.py`` in ``root``, with an agent; ask it with ``ask``."""

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        (root / SCRIPT).write_text(SERVE)
        environ = {
            **os.environ,
            "PYTHONPATH": str(BOOT),
            "HOTMOD_LIVE_WORKSPACE": str(root),
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, SCRIPT],
            cwd=root,
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._line() == "ready"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))

    def _line(self, timeout: float = 15.0) -> str:
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"pid {self.pid} said nothing in {timeout} s") from None

    def ask(self, expression: str) -> str:
        """What ``expression`` evaluates to in the program now (its repr)."""
        assert self.process.stdin is not None
        self.process.stdin.write(expression + "\n")
        self.process.stdin.flush()
        return self._line()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
