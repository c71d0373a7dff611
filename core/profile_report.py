"""The profile's HTML report: one self-contained file, an icicle chart and sortable tables.

Rendered here, in Python, as inline SVG: the picture is complete without
JavaScript and without the network (a Content-Security-Policy forbids any
fetch), and is testable as text.  A few lines of inline JavaScript add
click-to-zoom on the chart and sorting of the tables.  Why not speedscope,
d3-flamegraph or snakeviz: each means vendoring hundreds of KB of JavaScript
or loading it from a CDN, for a chart that is a few hundred rectangles.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .bytesize import format_bytes
from .profile import CallNode, ImportTiming, ModuleProfile

CHART_WIDTH = 1200.0
ROW_HEIGHT = 20
MAX_DEPTH = 60  # deeper frames are rare and unreadable; the tables still have them
MIN_WIDTH = 0.4  # px: narrower nodes are not drawn (their parent's width shows them)
CHAR_WIDTH = 6.8  # px per character of the 11px label font, to cut labels that do not fit

_COLORS = {
    "root": "#9aa5b1",
    "import": "#5b8def",
    "module": "#3fae7a",
    "function": "#f0a03c",
}


def render_html(profile: ModuleProfile) -> str:
    title = f"hotmod profile: {profile.module}"
    status = "ok" if profile.ok else "failed"
    error = (
        f'<p class="error"><b>The import failed</b> (the profile covers it up to the failure): '
        f"{_e(profile.error)}</p>"
        if profile.error
        else ""
    )
    notes = []
    if profile.truncated:
        notes.append("The call tree reached its size limit: further calls count as their caller's.")
    if not profile.memory_traced:
        notes.append("Memory was not traced (tracemalloc unavailable).")
    note_html = "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
    generated = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>Import profile of <code id="module">{_e(profile.module)}</code></h1>
<p class="meta"><span class="status {status}">{status}</span>
 {profile.total_ms:.1f} ms · {_e(str(profile.path))} · {generated}</p>
{error}{note_html}
</header>
<section>
<h2>Imports and calls <small>click a box to zoom in, the top bar to zoom out</small></h2>
<div id="legend">{_legend()}</div>
{_icicle(profile)}
</section>
<section>
<h2>Top-level lines <small>own time leaves out the imports a line started</small></h2>
{_lines_table(profile)}
</section>
<section>
<h2>Imports <small>like <code>python -X importtime</code>, for this module</small></h2>
{_imports_table(profile)}
</section>
<section>
<h2>Functions</h2>
{_functions_table(profile)}
</section>
<script>{_JS}</script>
</body>
</html>
"""


def write_report(profile: ModuleProfile, path: Path) -> Path:
    """Write the report atomically (an open browser tab never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(render_html(profile), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _legend() -> str:
    names = {
        "import": "import (find + load)",
        "module": "module top level",
        "function": "function",
    }
    return " ".join(
        f'<span><i style="background:{_COLORS[k]}"></i>{_e(v)}</span>' for k, v in names.items()
    )


# -- the chart ------------------------------------------------------------------
def _icicle(profile: ModuleProfile) -> str:
    root = profile.calls
    if root is None or root.ms <= 0:
        return '<p class="note">No call data.</p>'
    rows: list[str] = []
    deepest = 0
    for node, depth, x, width in _layout(root):
        deepest = max(deepest, depth)
        rows.append(_box(node, depth, x, width, root.ms))
    height = (deepest + 1) * ROW_HEIGHT
    return (
        f'<svg id="chart" role="img" aria-label="icicle chart of {_e(profile.module)}" '
        f'viewBox="0 0 {CHART_WIDTH:g} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        + "".join(rows)
        + "</svg>"
    )


def _layout(root: CallNode) -> Iterator[tuple[CallNode, int, float, float]]:
    """Nodes with their depth and horizontal extent (fractions of the root's time)."""
    stack: list[tuple[CallNode, int, float, float]] = [(root, 0, 0.0, 1.0)]
    while stack:
        node, depth, x, width = stack.pop()
        if width * CHART_WIDTH < MIN_WIDTH or depth > MAX_DEPTH:
            continue
        yield node, depth, x, width
        offset = x
        for child in node.children:
            share = width * (child.ms / node.ms) if node.ms > 0 else 0.0
            stack.append((child, depth + 1, offset, share))
            offset += share


def _box(node: CallNode, depth: int, x: float, width: float, total_ms: float) -> str:
    px, pw = x * CHART_WIDTH, width * CHART_WIDTH
    y = depth * ROW_HEIGHT
    label = node.name if node.kind != "root" else f"{node.name} (all)"
    where = f"\n{node.path}:{node.line}" if node.path else ""
    tip = (
        f"{label}\n{node.ms:.2f} ms ({100 * node.ms / total_ms:.1f}%), own {node.self_ms:.2f} ms, "
        f"{node.calls} call{'s' if node.calls != 1 else ''}{where}"
    )
    color = _COLORS.get(node.kind, _COLORS["function"])
    return (
        f'<g class="n" data-x="{x:.6f}" data-w="{width:.6f}" data-d="{depth}" '
        f'data-label="{_e(label)}"><title>{_e(tip)}</title>'
        f'<rect x="{px:.2f}" y="{y}" width="{max(pw - 0.5, 0.1):.2f}" height="{ROW_HEIGHT - 1}" '
        f'rx="2" fill="{color}"/>'
        f'<text x="{px + 3:.2f}" y="{y + 14}">{_e(_fit(label, pw))}</text></g>'
    )


def _fit(label: str, width_px: float) -> str:
    room = int((width_px - 6) / CHAR_WIDTH)
    if room < 3:
        return ""
    return label if len(label) <= room else label[: room - 1] + "…"


# -- the tables -----------------------------------------------------------------
def _table(table_id: str, headers: Iterable[tuple[str, str]], rows: list[str]) -> str:
    """``headers``: (label, "num" or "text"); cells carry ``data-v`` to sort by."""
    head = "".join(
        f'<th data-type="{kind}" tabindex="0">{_e(label)}</th>' for label, kind in headers
    )
    body = "".join(rows) or '<tr><td colspan="9" class="note">nothing to show</td></tr>'
    return (
        f'<table id="{table_id}" class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _num(value: float, text: str) -> str:
    return f'<td class="num" data-v="{value:.6f}">{_e(text)}</td>'


def _bar(share: float) -> str:
    pct = max(0.0, min(100.0, 100.0 * share))
    return (
        f'<td class="num" data-v="{pct:.4f}"><span class="bar" style="width:{pct:.1f}%"></span>'
        f"{pct:.1f}%</td>"
    )


def _lines_table(profile: ModuleProfile) -> str:
    total = profile.total_ms or 1.0
    rows = [
        "<tr>"
        + _num(line.line, str(line.line))
        + f'<td data-v="{_e(line.text)}"><code>{_e(line.text)}</code></td>'
        + _num(line.hits, str(line.hits))
        + _num(line.self_ms, f"{line.self_ms:.2f}")
        + _bar(line.self_ms / total)
        + _num(line.ms, f"{line.ms:.2f}")
        + _num(line.self_bytes, format_bytes(line.self_bytes))
        + "</tr>"
        for line in profile.hottest
    ]
    headers = [
        ("line", "num"),
        ("code", "text"),
        ("hits", "num"),
        ("own ms", "num"),
        ("share", "num"),
        ("ms with imports", "num"),
        ("own memory", "num"),
    ]
    return _table("lines", headers, rows)


def _flatten(entries: Iterable[ImportTiming], depth: int = 0) -> Iterator[tuple[ImportTiming, int]]:
    for entry in sorted(entries, key=lambda e: -e.ms):
        yield entry, depth
        yield from _flatten(entry.children, depth + 1)


def _imports_table(profile: ModuleProfile) -> str:
    rows = []
    for entry, depth in _flatten(profile.imports):
        # A raised import is often handled (``try: import x except ImportError``).
        kind = "raised" if entry.error else ("project" if entry.project else "third-party")
        where = f"{entry.importer.name}:{entry.line}" if entry.importer and entry.line else ""
        error = f' <span class="error">{_e(entry.error)}</span>' if entry.error else ""
        rows.append(
            "<tr>"
            + f'<td data-v="{_e(entry.name)}" style="padding-left:{0.4 + depth * 1.2:.1f}em">'
            + f"<code>{_e(entry.name)}</code>{error}</td>"
            + _num(entry.ms, f"{entry.ms:.2f}")
            + _num(entry.self_ms, f"{entry.self_ms:.2f}")
            + _num(entry.bytes, format_bytes(entry.bytes))
            + f'<td data-v="{kind}">{kind}</td>'
            + f'<td data-v="{_e(where)}" title="{_e(entry.importer or "")}">{_e(where)}</td>'
            + "</tr>"
        )
    headers = [
        ("module", "text"),
        ("cumulative ms", "num"),
        ("self ms", "num"),
        ("memory", "num"),
        ("kind", "text"),
        ("imported at", "text"),
    ]
    return _table("imports", headers, rows)


def _functions_table(profile: ModuleProfile) -> str:
    rows = []
    for f in profile.functions[:200]:
        where = f"{f.path.name}:{f.line}" if f.path else ""
        rows.append(
            "<tr>"
            + f'<td data-v="{_e(f.name)}"><code>{_e(f.name)}</code></td>'
            + _num(f.calls, str(f.calls))
            + _num(f.self_ms, f"{f.self_ms:.2f}")
            + _num(f.ms, f"{f.ms:.2f}")
            + f'<td data-v="{_e(where)}" title="{_e(f.path or "")}">{_e(where)}</td>'
            + "</tr>"
        )
    headers = [
        ("function", "text"),
        ("calls", "num"),
        ("own ms", "num"),
        ("cumulative ms", "num"),
        ("where", "text"),
    ]
    return _table("functions", headers, rows)


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em 2em;
       color: #1f2933; background: #fff; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.6em 0 .5em; }
h2 small { font-weight: normal; color: #616e7c; margin-left: .6em; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.meta { color: #52606d; margin: 0; }
.status { padding: 0 .5em; border-radius: 3px; color: #fff; font-weight: 600; }
.status.ok { background: #3fae7a; } .status.failed { background: #d64545; }
.error { color: #b42318; } .note { color: #616e7c; font-style: italic; }
#legend span { margin-right: 1.2em; font-size: 12px; color: #52606d; }
#legend i { display: inline-block; width: .9em; height: .9em; border-radius: 2px;
            margin-right: .35em; vertical-align: -1px; }
#chart { border: 1px solid #e4e7eb; border-radius: 4px; margin-top: .4em; }
#chart g.n { cursor: pointer; } #chart g.n:hover rect { stroke: #1f2933; stroke-width: 1; }
#chart text { font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
              fill: #102a43; pointer-events: none; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #e4e7eb; }
th { cursor: pointer; user-select: none; background: #f5f7fa; position: sticky; top: 0; }
th[data-order="asc"]::after { content: " ▲"; } th[data-order="desc"]::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .bar { display: inline-block; height: .7em; background: #f0a03c; margin-right: .4em;
          max-width: 6em; vertical-align: middle; }
tbody tr:hover { background: #f5f7fa; }
"""

_JS = """
(function () {
  "use strict";
  var W = @WIDTH@;
  var chart = document.getElementById("chart");
  function fit(label, px) {
    var room = Math.floor((px - 6) / @CHAR@);
    if (room < 3) return "";
    return label.length <= room ? label : label.slice(0, room - 1) + "\\u2026";
  }
  function zoom(target) {
    var x0 = parseFloat(target.dataset.x), w0 = parseFloat(target.dataset.w);
    var d0 = parseInt(target.dataset.d, 10);
    chart.querySelectorAll("g.n").forEach(function (g) {
      var x = parseFloat(g.dataset.x), w = parseFloat(g.dataset.w);
      var d = parseInt(g.dataset.d, 10);
      var rect = g.querySelector("rect"), text = g.querySelector("text");
      var inside = x >= x0 - 1e-9 && x + w <= x0 + w0 + 1e-9;
      var ancestor = d < d0 && x <= x0 + 1e-9 && x + w >= x0 + w0 - 1e-9;
      var nx, nw;
      if (ancestor) { nx = 0; nw = W; }
      else if (inside && d >= d0) { nx = (x - x0) / w0 * W; nw = w / w0 * W; }
      else { g.style.display = "none"; return; }
      g.style.display = "";
      g.style.opacity = ancestor ? "0.6" : "1";
      rect.setAttribute("x", nx.toFixed(2));
      rect.setAttribute("width", Math.max(nw - 0.5, 0.1).toFixed(2));
      text.setAttribute("x", (nx + 3).toFixed(2));
      text.textContent = fit(g.dataset.label, nw);
    });
  }
  if (chart) {
    chart.addEventListener("click", function (event) {
      var g = event.target.closest("g.n");
      if (g) zoom(g);
    });
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.dataset.type === "num";
    var order = th.dataset.order === "desc" ? "asc" : "desc";
    th.parentNode.querySelectorAll("th").forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = order;
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) {
      return r.cells.length > index;
    });
    rows.sort(function (a, b) {
      var va = a.cells[index].dataset.v || "", vb = b.cells[index].dataset.v || "";
      var c = numeric ? parseFloat(va) - parseFloat(vb) : va.localeCompare(vb);
      return order === "asc" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(th); });
  });
  document.documentElement.dataset.ready = "1";
})();
""".replace("@WIDTH@", f"{CHART_WIDTH:g}").replace("@CHAR@", f"{CHAR_WIDTH:g}")
