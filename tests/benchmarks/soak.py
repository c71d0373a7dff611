"""The full soak of issue 8: 10 000 saves across 50 modules through a real LSP client.

    python tests/benchmarks/soak.py [--saves 10000]

Runs tests/lsp/test_soak.py with ``HOTMOD_SOAK_SAVES`` set and prints its
report line (server RSS growth and file descriptors before and after).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=10_000)
    args = parser.parse_args()
    env = {**os.environ, "HOTMOD_SOAK_SAVES": str(args.saves)}
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"]
    command.append("tests/lsp/test_soak.py")
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
