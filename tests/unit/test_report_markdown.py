"""Command results rendered as Markdown (core/report_markdown.py), on canned values."""

from __future__ import annotations

import re
from pathlib import Path

from hotmod.core.engine import EngineStatus
from hotmod.core.profile import FunctionStat, ImportTiming, LineProfile, ModuleProfile
from hotmod.core.report_markdown import (
    render_check,
    render_dev_mode,
    render_memory,
    render_performance,
    render_profile,
    render_reload,
    render_status,
)
from hotmod.core.results import (
    CheckReport,
    Code,
    Diagnostic,
    Memory,
    ModuleResult,
    Related,
    ReloadOutcome,
    Severity,
    Span,
)
from hotmod.core.stats import (
    HistoryComparison,
    MemoryReport,
    ModuleMemory,
    ModuleTiming,
    PerformanceSummary,
)

ROOT = Path("/ws")
IMPORT_ERROR = "ImportError: cannot import name 'discount' from 'shop.prices'"


def module(
    name: str, *diagnostics: Diagnostic, load_ms: float = 1.5, memory: int = 2048
) -> ModuleResult:
    path = ROOT / (name.replace(".", "/") + ".py")
    ok = not any(d.severity == Severity.ERROR for d in diagnostics)
    return ModuleResult(
        name, path, ok, load_ms, load_ms / 2, Memory(memory), diagnostics, import_ms=load_ms * 4
    )


def error(name: str, line: int, code: Code, message: str, *related: Related) -> Diagnostic:
    path = ROOT / (name.replace(".", "/") + ".py")
    span = Span(line - 1, 0, line - 1, 40)
    return Diagnostic(path, span, code, Severity.ERROR, message, related)


CART = module(
    "shop.cart",
    error(
        "shop.cart",
        7,
        Code.IMPORT_ERROR,
        IMPORT_ERROR,
        Related(ROOT / "shop/prices.py", Span(0, 0, 0, 0), "module 'shop.prices' is defined here"),
    ),
)
CHECKOUT = module(
    "shop.checkout",
    error(
        "shop.checkout", 3, Code.DEPENDENCY_ERROR, f"importing 'shop.cart' failed: {IMPORT_ERROR}"
    ),
)
PRICES = module("shop.prices")
CATALOG = module("shop.catalog")


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table of a report: rows of cells (header and rule left out)."""
    found: list[list[list[str]]] = []
    rows: list[list[str]] | None = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            rows = None
            continue
        cells = [c.strip(" ") for c in re.split(r"(?<!\\)\|", line[1:-1])]
        if rows is None:
            rows = []
            found.append(rows)
            rows.append(cells)  # the header, dropped below with the rule
        else:
            rows.append(cells)
    return [t[2:] for t in found]


def section(markdown: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same level or higher."""
    level = heading.split(" ")[0]
    start = markdown.index(heading + "\n") + len(heading) + 1
    rest = markdown[start:]
    end = re.search(rf"^#{{1,{len(level)}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


# -- reloadModule ---------------------------------------------------------------------
def test_reload_message_counts_dependents_and_names_the_failures() -> None:
    rendered = render_reload(ReloadOutcome("shop.cart", CART, (CHECKOUT,)), ROOT)
    assert (
        rendered.message
        == "Reloaded shop.cart and 1 dependent: 2 failed (shop.cart, shop.checkout)"
    )
    assert rendered.name == "reload-shop.cart"
    assert not rendered.brief  # failures: there is a report to read
    assert rendered.markdown.startswith("# hotmod: reloaded `shop.cart`\n")
    rows = tables(rendered.markdown)[0]
    assert [r[:2] for r in rows] == [["`shop.cart`", "**error**"], ["`shop.checkout`", "**error**"]]
    assert rows[0][2:5] == ["0.8 ms", "6.0 ms", "2.0 KB"]  # self, import (fresh), memory
    assert rows[0][5] == f"line 7: {IMPORT_ERROR}"


def test_a_healthy_reload_is_one_line() -> None:
    rendered = render_reload(ReloadOutcome("shop.prices", PRICES, (CATALOG, CATALOG, CATALOG)))
    assert rendered.message == "Reloaded shop.prices and 3 dependents: all ok"
    assert rendered.brief
    alone = render_reload(ReloadOutcome("shop.prices", PRICES, ()))
    assert alone.message == "Reloaded shop.prices: all ok"
    assert "## Failures" not in alone.markdown


def test_many_failures_are_counted_not_all_named() -> None:
    broken = tuple(module(f"m{i}", error(f"m{i}", 1, Code.EXCEPTION, "boom")) for i in range(5))
    rendered = render_reload(ReloadOutcome("m0", broken[0], broken[1:]))
    assert rendered.message.endswith(": 5 failed (m0, m1, m2, +2 more)")


def test_a_cancelled_reload_says_there_is_no_verdict() -> None:
    rendered = render_reload(ReloadOutcome("shop.cart", None, ()))
    assert rendered.message == "Reloaded shop.cart: no verdict (the check was cancelled)"
    assert not rendered.brief
    assert "_Nothing was imported._" in rendered.markdown


def test_failures_are_listed_with_their_locations_and_related_places() -> None:
    failures = section(
        render_reload(ReloadOutcome("shop.cart", CART, (CHECKOUT,)), ROOT).markdown, "## Failures"
    )
    cart = section(failures, "### `shop.cart`").strip().splitlines()
    assert cart == [
        f"- [`shop/cart.py:7:1`](file:///ws/shop/cart.py#L7) **import-error** {IMPORT_ERROR}",
        "  - [`shop/prices.py:1`](file:///ws/shop/prices.py#L1)"
        " module 'shop.prices' is defined here",
    ]
    checkout = section(failures, "### `shop.checkout`")
    assert (
        "[`shop/checkout.py:3:1`](file:///ws/shop/checkout.py#L3) **dependency-error**" in checkout
    )


def test_a_multi_line_error_stays_in_its_list_item() -> None:
    broken = module("m", error("m", 2, Code.EXCEPTION, "ValueError: first\nsecond | line"))
    failures = section(render_reload(ReloadOutcome("m", broken, ()), ROOT).markdown, "## Failures")
    assert "**exception** ValueError: first\n  second \\| line" in failures


# -- reloadAll / refresh ---------------------------------------------------------------
def test_check_report_lists_broken_modules_first() -> None:
    report = CheckReport("3.11", (CATALOG, CART, PRICES, CHECKOUT), 12.34)
    rendered = render_check(report, root=ROOT)
    assert rendered.message == "Reloaded 4 modules in 12.3 ms: 2 failed (shop.cart, shop.checkout)"
    assert rendered.name == "reload-all" and not rendered.brief
    assert rendered.markdown.startswith("# hotmod: reload all modules\n")
    names = [row[0] for row in tables(rendered.markdown)[0]]
    assert names == ["`shop.cart`", "`shop.checkout`", "`shop.catalog`", "`shop.prices`"]
    assert "### `shop.checkout`" in rendered.markdown


def test_refresh_names_added_and_removed_modules() -> None:
    report = CheckReport("3.11", (CATALOG, PRICES), 2500.0, removed=("shop.old",))
    rendered = render_check(report, refresh=True, added=("shop.new",))
    assert rendered.message == (
        "Refreshed 2 modules in 2.50 s: all import; added shop.new; removed shop.old"
    )
    assert rendered.name == "refresh" and rendered.brief
    assert "**Added:** `shop.new`" in rendered.markdown
    assert "**Removed:** `shop.old`" in rendered.markdown


def test_a_cancelled_check_is_no_one_liner() -> None:
    report = CheckReport("3.11", (PRICES,), 3.0, cancelled=True, skipped=("shop.cart",))
    rendered = render_check(report)
    assert rendered.message.endswith("(cancelled: the server is shutting down)")
    assert not rendered.brief


# -- toggleDevMode -------------------------------------------------------------------
def test_dev_mode_is_a_one_liner() -> None:
    on, off = render_dev_mode(True), render_dev_mode(False)
    assert on.brief and off.brief
    assert on.message.startswith("Dev mode is now on")
    assert off.message.startswith("Dev mode is now off")
    assert on.markdown == on.message + "\n"


# -- performanceSummary --------------------------------------------------------------
def summary(
    history: tuple[HistoryComparison, ...] = (), regressions: tuple[str, ...] = ()
) -> PerformanceSummary:
    return PerformanceSummary(
        total_scans=2,
        average_scan_ms=3.3,
        total_loads=10,
        average_load_ms=1.5,
        slowest=(
            ModuleTiming("shop.report", 210.0, 180.0, 1250.0),
            ModuleTiming("shop.cart", 8.4, 5.9, 12.6),
            ModuleTiming("shop", 3.0, 3.0, 3.0),
        ),
        reload_counts={"shop": 1, "shop.cart": 3, "shop.report": 3},
        slow_loads=(ModuleTiming("shop.report", 210.0, 180.0, 1250.0),),
        slow_threshold_ms=100.0,
        message="10 loads, average 1.5 ms; 1 over 100 ms",
        history=history,
        regressions=regressions,
    )


def test_performance_summary_shows_the_slowest_with_their_trend() -> None:
    history = (
        HistoryComparison("shop.report", 180.0, 100.0, 20, 80.0, True),
        HistoryComparison("shop.cart", 5.9, 6.2, 7, -4.8, False),
        HistoryComparison("shop", 3.0, None, 2, None, False),
    )
    rendered = render_performance(summary(history, ("shop.report",)))
    markdown = rendered.markdown
    assert rendered.message == "10 loads, average 1.5 ms; 1 over 100 ms" and not rendered.brief
    assert markdown.startswith("# hotmod: performance summary\n\n> 10 loads, average 1.5 ms")
    measures = dict(tables(markdown)[0])
    assert measures["Average scan"] == "3.3 ms" and measures["Slow threshold"] == "100 ms"
    slowest_section = section(markdown, "## Slowest imports (by own time)")
    header = next(line for line in slowest_section.splitlines() if line.startswith("| module"))
    cells = [cell.strip() for cell in header.strip("|").split("|")]
    assert cells[1:3] == ["self (own code)", "import (fresh, with its packages)"]
    # Ranked by own time; beside it, what a fresh import of the module costs.
    assert tables(slowest_section)[0] == [
        ["`shop.report`", "180 ms", "1.25 s", "100 ms (20 loads)", "**▲ 80% slower than usual**"],
        ["`shop.cart`", "5.9 ms", "12.6 ms", "6.2 ms (7 loads)", "▼ 5%"],
        ["`shop`", "3.0 ms", "3.0 ms", "—", "—"],
    ]
    assert "`shop.report`" in section(markdown, "## Slower than usual")
    slow = tables(section(markdown, "## Slow imports (own time over 100 ms)"))[0]
    assert [row[0] for row in slow] == ["`shop.report`"]
    reloads = tables(section(markdown, "## Reloads per module"))[0]
    assert reloads == [["`shop.cart`", "3"], ["`shop.report`", "3"], ["`shop`", "1"]]


def test_performance_summary_without_history_or_loads() -> None:
    markdown = render_performance(summary()).markdown
    assert "## Slower than usual" not in markdown and "median before:" not in markdown
    empty = PerformanceSummary(0, 0.0, 0, 0.0, (), {}, (), 100.0, "No modules loaded yet.")
    markdown = render_performance(empty).markdown
    assert "_No imports yet._" in section(markdown, "## Slowest imports (by own time)")
    assert "_None._" in section(markdown, "## Reloads per module")


# -- memoryReport -------------------------------------------------------------------
def test_memory_report_ranks_modules_with_their_share() -> None:
    report = MemoryReport(
        modules=(
            ModuleMemory("shop.cart", 3 * 1024 * 1024, True),
            ModuleMemory("shop", 1024 * 1024, False),
        ),
        total_bytes=4 * 1024 * 1024,
        total_kb=4096.0,
        total_mb=4.0,
        loaded_modules=5,
        message="5 modules hold 4.00 MB after import; the worker (zygote) uses 40.0 MB",
        worker_rss_bytes=40 * 1024 * 1024,
        worker_rss_mb=40.0,
    )
    rendered = render_memory(report)
    measures = dict(tables(rendered.markdown)[0])
    assert measures["Memory held by the project modules"] == "4.0 MB"
    assert measures["Worker (warm imports), resident"] == "40.0 MB"
    assert tables(section(rendered.markdown, "## Largest modules"))[0] == [
        ["`shop.cart`", "3.0 MB", "75.0%", "tracemalloc, own file"],
        ["`shop`", "1.0 MB", "25.0%", "RSS growth of its import"],
    ]


def test_memory_report_before_any_check() -> None:
    report = MemoryReport((), 0, 0.0, 0.0, 0, "No modules loaded yet.")
    markdown = render_memory(report).markdown
    assert "Worker" not in markdown
    assert "_No measurements yet._" in markdown


# -- status -------------------------------------------------------------------------
STATUS = EngineStatus(
    root=ROOT,
    python="/usr/bin/python3",
    python_version="3.11.7",
    module_count=5,
    broken_count=2,
    worker_pid=123,
    dev_mode=False,
    last_check_ms=12.5,
    last_check_at=1_700_000_000.0,
)


def test_status_report() -> None:
    rendered = render_status(STATUS, version="0.1.0", trusted=True, root=ROOT)
    assert rendered.message == "hotmod 0.1.0: 5 modules, 2 broken, Python 3.11.7"
    rows = dict(tables(rendered.markdown)[0])
    assert rows["hotmod version"] == "`0.1.0`" and rows["Workspace trusted"] == "yes"
    assert rows["Broken modules"] == "**2**" and rows["Worker PID"] == "123"
    assert rows["Last check took"] == "12.5 ms" and rows["Last check at"].startswith("2023-11-1")
    assert "cannot be checked" not in rendered.markdown


def test_status_of_a_folder_that_cannot_be_checked() -> None:
    rendered = render_status(
        None, version="0.1.0", trusted=False, root=ROOT, error="invalid TOML in pyproject.toml"
    )
    assert (
        rendered.message
        == "hotmod 0.1.0: this folder cannot be checked: invalid TOML in pyproject.toml"
    )
    assert "**This folder cannot be checked:** invalid TOML in pyproject.toml" in rendered.markdown
    rows = dict(tables(rendered.markdown)[0])
    assert (
        rows["Root"] == "`/ws`"
        and rows["Modules"] == "—"
        and rows["Workspace trusted"].startswith("no")
    )


def test_status_of_an_untrusted_workspace_says_so() -> None:
    rendered = render_status(STATUS, version="0.1.0", trusted=False, root=ROOT)
    assert rendered.message.endswith("(not trusted: syntax checks only)")


# -- profileModule ----------------------------------------------------------------
def profile(
    imports: tuple[ImportTiming, ...], functions: int = 1, truncated: bool = False
) -> ModuleProfile:
    path = ROOT / "shop/report.py"
    return ModuleProfile(
        module="shop.report",
        path=path,
        ok=True,
        error=None,
        total_ms=71.5,
        memory_traced=True,
        lines=(
            LineProfile(17, 1, 30.9, 30.9, 2291400, 2291400, "INDEX = build_index(20000)"),
            LineProfile(
                18, 1, 23.0, 1.1, 680276, 26916, "TEMPLATES = load_templates()  # | not a cell"
            ),
        ),
        imports=imports,
        calls=None,
        functions=tuple(
            FunctionStat(
                f"shop.report.f{i}",
                Path("/usr/lib/python3.11/json/decoder.py"),
                7 + i,
                1,
                30.0,
                12.0,
            )
            for i in range(functions)
        ),
        truncated=truncated,
        result=module("shop.report"),
        html=Path("/cache/profiles/shop.report.html"),
    )


def timing(name: str, *children: ImportTiming, error: str | None = None) -> ImportTiming:
    return ImportTiming(name, None, error is None, None, 3, 2.0, 1.1, 16722, error, children)


def test_profile_report() -> None:
    imports = (
        timing("shop.catalog", timing("shop.prices")),
        timing("org", error="ModuleNotFoundError: No module named 'org'"),
    )
    rendered = render_profile(profile(imports), ROOT)
    markdown = rendered.markdown
    assert rendered.name == "profile-shop.report" and not rendered.brief
    assert markdown.startswith("# hotmod: profile of `shop.report`\n")
    facts = dict(tables(markdown)[0])
    assert facts["File"] == "[`shop/report.py`](file:///ws/shop/report.py)"
    assert facts["Import time (profiled)"] == "71.5 ms"
    assert "[shop.report.html](file:///cache/profiles/shop.report.html)" in markdown
    hot = tables(section(markdown, "## Hottest lines (own time, without the imports they start)"))[
        0
    ]
    assert hot[0] == [
        "17",
        "30.9 ms",
        "43.2%",
        "1",
        "30.9 ms",
        "2.2 MB",
        "`INDEX = build_index(20000)`",
    ]
    assert hot[1][-1] == "`TEMPLATES = load_templates()  # \\| not a cell`"
    tree = tables(section(markdown, "## Imports (cumulative and own time of find + load)"))[0]
    assert [row[0] for row in tree] == ["`shop.catalog`", "\u00a0\u00a0↳ `shop.prices`", "`org`"]
    assert tree[2][5:] == ["third-party", "**ModuleNotFoundError: No module named 'org'**"]
    functions = tables(section(markdown, "## Functions (by own time)"))[0]
    # Outside the workspace a file's name is shown; the link has its whole path.
    assert functions[0][-1] == "[`decoder.py:7`](file:///usr/lib/python3.11/json/decoder.py#L7)"
    assert "capped" not in markdown


def test_a_large_profile_points_to_the_html_report() -> None:
    imports = tuple(timing(f"m{i}") for i in range(45))
    markdown = render_profile(profile(imports, functions=20, truncated=True)).markdown
    assert (
        len(tables(section(markdown, "## Imports (cumulative and own time of find + load)"))[0])
        == 40
    )
    assert "_…and 5 more in the HTML report._" in markdown
    assert len(tables(section(markdown, "## Functions (by own time)"))[0]) == 15
    assert "small calls are folded into their callers" in markdown


# -- Markdown -----------------------------------------------------------------------
def test_markup_in_values_is_escaped_and_tables_keep_their_shape() -> None:
    weird = module(
        "pkg.__init__",
        error("pkg.__init__", 1, Code.EXCEPTION, "ValueError: a|b `x` *y* __init__ [z](w) <t>"),
    )
    markdown = render_reload(ReloadOutcome("pkg.__init__", weird, ()), ROOT).markdown
    row = tables(markdown)[0][0]
    assert len(row) == 6  # the pipe did not split the cell
    assert row[5] == "line 1: ValueError: a\\|b \\`x\\` \\*y\\* \\_\\_init\\_\\_ \\[z\\](w) \\<t\\>"
    assert (
        "module 'a_b' has no attribute"
        in render_reload(
            ReloadOutcome(
                "m", module("m", error("m", 1, Code.EXCEPTION, "module 'a_b' has no attribute")), ()
            )
        ).markdown
    )  # an identifier's inner underscore needs no escape
    code_with_backticks = render_status(STATUS, version="0.1`2", trusted=True, root=ROOT).markdown
    assert "``0.1`2``" in code_with_backticks


def test_table_columns_are_aligned_in_plain_text() -> None:
    wide = module("shop.数据", error("shop.数据", 1, Code.EXCEPTION, "ValueError: 値が不正です"))
    markdown = render_check(CheckReport("3.11", (wide, PRICES), 1.0), root=ROOT).markdown
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    widths = {sum(2 if ord(ch) > 0x2E80 else 1 for ch in line) for line in table}
    assert len(table) == 4 and len(widths) == 1, table


def test_reports_are_markdown_not_json() -> None:
    for rendered in (
        render_reload(ReloadOutcome("shop.cart", CART, (CHECKOUT,)), ROOT),
        render_check(CheckReport("3.11", (CART, PRICES), 1.0)),
        render_performance(summary()),
        render_status(STATUS, version="0.1.0", trusted=True, root=ROOT),
        render_profile(profile((timing("a"),))),
    ):
        assert not re.search(r"[{\[]\s*\"", rendered.markdown), rendered.markdown
        assert "\n" not in rendered.message
