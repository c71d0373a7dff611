"""Editor open -> last session's verdicts shown, from the verdict cache, side by side
with the first check that verifies them (what an editor showed before the cache).

    .venv/bin/python tests/benchmarks/bench_cache.py [--sizes 300,1000]

Per generated workspace (bench_scaling.py's, with a few modules broken on
purpose so that there are diagnostics to show): a first server session checks
everything and stores the verdicts; a second one on the unchanged workspace is
timed from `initialize` answered to the `hotmod/status` that says the cached
verdicts are shown (all of them published before it), and to its first check's
end.  Target (issue "Fast on real projects"): <= 300 ms after initialize.

Not a pytest test: it measures, it does not assert.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

from _lsp_driver import LspSession, machine_line, print_table
from bench_scaling import generate

BROKEN = 5  # modules given an error at their end


async def measure(size: int, cache_dir: Path) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="hotmod-bench-cache-") as tmp:
        root = Path(tmp)
        shape = generate(root, size, "app")
        for name in shape.names[-BROKEN:]:
            path = root / (name.replace(".", "/") + ".py")
            if path.exists():
                path.write_text(path.read_text() + "\nraise RuntimeError('broken')\n")
        env = {**os.environ, "HOTMOD_CACHE_DIR": str(cache_dir / str(size))}
        async with LspSession(root, env) as first:
            stored_s = first.full_check_s
        second = LspSession(root, env)
        await second.start()
        try:
            shown = next(
                at
                for params, at in zip(second.status, second.status_at, strict=True)
                if "cached verdicts" in str(getattr(params, "message", ""))
            )
            cached_ms = (shown - second.initialized_at) * 1000
            broken = sum(1 for published in second.published.values() if published[0].diagnostics)
        finally:
            await second.stop()
        return [
            f"{size}",
            f"{stored_s:.2f}",
            f"{second.init_ms:.0f}",
            f"**{cached_ms:.0f}**",
            f"{broken}",
            f"{second.full_check_s:.2f}",
            "pass" if cached_ms <= 300 else "miss",
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="300,1000")
    args = parser.parse_args()
    print(machine_line())
    rows = []
    with tempfile.TemporaryDirectory(prefix="hotmod-bench-cachedir-") as cache:
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(asyncio.run(measure(size, Path(cache))))
    print_table(
        "Editor open: cached verdicts vs the first check",
        [
            "modules",
            "session 1: full check, s",
            "session 2: initialize, ms",
            "cached verdicts shown after initialized, ms",
            "files with cached diagnostics",
            "session 2: full check, s",
            "<= 300 ms",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
