"""Run Lua test bodies in a real headless Neovim with the plugin from editors/nvim.

Each run: ``nvim --headless --clean -u tests/e2e/nvim/init.lua``; the body
(``scenarios/*.lua``) writes a JSON file that the tests assert on. A hard
timeout inside Neovim plus one around the process keep a run from hanging.

Neovim is the ``nvim_bin`` fixture of tests/conftest.py; without one the
tests are skipped.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PLUGIN = REPO / "editors" / "nvim"


@dataclass
class NvimRun:
    results: dict[str, Any]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    server_log: Path

    @property
    def data(self) -> dict[str, Any]:
        return self.results.get("data", {})

    def explain(self) -> str:
        """Everything useful when an assertion fails."""
        log = (
            self.server_log.read_text(errors="replace")[-4000:] if self.server_log.exists() else ""
        )
        return (
            f"returncode={self.returncode} seconds={self.seconds:.1f}\n"
            f"errors={self.results.get('errors')}\ntimed_out={self.results.get('timed_out')}\n"
            f"steps={json.dumps(self.results.get('steps'), indent=1)}\n"
            f"notifications={json.dumps(self.results.get('notifications'), indent=1)}\n"
            f"stderr={self.stderr[-2000:]}\nserver log tail:\n{log}"
        )


@pytest.fixture
def run_nvim(nvim_bin: str, hotmod_exe: str, tmp_path: Path) -> Iterator[Callable[..., NvimRun]]:
    """run_nvim(scenario, workspace=..., plugin_dir=..., timeout=60) -> NvimRun."""
    count = itertools.count()

    def run(
        scenario: str,
        workspace: Path | None = None,
        plugin_dir: Path = PLUGIN,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> NvimRun:
        n = next(count)
        home = tmp_path / f"nvim-home-{n}"
        for sub in ("config", "data", "state", "cache"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        results = tmp_path / f"results-{n}.json"
        server_log = tmp_path / f"server-{n}.log"
        full_env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "HOTMOD_PLUGIN_DIR": str(plugin_dir),
            "HOTMOD_TEST_DIR": str(HERE),
            "HOTMOD_SCENARIO": str(HERE / "scenarios" / f"{scenario}.lua"),
            "HOTMOD_RESULTS": str(results),
            "HOTMOD_TIMEOUT_MS": str(int(timeout * 1000)),
            "HOTMOD_EXE": hotmod_exe,
            "HOTMOD_SERVER_LOG": str(server_log),
            "HOTMOD_WORKSPACE": str(workspace or tmp_path),
            **(env or {}),
        }
        # the server must not pick up this venv as "the workspace's" interpreter
        full_env.pop("VIRTUAL_ENV", None)
        full_env.pop("HOTMOD_DEV_MODE", None)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                [nvim_bin, "--headless", "--clean", "-n", "-u", str(HERE / "init.lua")],
                cwd=str(workspace or tmp_path),
                env=full_env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout + 30,
            )
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as exc:
            rc = -9
            out = exc.stdout if isinstance(exc.stdout, str) else ""
            err = exc.stderr if isinstance(exc.stderr, str) else ""
        seconds = time.perf_counter() - start
        data: dict[str, Any] = {}
        if results.exists():
            data = json.loads(results.read_text())
        else:
            data = {"errors": ["no results file written"]}
        return NvimRun(data, rc, out, err, seconds, server_log)

    yield run
