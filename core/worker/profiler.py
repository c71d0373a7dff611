"""A deterministic profile of one import, up to its end or its failure.

* Lines: ``sys.settrace`` line events in the module's own top-level frame
  give each line's hits, time and net traced bytes.  A line's *self*
  figures leave out the imports it started: those are in the import tree.
* Imports: ``_find_and_load`` of the frozen importlib is what the C import
  machinery calls for every module not yet in ``sys.modules`` (what
  ``python -X importtime`` times), for ``import`` statements and
  ``importlib.import_module`` alike; wrapping it times find + load of
  project and cold third-party modules, nested like importtime's tree.
* Calls: every Python frame's ``call``/``return`` (line events off outside
  the module's frame) builds the call tree; imports are nodes in it, so
  the chart shows imports and calls together.  C functions count as
  their caller's own time.

Only the importing thread is profiled; threads the module starts are not.
"""

from __future__ import annotations

import _frozen_importlib as _bootstrap_module
from _thread import get_ident
from importlib import __file__ as _importlib_init_file
from os.path import abspath
from sys import _getframe, modules, settrace
from time import perf_counter
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

from .protocol import ProfileCall, ProfileData, ProfileImport, ProfileLine
from .safe import exact_str, private_builtins

private_builtins(globals())

# The call tree is capped so that a call-heavy import cannot blow up the
# result: deeper or further calls are folded into their caller's own time.
MAX_NODES = 5000
MAX_DEPTH = 150
# Subtrees below this share of the whole import are folded into their caller
# when the tree is written out (a readable chart, a small result).
MIN_SHARE = 0.0005
_IMPORTLIB_INIT = abspath(_importlib_init_file or "")

_Node = Dict[str, Any]
# The import machinery's own module: its _find_and_load is what ``import`` calls.
_bootstrap: Any = _bootstrap_module


class ImportProfiler:
    def __init__(self, target: str, project_files: FrozenSet[str], skip_files: Tuple[str, ...]):
        self.target = target
        self.project_files = project_files
        self.transparent = (*skip_files, _IMPORTLIB_INIT)  # hotmod and importlib are not user code
        self.real_find_and_load: Callable[..., Any] = _bootstrap._find_and_load
        self.thread = get_ident()
        self.root = self._node("import " + target, None, 0, "root")
        self.nodes = 0
        self.stack: List[List[Any]] = []  # [node or None, start]: None folds into the caller
        self.imports: List[Dict[str, Any]] = []  # finished top-level import entries
        self.import_stack: List[Dict[str, Any]] = []
        self.target_entry: Optional[Dict[str, Any]] = None
        self.target_file: Optional[str] = None
        self.lines: Dict[int, List[Any]] = {}  # line -> [hits, s, self s, bytes, self bytes]
        self.line: Optional[int] = None
        self.line_start = 0.0
        self.line_mem = 0
        self.nested_s = 0.0  # imports finished during the current line
        self.nested_bytes = 0
        self.traced: Optional[Callable[[], Tuple[int, int]]] = None
        self.stop_tracing: Optional[Callable[[], None]] = None
        self.start = 0.0

    @staticmethod
    def _node(name: str, path: Optional[str], line: int, kind: str) -> _Node:
        return {
            "name": name,
            "file": path,
            "line": line,
            "kind": kind,
            "calls": 0,
            "s": 0.0,
            "children": {},
        }

    # -- hooks ------------------------------------------------------------------
    def begin(self) -> None:
        try:
            import tracemalloc

            if not tracemalloc.is_tracing():
                tracemalloc.start()
                self.stop_tracing = tracemalloc.stop
            self.traced = tracemalloc.get_traced_memory
        except Exception:  # no tracemalloc (some embedded builds): time only
            self.traced = None
        _bootstrap._find_and_load = self._find_and_load
        self.start = perf_counter()
        settrace(self._on_call)

    def _memory(self) -> int:
        return self.traced()[0] if self.traced is not None else 0

    def _on_call(self, frame: Any, event: str, arg: Any) -> Any:
        code = frame.f_code
        path = code.co_filename
        if path.startswith("<frozen") or path in self.transparent:
            return None
        parent = self.stack[-1][0] if self.stack else self.root
        node = None
        if parent is not None and len(self.stack) < MAX_DEPTH:
            key = (path, code.co_firstlineno, code.co_name)
            node = parent["children"].get(key)
            if node is None and self.nodes < MAX_NODES:
                self.nodes += 1
                module = frame.f_globals.get("__name__") or "?"
                if code.co_name == "<module>":
                    name, kind = "<module> %s" % module, "module"
                else:
                    qualname = getattr(code, "co_qualname", code.co_name)
                    name, kind = "%s.%s" % (module, qualname), "function"
                node = self._node(name, path, code.co_firstlineno, kind)
                parent["children"][key] = node
        if node is not None:
            node["calls"] += 1
        self.stack.append([node, perf_counter()])
        if (
            code.co_name == "<module>"
            and self.target_file is None
            and frame.f_globals.get("__name__") == self.target
        ):
            self.target_file = path
            self.nested_s, self.nested_bytes = 0.0, 0  # its parent packages came first
            return self._on_module_event
        frame.f_trace_lines = False
        return self._on_frame_event

    def _on_frame_event(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "return":
            self._pop(perf_counter())
        return self._on_frame_event

    def _on_module_event(self, frame: Any, event: str, arg: Any) -> Any:
        now = perf_counter()
        if event == "line":
            self._close_line(now)
            self.line = frame.f_lineno
            self.line_start = now
            self.line_mem = self._memory()
        elif event == "return":
            self._close_line(now)
            self._pop(now)
        return self._on_module_event

    def _close_line(self, now: float) -> None:
        if self.line is None:
            return
        spent = now - self.line_start
        grown = self._memory() - self.line_mem
        stats = self.lines.get(self.line)
        if stats is None:
            stats = self.lines[self.line] = [0, 0.0, 0.0, 0, 0]
        stats[0] += 1
        stats[1] += spent
        stats[2] += max(0.0, spent - self.nested_s)
        stats[3] += grown
        stats[4] += grown - self.nested_bytes
        self.line = None
        self.nested_s, self.nested_bytes = 0.0, 0

    def _pop(self, now: float) -> None:
        if not self.stack:
            return
        node, began = self.stack.pop()
        if node is not None:
            node["s"] += now - began

    def _find_and_load(self, name: str, *args: Any, **kwargs: Any) -> Any:
        real = self.real_find_and_load
        if name in modules or self.thread != get_ident():
            return real(name, *args, **kwargs)
        parent = self.stack[-1][0] if self.stack else self.root
        node = None
        if parent is not None:
            key = ("import", name)
            node = parent["children"].get(key)
            if node is None and self.nodes < MAX_NODES:
                self.nodes += 1
                node = parent["children"][key] = self._node("import " + name, None, 0, "import")
        if node is not None:
            node["calls"] += 1
        importer, line = self._importing_location()
        entry: Dict[str, Any] = {
            "name": name,
            "importer": importer,
            "line": line,
            "error": None,
            "children": [],
            "mem": self._memory(),
        }
        if name == self.target and self.target_entry is None:
            self.target_entry = entry
        depth = len(self.stack)
        began = perf_counter()
        self.stack.append([node, began])
        self.import_stack.append(entry)
        try:
            return real(name, *args, **kwargs)
        except BaseException as exc:
            entry["error"] = "%s: %s" % (type(exc).__name__, _safe_str(exc)[:300])
            raise
        finally:
            now = perf_counter()
            del self.stack[depth + 1 :]  # frames the tracer lost track of
            self._pop(now)
            self.import_stack.pop()
            entry["s"] = now - began
            entry["bytes"] = self._memory() - entry.pop("mem")
            module = modules.get(name)
            origin = getattr(module, "__file__", None) if module is not None else None
            entry["file"] = abspath(origin) if isinstance(origin, str) else None
            if node is not None and entry["file"]:
                node["file"] = entry["file"]
            if self.import_stack:
                owner = self.import_stack[-1]
                owner["children"].append(entry)
                if owner is self.target_entry:
                    self.nested_s += entry["s"]
                    self.nested_bytes += entry["bytes"]
            else:
                self.imports.append(entry)

    def _importing_location(self) -> Tuple[Optional[str], Optional[int]]:
        """File and line of the statement that started an import (outside importlib)."""
        try:
            frame: Any = _getframe(2)
            while frame is not None:
                path = frame.f_code.co_filename
                if not path.startswith("<frozen") and path not in self.transparent:
                    return (abspath(path) if not path.startswith("<") else path), frame.f_lineno
                frame = frame.f_back
        except Exception:  # e.g. an audit hook refusing sys._getframe: no location
            pass
        return None, None

    # -- the result -----------------------------------------------------------------
    def finish(self) -> ProfileData:
        now = perf_counter()
        settrace(None)
        _bootstrap._find_and_load = self.real_find_and_load
        self._close_line(now)
        while self.stack:
            self._pop(now)
        total = now - self.start
        self.root["s"] = total
        self.root["calls"] = 1
        if self.stop_tracing is not None:
            self.stop_tracing()
        floor = total * MIN_SHARE
        lines: List[ProfileLine] = [
            (line, s[0], s[1] * 1000.0, s[2] * 1000.0, s[3], s[4])
            for line, s in sorted(self.lines.items())
        ]
        return {
            "module": self.target,
            "file": self.target_file,
            "total_ms": total * 1000.0,
            "memory_traced": self.traced is not None,
            "lines": lines,
            "imports": [self._import_json(e) for e in self.imports],
            "calls": self._node_json(self.root, floor),
            "truncated": self.nodes >= MAX_NODES,
        }

    def _import_json(self, entry: Dict[str, Any]) -> ProfileImport:
        children = [self._import_json(c) for c in entry["children"]]
        return {
            "name": entry["name"],
            "file": entry["file"],
            "project": entry["file"] in self.project_files,
            "importer": entry["importer"],
            "line": entry["line"],
            "ms": entry["s"] * 1000.0,
            "self_ms": max(0.0, entry["s"] - sum(c["s"] for c in entry["children"])) * 1000.0,
            "bytes": entry["bytes"],
            "error": entry["error"],
            "children": children,
        }

    def _node_json(self, node: _Node, floor: float) -> ProfileCall:
        kept = [c for c in node["children"].values() if c["s"] >= floor]
        kept.sort(key=lambda c: -c["s"])
        return {
            "name": node["name"],
            "file": node["file"],
            "line": node["line"],
            "kind": node["kind"],
            "calls": node["calls"],
            "ms": node["s"] * 1000.0,
            "children": [self._node_json(c, floor) for c in kept],
        }


def _safe_str(exc: BaseException) -> str:
    try:
        return exact_str(str(exc), 300)
    except BaseException:
        return "<unprintable>"


def start(
    request_module: str, project_files: FrozenSet[str], skip_files: Tuple[str, ...]
) -> Optional[ImportProfiler]:
    """A running profiler (None if it cannot start: the check runs unprofiled)."""
    try:
        profiler = ImportProfiler(request_module, project_files, skip_files)
        profiler.begin()
    except Exception:
        return None
    return profiler


def finish(profiler: Optional[ImportProfiler]) -> Optional[ProfileData]:
    if profiler is None:
        return None
    try:
        return profiler.finish()
    except Exception as exc:  # hotmod's own failure: the verdict still goes out
        settrace(None)
        return {"error": "profiling failed: %s" % _safe_str(exc)}
