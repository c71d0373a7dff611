"""Warm ``Engine.check`` of a module that imports pandas, side by side with a cold
``python -c "import m"`` of the same module, both measured in this one run.

    .venv/bin/python tests/benchmarks/bench_check.py [--quick] [--checks N] [--cold N]

The two are sampled interleaved (a few warm checks, then one cold import, and
so on) so that load from other processes on the machine hits both alike.  The
first warm check is excluded: it starts the worker, which imports pandas once.

Target: a warm check is at least 30x faster than a cold import (p50 vs median).
Reference on the development machine (2 cores): warm p50 ~9 ms, cold ~390 ms.

Not a pytest test (the file name does not match ``test_*.py``): it measures,
it does not assert.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _lsp_driver import cold_import_ms, percentile
from hotmod.core import Engine

TARGET_RATIO = 30.0
MODULE = "analysis"

SOURCE = """\
import {package} as pd

PRICES = pd.Series([float(i % 17) for i in range(200)], name="price")
TOTAL = float(PRICES.sum())
"""


def generate(root: Path, package: str) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\nversion = '0'\n")
    (root / f"{MODULE}.py").write_text(SOURCE.format(package=package))


def run(args: argparse.Namespace) -> int:
    try:
        version = importlib.metadata.version(args.package)
    except importlib.metadata.PackageNotFoundError:
        print(f"bench_check: {args.package} is not installed in {sys.executable}", file=sys.stderr)
        return 2
    warm_ms: list[float] = []
    self_ms: list[float] = []
    cold_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="hotmod-bench-") as tmp:
        root = Path(tmp)
        generate(root, args.package)
        with Engine(root, {"python": sys.executable}, environ={}) as engine:
            start = time.perf_counter()
            first = engine.check([MODULE])  # starts the worker: pandas is imported once
            first_ms = (time.perf_counter() - start) * 1000.0
            if not first.ok:
                for result in first.results:
                    for d in result.diagnostics:
                        print(f"bench_check: {result.name}: {d.message}", file=sys.stderr)
                return 2
            cold_import_ms(
                root, MODULE, runs=1
            )  # page cache and .pyc files, as for any later import
            per_round = max(1, args.checks // args.cold)
            while len(warm_ms) < args.checks or len(cold_ms) < args.cold:
                for _ in range(min(per_round, args.checks - len(warm_ms))):
                    start = time.perf_counter()
                    report = engine.check([MODULE])
                    warm_ms.append((time.perf_counter() - start) * 1000.0)
                    (result,) = report.results
                    assert result.ok, result.diagnostics
                    self_ms.append(result.self_ms)
                if len(cold_ms) < args.cold:
                    cold_ms.append(cold_import_ms(root, MODULE, runs=1))
            warm_info = engine.warm_report().get(args.package, {})

    warm_p50 = statistics.median(warm_ms)
    warm_p95 = percentile(warm_ms, 0.95)
    cold_median = statistics.median(cold_ms)
    ratio = cold_median / warm_p50
    verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
    pandas_ms = warm_info.get("ms")
    rows = [
        ("first check (starts the worker)", f"{first_ms:.0f} ms", "", ""),
        (
            f"  of which the worker's `import {args.package}`",
            f"{pandas_ms:.0f} ms" if pandas_ms is not None else "n/a",
            "",
            "",
        ),
        ("module's own exec time (self_ms p50)", f"{statistics.median(self_ms):.1f} ms", "", ""),
        (f"warm Engine.check p50 ({len(warm_ms)} checks)", f"{warm_p50:.1f} ms", "", ""),
        ("warm Engine.check p95", f"{warm_p95:.1f} ms", "", ""),
        (
            f"cold python -c 'import {MODULE}' (median of {len(cold_ms)})",
            f"{cold_median:.0f} ms",
            "",
            "",
        ),
        ("speed-up: cold median / warm p50", f"{ratio:.1f}x", f">= {TARGET_RATIO:.0f}x", verdict),
    ]
    width = max(len(r[0]) for r in rows)
    print(
        f"hotmod check benchmark: Python {sys.version.split()[0]}, {args.package} {version}, "
        f"{os.cpu_count()} cores{' (quick)' if args.quick else ''}"
    )
    for name, value, target, mark in rows:
        print(f"  {name:<{width}}  {value:>9}  {target:<8} {mark}".rstrip())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run (20 checks, 3 cold)")
    parser.add_argument("--checks", type=int, default=None, help="warm checks (default 60)")
    parser.add_argument("--cold", type=int, default=None, help="cold imports (default 7)")
    parser.add_argument("--package", default="pandas", help="the heavy package the module uses")
    args = parser.parse_args(argv)
    args.checks = max(2, args.checks or (20 if args.quick else 60))
    args.cold = max(1, args.cold or (3 if args.quick else 7))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
