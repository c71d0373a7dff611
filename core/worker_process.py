"""The hotmod worker: runs inside the *project's* interpreter.

This file is executed by path (``python worker_process.py IN_FD OUT_FD``) with
whatever interpreter the project uses, which need not have hotmod installed.
It must therefore use the standard library only and stay compatible with
older Pythons (3.8+): no match statements, no ``X | Y`` annotations at run
time.

Shape: a single-threaded *zygote* keeps third-party modules imported ("warm")
and forks one child per check.  The child imports the project module from
source into a process that has never seen any project module, so its verdict
is the verdict of a fresh ``python -c "import m"`` -- only faster, because
``import pandas`` already happened in the zygote.  Where ``fork`` is not
available each check runs in a fresh subprocess instead (same code path,
cold third-party imports).

Protocol: one JSON object per line on dedicated pipes (never stdout, which
belongs to user code).

  server -> worker   {"op": "init", "paths": [...], "files": [...], "warm": [...],
                      "max_children": n}
                     {"op": "files", "files": [...]}         (after a rescan)
                     {"op": "warm", "modules": [...]}        (new third-party imports)
                     {"op": "check", "id": 1, "module": "pkg.mod",
                      "timeout_s": 10, "memory_limit_mb": 1024,
                      "output_limit": 65536, "trace_memory": false, ...}
                      ("profile": true: a profiled import, see _ImportProfiler)
                     {"op": "cancel", "ids": [...]}          (drop queued checks)
                     {"op": "shutdown"}
  worker -> server   {"event": "ready", "protocol": 1, "pid": ..., "python": ...,
                      "executable": ..., "fork": bool, "warm": {name: {"ok", "ms"}},
                      "rss_baseline": bytes}
                     {"event": "warmed", "warm": {...}}
                     {"event": "result", "id": 1, "result": {...}}
"""

import errno
import faulthandler
import gc
import importlib
import importlib.machinery
import importlib.util
import json
import os
import select
import signal
import sys
import tempfile
import time
import traceback
import warnings
from _thread import get_ident as _get_ident

try:
    import resource
except ImportError:  # Windows: no rlimits
    resource = None

PROTOCOL_VERSION = 1
# The spare child is forked once the zygote has been idle this long: forking
# right after a check competes for the CPU with the server delivering its
# verdict (measured on 2 cores: 2 ms slower per save).
_PREFORK_DELAY_S = 0.02
_HERE = os.path.abspath(__file__)
# Modules whose import has visible side effects; never pre-import them.
_NEVER_WARM = frozenset({"this", "antigravity", "__main__", "idlelib", "turtledemo"})
_WORKER_NAMES = frozenset({"worker_process", "__main__"})


def _write_json(fd, obj):
    data = (json.dumps(obj, separators=(",", ":"), default=repr) + "\n").encode("utf-8")
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        view = view[written:]


# --------------------------------------------------------------------------
# Inside a check child: import one module with fresh project state.
# --------------------------------------------------------------------------


class _Recorder:
    """Times every project module executed during the check."""

    def __init__(self):
        self.stack = []  # [name, start, children_seconds]
        self.modules = {}
        self.edges = []
        self.compiled = []  # project files compiled from source (not in _CODE)


class _CodeCache:
    """Project files compiled in the zygote, by path, with the exact source.

    A check child inherits it: a module whose source is byte-for-byte the
    one compiled runs that code object instead of compiling again, which for
    a module importing dozens of project modules is most of its set-up.
    Bytes, not mtimes, decide (see FreshSourceLoader), so it cannot go stale.
    The zygote compiles what the children report they had to compile.
    """

    # Code objects take about 3.5x their source; beyond this much source,
    # files are compiled in every check as before.
    LIMIT_BYTES = 8 * 1024 * 1024

    def __init__(self):
        self.entries = {}  # path -> (source bytes, code object)
        self.size = 0

    def get(self, path, source):
        entry = self.entries.get(path)
        if entry is not None and entry[0] == source:
            return entry[1]
        return None

    def add(self, path):
        """Compile ``path`` as it is now; not kept when that warns or fails.

        A warning at compile time (e.g. SyntaxWarning) is part of what a fresh
        import prints: such a file is left to compile in every check.
        """
        self.discard(path)
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError:
            return
        if self.size + len(source) > self.LIMIT_BYTES:
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code = compile(source, path, "exec", dont_inherit=True)
            except Exception:  # SyntaxError, ValueError (null bytes), ...
                return
        if caught:
            return
        self.entries[path] = (source, code)
        self.size += len(source)

    def discard(self, path):
        entry = self.entries.pop(path, None)
        if entry is not None:
            self.size -= len(entry[0])

    def retain(self, files):
        for path in [p for p in self.entries if p not in files]:
            self.discard(path)


_CODE = _CodeCache()


def _make_loader_class(recorder):
    base = importlib.machinery.SourceFileLoader

    class FreshSourceLoader(base):
        """Runs the code of the source as it is on disk now.

        A ``.pyc`` is validated by the source's mtime in whole seconds and its
        size, so two saves within one second can leave stale bytecode that a
        cached import would happily run.  The source is read every time and
        compiled unless the zygote compiled these very bytes (``_CODE``).
        """

        def get_code(self, fullname):
            path = self.get_filename(fullname)
            source = self.get_data(path)
            code = _CODE.get(path, source)
            if code is not None:
                return code
            recorder.compiled.append(path)
            return self.source_to_code(source, path)

        def exec_module(self, module):
            name = module.__name__
            if recorder.stack:
                recorder.edges.append([recorder.stack[-1][0], name])
            frame = [name, time.perf_counter(), 0.0]
            recorder.stack.append(frame)
            try:
                base.exec_module(self, module)
            finally:
                recorder.stack.pop()
                elapsed = time.perf_counter() - frame[1]
                if recorder.stack:
                    recorder.stack[-1][2] += elapsed
                recorder.modules[name] = {
                    "file": self.path,
                    "cumulative_ms": elapsed * 1000.0,
                    "self_ms": (elapsed - frame[2]) * 1000.0,
                }

    return FreshSourceLoader


class _ProjectFinder:
    """Routes project files through FreshSourceLoader; everything else is untouched."""

    def __init__(self, project_files, loader_class):
        self.project_files = project_files
        self.loader_class = loader_class

    def find_spec(self, fullname, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.origin is None:
            return spec
        origin = os.path.abspath(spec.origin)
        if origin in self.project_files and isinstance(
            spec.loader, importlib.machinery.SourceFileLoader
        ):
            spec.loader = self.loader_class(fullname, spec.origin)
        return spec

    def invalidate_caches(self):
        importlib.machinery.PathFinder.invalidate_caches()


def _frames_of(tb):
    frames = []
    for fs in traceback.extract_tb(tb):
        frames.append(
            {
                "file": os.path.abspath(fs.filename)
                if not fs.filename.startswith("<")
                else fs.filename,
                "line": fs.lineno,
                "end_line": getattr(fs, "end_lineno", None),
                "col": getattr(fs, "colno", None),
                "end_col": getattr(fs, "end_colno", None),
                "function": fs.name,
            }
        )
    return frames


def _describe_error(exc):
    info = {
        "type": type(exc).__name__,
        "qualname": type(exc).__module__ + "." + type(exc).__qualname__,
        "message": _safe_str(exc),
        "frames": _frames_of(exc.__traceback__),
        "is_import_error": isinstance(exc, ImportError),
        "is_memory_error": isinstance(exc, MemoryError),
        "is_syntax_error": isinstance(exc, SyntaxError),
        "is_system_exit": isinstance(exc, SystemExit),
    }
    if isinstance(exc, SyntaxError):
        info["syntax"] = {
            "file": os.path.abspath(exc.filename) if exc.filename else None,
            "line": exc.lineno,
            "offset": exc.offset,
            "end_line": getattr(exc, "end_lineno", None),
            "end_offset": getattr(exc, "end_offset", None),
            "text": exc.text,
            "msg": exc.msg,
        }
        _columns_in_characters(info["syntax"])
    if isinstance(exc, ImportError):
        info["import_name"] = exc.name
        info["import_path"] = os.path.abspath(exc.path) if exc.path else None
    return info


def _columns_in_characters(syntax):
    """Columns of a SyntaxError in characters, as compiling the file's text reports them.

    Imports compile bytes, and then CPython gives most parser errors' columns
    in UTF-8 bytes: wrong on any line with non-ASCII text before the error.
    Only the same error (line and message) replaces the original columns.
    """
    path = syntax.get("file")
    if not path:
        return
    # No import statements here: user code may have replaced builtins.__import__.
    try:
        with open(path, "rb") as f:
            text = importlib.util.decode_source(f.read())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        if exc.lineno == syntax.get("line") and exc.msg == syntax.get("msg"):
            syntax["offset"] = exc.offset
            syntax["end_line"] = getattr(exc, "end_lineno", None)
            syntax["end_offset"] = getattr(exc, "end_offset", None)
    except Exception:
        pass


def _safe_str(exc):
    try:
        text = str(exc)
    except BaseException:  # a hostile __str__ must not hide the verdict
        text = "<unprintable %s>" % type(exc).__name__
    return text[:4000]


def _statm_bytes(field):
    """A size from /proc/self/statm (0: address space, 1: resident); None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[field]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _rss_bytes():
    rss = _statm_bytes(1)
    if rss is not None:
        return rss
    try:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    except Exception:
        return 0


def _top_level_names(files, paths):
    """Top-level module names of the project files (``app`` for app/decimal.py)."""
    tops = set()
    for f in files:
        for base in paths:
            if f.startswith(base.rstrip(os.sep) + os.sep):
                first = f[len(base.rstrip(os.sep)) + 1 :].split(os.sep)[0]
                tops.add(first[:-3] if first.endswith(".py") else first)
                break
    return tops


def _limit_memory(limit_mb, address_space):
    # The limit counts address space the warm child already has; without
    # knowing it, an absolute limit would fail every check.
    if not limit_mb or address_space is None:
        return
    limit = address_space + int(limit_mb) * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (AttributeError, ValueError, OSError):
        pass


def _guard_hard_exit(tb_file):
    """Record where ``os._exit`` was called: the process vanishes without a traceback."""
    real_exit = os._exit

    def _exit(status):
        try:
            tb_file.write("Hard exit (os._exit(%r))\n" % (status,))
            tb_file.flush()
            faulthandler.dump_traceback(file=tb_file, all_threads=False)
            tb_file.flush()
        except BaseException:
            pass
        real_exit(status)

    os._exit = _exit
    return real_exit


# -- side effects at import: a PEP 578 audit hook --------------------------------

# audit event -> what it means, for the message; open/remove/rename/rmtree
# are file changes, reported only outside the temp dir.
_AUDITED = {
    "socket.connect": "network",
    "socket.getaddrinfo": "network",
    "socket.gethostbyname": "network",
    "socket.sendto": "network",
    "subprocess.Popen": "process",
    "os.system": "process",
    "os.exec": "process",
    "os.fork": "process",
    "os.forkpty": "process",
    "os.posix_spawn": "process",
    "os.spawn": "process",
    "open": "file",
    "os.remove": "file",
    "os.rename": "file",
    "os.rmdir": "file",
    "shutil.rmtree": "file",
}
_JOURNAL_MARK = "hotmod side effect: "  # a line of the traceback file: see _SideEffectAudit
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_MAX_SIDE_EFFECTS = 50


class _SideEffectAudit:
    """Records (and in "block" mode refuses) what a module does at import.

    Audit hooks cannot be removed, so the hook stays installed in the check
    child and is switched on only around the user's import: hotmod's own
    harness (the traceback file, the result pipe) is never recorded.  Not a
    sandbox: C extensions and ctypes can do all of this without an event.
    """

    def __init__(self, mode, project_files, journal=None):
        self.mode = mode
        self.project_files = project_files
        # The check's traceback file: each event is written there too, so that
        # a crash or a timeout (no result) still reports what happened before.
        self.journal = journal
        self.active = False
        self.events = []
        self.busy = set()  # threads inside the hook: events raised by the hook itself
        self.known_files = {}  # co_filename -> absolute path if a project file, else None
        try:
            self.tempdir = os.path.realpath(tempfile.gettempdir())
        except Exception:
            self.tempdir = None

    def __call__(self, event, args):
        if not self.active or event not in _AUDITED:
            return
        me = _get_ident()
        if me in self.busy:
            return
        self.busy.add(me)
        try:
            what = self._describe(event, args)
            if what is None:
                return
            blocked = self.mode == "block"
            self._record(event, what, blocked)
        except Exception:  # e.g. MemoryError under the memory limit: never break the import
            return
        finally:
            self.busy.discard(me)
        if blocked:
            raise PermissionError(
                "hotmod blocked this: the module %s during import (sideEffects = block)" % what
            )

    def _describe(self, event, args):
        """What the event does, in words (None: not a side effect worth reporting)."""
        kind = _AUDITED[event]
        if kind == "network":
            return "accesses the network (%s %s)" % (event, _short_repr(args[0] if args else ""))
        if kind == "process":
            if event in ("os.fork", "os.forkpty"):
                return "forks a process (%s)" % event
            if event == "subprocess.Popen":
                target = args[1] if len(args) > 1 and args[1] is not None else args[0]
            elif event == "os.spawn":
                target = args[1] if len(args) > 1 else ""
            else:
                target = args[0] if args else ""
            if isinstance(target, bytes):
                target = target.decode("utf-8", "replace")
            return "starts a process (%s %s)" % (event, _short_repr(target))
        if event == "open":
            path, mode = args[0], args[1]
            flags = args[2] if len(args) > 2 else 0
            if isinstance(path, int):
                return None  # an fd that is already open
            if isinstance(mode, str):
                writes = any(c in mode for c in "wax+")
            else:
                writes = bool((flags or 0) & _WRITE_FLAGS)
            if not writes or not self._outside_temp(path):
                return None
            return "writes to %s (open, mode %r)" % (
                _short_repr(_fspath(path)),
                mode if isinstance(mode, str) else flags,
            )
        path = args[0] if args else None
        if path is None or isinstance(path, int) or not self._outside_temp(path):
            return None
        verb = {
            "os.remove": "deletes",
            "os.rename": "renames",
            "os.rmdir": "removes the directory",
            "shutil.rmtree": "deletes the tree",
        }[event]
        return "%s %s (%s)" % (verb, _short_repr(_fspath(path)), event)

    def _outside_temp(self, path):
        try:
            real = os.path.realpath(_fspath(path))
        except Exception:
            return True
        if real == os.devnull:
            return False
        return not (self.tempdir and (real + os.sep).startswith(self.tempdir + os.sep))

    def _record(self, event, what, blocked):
        if len(self.events) >= _MAX_SIDE_EFFECTS:
            return
        file, line = self._responsible_line()
        for seen in self.events:
            # subprocess.Popen also raises os.posix_spawn/os.fork: one line, one report.
            if seen["file"] == file and seen["line"] == line and seen["kind"] == _AUDITED[event]:
                return
        record = {
            "event": event,
            "kind": _AUDITED[event],
            "what": what,
            "file": file,
            "line": line,
            "blocked": blocked,
        }
        self.events.append(record)
        if self.journal is not None:
            try:
                self.journal.write(_JOURNAL_MARK + json.dumps(record) + "\n")
                self.journal.flush()
            except Exception:
                pass

    def _responsible_line(self):
        """The innermost frame in a project file: that module's check reports it."""
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            path = self.known_files.get(name, 0)
            if path == 0:
                path = os.path.abspath(name) if not name.startswith("<") else None
                if path not in self.project_files or path == _HERE:
                    path = None
                self.known_files[name] = path
            if path is not None:
                return path, frame.f_lineno
            frame = frame.f_back
        return None, None


def _fspath(path):
    try:
        path = os.fspath(path)
    except TypeError:
        return str(path)
    if isinstance(path, bytes):
        return path.decode("utf-8", "replace")
    return path


def _short_repr(value):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _start_side_effect_audit(request, state, journal):
    """Install the audit hook for this check (None when off or unsupported)."""
    mode = request.get("side_effects") or "warn"
    if mode == "off" or not hasattr(sys, "addaudithook"):
        return None
    audit = _SideEffectAudit(mode, state["files"], journal)
    sys.addaudithook(audit)
    audit.active = True
    return audit


def _stop_side_effect_audit(audit, result):
    if audit is not None:
        audit.active = False
        result["side_effects"] = audit.events


class _Prepared:
    """A check child's set-up that does not depend on the request.

    A spare child does it while it waits, so that a check starts importing
    the moment its request arrives.
    """

    def __init__(self, state, tb_file):
        faulthandler.enable(file=tb_file, all_threads=True)
        self.real_exit = _guard_hard_exit(tb_file)
        self.recorder = _Recorder()
        finder = _ProjectFinder(state["files"], _make_loader_class(self.recorder))
        sys.meta_path.insert(_path_finder_index(), finder)
        sys.dont_write_bytecode = True
        # Marks the project dirs' listings stale; they are re-read at the first
        # lookup, which is during the check's import, so a spare waiting for
        # minutes still sees files created meanwhile.
        _invalidate_project_finders(state["paths"])
        self.address_space = _statm_bytes(0)


def run_check(request, state, result_fd, tb_file, phases=None, prepared=None):
    """Import ``request["module"]`` and write one result object to ``result_fd``."""
    phases = phases if phases is not None else {}
    prepared = prepared or _Prepared(state, tb_file)
    phases["setup"] = time.monotonic()
    timeout = float(request.get("timeout_s") or 0)
    if timeout > 0:
        faulthandler.dump_traceback_later(timeout, exit=True, file=tb_file)
    real_exit = prepared.real_exit
    _limit_memory(request.get("memory_limit_mb"), prepared.address_space)
    recorder = prepared.recorder

    # tracemalloc makes imports ~10x slower in a process as large as a warm
    # zygote, so it runs only when asked; RSS is cheap and, in a forked child,
    # grows with new allocations only (copy-on-write copies do not add RSS).
    trace = bool(request.get("trace_memory"))
    if trace:
        import tracemalloc

        tracemalloc.start()
    result = {"module": request["module"], "outcome": "ok"}
    rss0 = _rss_bytes()
    phases["import"] = time.monotonic()
    start = time.perf_counter()
    audit = _start_side_effect_audit(request, state, tb_file)
    profiler = _start_profile(request, state)
    try:
        importlib.import_module(request["module"])
    except BaseException as exc:  # the verdict covers SystemExit and KeyboardInterrupt too
        result["outcome"] = "memory-limit" if isinstance(exc, MemoryError) else "error"
        try:
            result["error"] = _describe_error(exc)
        except MemoryError:
            result["error"] = {"type": "MemoryError", "message": "", "frames": []}
    _finish_profile(profiler, result)
    _stop_side_effect_audit(audit, result)
    elapsed = time.perf_counter() - start
    phases["report"] = time.monotonic()
    faulthandler.cancel_dump_traceback_later()
    try:
        _release_memory_limit()
        result["memory"] = {"rss_delta": max(0, _rss_bytes() - rss0), "traced": trace}
        if trace:
            result["memory"].update(_traced_memory(state["files"]))
    except MemoryError:
        result["memory"] = {"rss_delta": 0, "traced": False}
    result["total_ms"] = elapsed * 1000.0
    result["modules"] = recorder.modules
    result["edges"] = recorder.edges
    result["compiled"] = recorder.compiled
    phases["write"] = time.monotonic()
    result["phases"] = phases
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        # Tearing down a process as large as a warm zygote takes milliseconds;
        # at full priority it keeps the CPU from the zygote that the write
        # below wakes (measured: +2 ms per check on 2 cores).
        _lower_priority()
        _write_json(result_fd, result)
        # EOF tells the zygote the verdict is complete: it need not wait for
        # this process to be torn down.
        os.close(result_fd)
    except BaseException:
        real_exit(70)
    # Skip interpreter shutdown: atexit handlers and non-daemon threads of
    # user code must not keep the child (or its verdict) hostage.
    real_exit(0)


# --------------------------------------------------------------------------
# Profiling one import ("profile": true in a check request).
# --------------------------------------------------------------------------

# The call tree is capped so that a call-heavy import cannot blow up the
# result: deeper or further calls are folded into their caller's own time.
_PROFILE_MAX_NODES = 5000
_PROFILE_MAX_DEPTH = 150
# Subtrees below this share of the whole import are folded into their caller
# when the tree is written out (a readable chart, a small result).
_PROFILE_MIN_SHARE = 0.0005
# ``importlib.import_module`` is how hotmod starts the import, not user code.
_IMPORTLIB_INIT = os.path.abspath(importlib.__file__)


class _ImportProfiler:
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

    def __init__(self, target, project_files):
        import _frozen_importlib
        import _thread

        self.get_ident = _thread.get_ident
        self.target = target
        self.project_files = project_files
        self.bootstrap = _frozen_importlib
        self.real_find_and_load = _frozen_importlib._find_and_load
        self.thread = self.get_ident()
        self.clock = time.perf_counter
        self.root = self._node("import " + target, None, 0, "root")
        self.nodes = 0
        self.stack = []  # [node or None, start]: None folds into the caller
        self.imports = []  # finished top-level import entries
        self.import_stack = []
        self.target_entry = None
        self.target_file = None
        self.lines = {}  # line -> [hits, seconds, self seconds, bytes, self bytes]
        self.line = None
        self.line_start = 0.0
        self.line_mem = 0
        self.nested_s = 0.0  # imports finished during the current line
        self.nested_bytes = 0
        self.started_tracemalloc = False
        self.traced = None
        self.start = 0.0

    @staticmethod
    def _node(name, path, line, kind):
        return {
            "name": name,
            "file": path,
            "line": line,
            "kind": kind,
            "calls": 0,
            "s": 0.0,
            "children": {},
        }

    # -- hooks ----------------------------------------------------------------
    def begin(self):
        try:
            import tracemalloc

            if not tracemalloc.is_tracing():
                tracemalloc.start()
                self.started_tracemalloc = True
            self.traced = tracemalloc.get_traced_memory
        except Exception:  # no tracemalloc (some embedded builds): time only
            self.traced = None
        self.bootstrap._find_and_load = self._find_and_load
        self.start = self.clock()
        sys.settrace(self._on_call)

    def _memory(self):
        return self.traced()[0] if self.traced is not None else 0

    def _on_call(self, frame, event, arg):
        code = frame.f_code
        path = code.co_filename
        if path.startswith("<frozen") or path in (_HERE, _IMPORTLIB_INIT):
            return None  # the import machinery and hotmod itself are transparent
        parent = self.stack[-1][0] if self.stack else self.root
        node = None
        if parent is not None and len(self.stack) < _PROFILE_MAX_DEPTH:
            key = (path, code.co_firstlineno, code.co_name)
            node = parent["children"].get(key)
            if node is None and self.nodes < _PROFILE_MAX_NODES:
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
        self.stack.append([node, self.clock()])
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

    def _on_frame_event(self, frame, event, arg):
        if event == "return":
            self._pop(self.clock())
        return self._on_frame_event

    def _on_module_event(self, frame, event, arg):
        now = self.clock()
        if event == "line":
            self._close_line(now)
            self.line = frame.f_lineno
            self.line_start = now
            self.line_mem = self._memory()
        elif event == "return":
            self._close_line(now)
            self._pop(now)
        return self._on_module_event

    def _close_line(self, now):
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

    def _pop(self, now):
        if not self.stack:
            return
        node, began = self.stack.pop()
        if node is not None:
            node["s"] += now - began

    def _find_and_load(self, name, *args, **kwargs):
        real = self.real_find_and_load
        if name in sys.modules or self.thread != self.get_ident():
            return real(name, *args, **kwargs)
        parent = self.stack[-1][0] if self.stack else self.root
        node = None
        if parent is not None:
            key = ("import", name)
            node = parent["children"].get(key)
            if node is None and self.nodes < _PROFILE_MAX_NODES:
                self.nodes += 1
                node = parent["children"][key] = self._node("import " + name, None, 0, "import")
        if node is not None:
            node["calls"] += 1
        importer, line = _importing_location()
        entry = {
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
        began = self.clock()
        self.stack.append([node, began])
        self.import_stack.append(entry)
        try:
            return real(name, *args, **kwargs)
        except BaseException as exc:
            entry["error"] = "%s: %s" % (type(exc).__name__, _safe_str(exc)[:300])
            raise
        finally:
            now = self.clock()
            del self.stack[depth + 1 :]  # frames the tracer lost track of
            self._pop(now)
            self.import_stack.pop()
            entry["s"] = now - began
            entry["bytes"] = self._memory() - entry.pop("mem")
            module = sys.modules.get(name)
            origin = getattr(module, "__file__", None) if module is not None else None
            entry["file"] = os.path.abspath(origin) if isinstance(origin, str) else None
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

    # -- the result -------------------------------------------------------------
    def finish(self):
        now = self.clock()
        sys.settrace(None)
        self.bootstrap._find_and_load = self.real_find_and_load
        self._close_line(now)
        while self.stack:
            self._pop(now)
        total = now - self.start
        self.root["s"] = total
        self.root["calls"] = 1
        if self.started_tracemalloc:
            import tracemalloc

            tracemalloc.stop()
        floor = total * _PROFILE_MIN_SHARE
        return {
            "module": self.target,
            "file": self.target_file,
            "total_ms": total * 1000.0,
            "memory_traced": self.traced is not None,
            "lines": [
                [line, s[0], s[1] * 1000.0, s[2] * 1000.0, s[3], s[4]]
                for line, s in sorted(self.lines.items())
            ],
            "imports": [self._import_json(e) for e in self.imports],
            "calls": self._node_json(self.root, floor),
            "truncated": self.nodes >= _PROFILE_MAX_NODES,
        }

    def _import_json(self, entry):
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

    def _node_json(self, node, floor):
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


def _importing_location():
    """File and line of the statement that started an import (outside importlib)."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith("<frozen") and path not in (_HERE, _IMPORTLIB_INIT):
            return os.path.abspath(path) if not path.startswith("<") else path, frame.f_lineno
        frame = frame.f_back
    return None, None


def _start_profile(request, state):
    """A running profiler when the request asks for one, else None (no cost)."""
    if not request.get("profile"):
        return None
    try:
        profiler = _ImportProfiler(request["module"], state["files"])
        profiler.begin()
    except Exception:
        return None
    return profiler


def _finish_profile(profiler, result):
    if profiler is None:
        return
    try:
        result["profile"] = profiler.finish()
    except Exception as exc:  # hotmod's own failure: the verdict still goes out
        sys.settrace(None)
        result["profile"] = {"error": "profiling failed: %s" % _safe_str(exc)}


def _traced_memory(project_files):
    """Net bytes still allocated, in total and per project file that allocated them."""
    import tracemalloc

    traced = tracemalloc.get_traced_memory()[0]
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_file = {}
    for stat in snapshot.statistics("filename"):
        fname = stat.traceback[0].filename
        if fname in project_files:
            per_file[fname] = stat.size
    return {"traced_net": traced, "per_file": per_file}


def _invalidate_project_finders(paths):
    """Forget cached directory listings of project dirs, which may have new files.

    FileFinder notices a changed directory only by its mtime, which can tie
    within a clock tick; third-party dirs do not change under us, and
    ``importlib.invalidate_caches()`` over all of them costs milliseconds.
    """
    prefixes = tuple(p.rstrip(os.sep) for p in paths)
    for entry, finder in list(sys.path_importer_cache.items()):
        if finder is not None and entry.startswith(prefixes):
            invalidate = getattr(finder, "invalidate_caches", None)
            if invalidate is not None:
                invalidate()


def _lower_priority():
    # Measured on 2 cores: at nice 0 the woken zygote waited 2 ms for the
    # CPU; nice 5 is enough for that hop, but a save's verdict still has the
    # server and the editor to reach: nice 19 is 3 ms faster per save.
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    except (AttributeError, OSError):
        pass


def _release_memory_limit():
    # The module-level ``resource``: user code may have replaced builtins.__import__.
    try:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (AttributeError, ValueError, OSError):
        pass


def _path_finder_index():
    for i, finder in enumerate(sys.meta_path):
        if finder is importlib.machinery.PathFinder:
            return i
    return len(sys.meta_path)


# --------------------------------------------------------------------------
# The zygote: warm imports, a select loop, one child per check.
# --------------------------------------------------------------------------


class _Child:
    def __init__(self, request, pid, result_fd, output_fd, tb_path, deadline, forked):
        self.request = request
        self.pid = pid
        self.result_fd = result_fd
        self.output_fd = output_fd
        self.tb_path = tb_path
        self.deadline = deadline
        self.result_buf = bytearray()
        self.output_buf = bytearray()
        self.output_total = 0
        self.status = None
        self.killed_for_timeout = False
        self.started = time.perf_counter()
        self.forked = forked
        self.sent = False


class Zygote:
    def __init__(self, in_fd, out_fd, use_fork):
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.use_fork = use_fork
        self.state = {"files": frozenset(), "paths": []}
        self.queue = []
        self.children = {}
        self.max_children = max(
            1, int(os.environ.get("HOTMOD_WORKER_JOBS") or (os.cpu_count() or 1))
        )
        self.in_buf = b""
        self.tmpdir = tempfile.mkdtemp(prefix="hotmod-worker-")
        self.warm_report = {}
        self.rss_baseline = 0
        self.spares = []  # [(pid, request_w, result_r, output_r, tb_path)]: see _prefork
        self.idle_since = None
        self.to_compile = {}  # project files checks had to compile (an ordered set)
        self.running = True
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)

    # -- setup ------------------------------------------------------------
    def init(self, msg):
        paths = [os.path.abspath(p) for p in msg.get("paths", [])]
        self.state["paths"] = paths
        for p in reversed(paths):
            if p not in sys.path:
                sys.path.insert(0, p)
        self.state["files"] = frozenset(os.path.abspath(f) for f in msg.get("files", []))
        if msg.get("max_children"):
            self.max_children = max(1, int(msg["max_children"]))
        self.warm(msg.get("warm", []))
        if self.use_fork:
            self.rss_baseline = self._calibrate()
            _become_subreaper()
            signal.signal(signal.SIGCHLD, lambda *_: None)
            signal.set_wakeup_fd(self.wake_w)
        _write_json(
            self.out_fd,
            {
                "event": "ready",
                "protocol": PROTOCOL_VERSION,
                "pid": os.getpid(),
                "python": sys.version.split()[0],
                "executable": sys.executable,
                "fork": self.use_fork,
                "warm": self.warm_report,
                "rss_baseline": self.rss_baseline,
            },
        )

    def warm(self, modules):
        if not self.use_fork:
            return
        project_tops = _top_level_names(self.state["files"], self.state["paths"])
        for name in modules:
            if name in _NEVER_WARM or name in sys.modules or name.split(".")[0] in project_tops:
                continue
            start = time.perf_counter()
            try:
                importlib.import_module(name)
                ok = True
            except BaseException:  # a broken third-party package only costs its warmth
                ok = False
            self.warm_report[name] = {"ok": ok, "ms": (time.perf_counter() - start) * 1000.0}
        # Third-party packages must not drag project modules into the zygote:
        # every child has to import those fresh.
        for name, module in list(sys.modules.items()):
            origin = getattr(module, "__file__", None)
            if origin and os.path.abspath(origin) in self.state["files"]:
                del sys.modules[name]
        # Children must not copy the zygote's pages: a cyclic GC pass in a
        # child would write to every inherited object's header.  Frozen
        # objects are invisible to the collector (the CPython pre-fork idiom).
        gc.collect()
        gc.freeze()
        # Helpers that warm imports started (e.g. a resource tracker) are ours.
        self.own_children = set(_child_pids())

    def _calibrate(self):
        """RSS growth of a check that imports an empty module (median of three).

        Any import in a child touches some fresh pages (about 0.6 MB with a
        warm pandas); subtracting that leaves what the module itself costs.
        """
        name = "_hotmod_calibration_empty"
        path = os.path.join(self.tmpdir, name + ".py")
        with open(path, "w") as f:
            f.write("X = 1\n")
        state = {"files": self.state["files"] | {path}, "paths": [self.tmpdir]}
        deltas = []
        for _ in range(3):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                try:
                    os.close(read_fd)
                    sys.path.insert(0, self.tmpdir)
                    with open(os.devnull, "w") as devnull:
                        run_check({"module": name, "timeout_s": 10}, state, write_fd, devnull)
                finally:
                    os._exit(0)
            os.close(write_fd)
            with os.fdopen(read_fd, "rb") as stream:
                data = stream.read()
            os.waitpid(pid, 0)
            result = _parse_result(data)
            if result and result.get("outcome") == "ok":
                deltas.append(int(result["memory"]["rss_delta"]))
        _remove_quietly(path)
        return sorted(deltas)[len(deltas) // 2] if deltas else 0

    def _kill_strays(self):
        """Kill what finished checks left behind outside their process groups.

        A grandchild that calls ``setsid()`` (and ignores SIGTERM) escapes the
        group kill.  When its check exits it is re-parented to us, the
        subreaper, so any child of ours that is not a running check (or in a
        running check's group) nor a helper of the warm imports is a stray.
        """
        if not self.use_fork:
            return
        keep = set(self.children) | getattr(self, "own_children", set())
        # The pre-forked children waiting for the next checks.
        keep.update(spare[0] for spare in getattr(self, "spares", ()))
        for _ in range(20):  # killing a stray re-parents its own children to us
            strays = [p for p in _child_pids() if p not in keep and _pgid(p) not in self.children]
            if not strays:
                return
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (OSError, ChildProcessError):
                    pass

    # -- main loop ----------------------------------------------------------
    def serve(self):
        while self.running or self.children:
            self._start_queued()
            # Only while idle: a fork holds locks that a running check's
            # copy-on-write page faults wait for (measured: ~5 ms each).
            if self.queue or self.children:
                self.idle_since = None
            elif self.idle_since is None:
                self.idle_since = time.monotonic()
            elif time.monotonic() - self.idle_since >= _PREFORK_DELAY_S:
                if self.to_compile:  # first, so that the spares inherit the code
                    self._compile_some()
                else:
                    self._prefork()
            rlist = [self.in_fd, self.wake_r] if self.running else [self.wake_r]
            for child in self.children.values():
                rlist.extend(fd for fd in (child.result_fd, child.output_fd) if fd is not None)
            timeout = self._next_timeout()
            try:
                ready, _, _ = select.select(rlist, [], [], timeout)
            except InterruptedError:
                ready = []
            for fd in ready:
                if fd == self.in_fd:
                    self._read_requests()
                elif fd == self.wake_r:
                    _drain(self.wake_r)
                else:
                    self._read_child_fd(fd)
            self._reap()
            self._enforce_deadlines()

    def _next_timeout(self):
        if not self.children:
            idle_work = self.to_compile or len(self.spares) < self.max_children
            if self.use_fork and self.running and idle_work and self.idle_since:
                # Wake up to compile, then fork the spares (see _prefork).
                return max(0.0, self.idle_since + _PREFORK_DELAY_S - time.monotonic())
            return None
        now = time.monotonic()
        nearest = min(c.deadline for c in self.children.values())
        # Poll as a fallback in case a SIGCHLD wakeup is lost (e.g. no fork).
        return max(0.0, min(nearest - now, 0.05))

    def _read_requests(self):
        try:
            data = os.read(self.in_fd, 1 << 16)
        except InterruptedError:
            return
        if not data:  # the server went away
            self.running = False
            self.queue = []
            self._discard_spares()
            return
        self.in_buf += data
        while b"\n" in self.in_buf:
            line, self.in_buf = self.in_buf.split(b"\n", 1)
            if line.strip():
                self._handle(json.loads(line.decode("utf-8")))

    def _handle(self, msg):
        op = msg.get("op")
        if op == "check":
            self.queue.append(msg)
        elif op == "files":
            self.state["files"] = frozenset(os.path.abspath(f) for f in msg.get("files", []))
            _CODE.retain(self.state["files"])
            self._discard_spares()
        elif op == "warm":
            self._discard_spares()
            self.warm(msg.get("modules", []))
            _write_json(self.out_fd, {"event": "warmed", "warm": self.warm_report})
        elif op == "cancel":
            ids = set(msg.get("ids", []))
            self.queue = [r for r in self.queue if r.get("id") not in ids]
        elif op == "shutdown":
            self.running = False
            self.queue = []
            self._discard_spares()

    def _start_queued(self):
        # A child whose verdict was sent is only being torn down (at low
        # priority): it no longer takes one of the max_children slots, but
        # a burst must not pile up more than a few of them (their memory).
        while (
            self.queue
            and sum(not c.sent for c in self.children.values()) < self.max_children
            and len(self.children) < 2 * self.max_children
        ):
            self._spawn(self.queue.pop(0))

    def _compile_some(self):
        """Compile files checks reported compiling (see _CodeCache), ~10 ms at a time
        so that a check asked for meanwhile waits no longer than that."""
        deadline = time.monotonic() + 0.01
        while self.to_compile and time.monotonic() < deadline:
            path = next(iter(self.to_compile))
            del self.to_compile[path]
            if path in self.state["files"]:
                _CODE.add(path)
        gc.freeze()  # like the warm imports: children must not copy these pages

    def _prefork(self):
        """Fork a child for a coming check now, off the critical path.

        Forking a warm zygote costs milliseconds (copying the page tables of
        a process with pandas loaded); a spare child forked while nothing
        runs has done its set-up (``_Prepared``) by the time a check is
        asked for, and starts importing at once.  It waits for its request on
        a pipe of its own.  One spare per job: a save of a module and its
        first dependents starts them all from spares.
        """
        if not self.use_fork or len(self.spares) >= self.max_children or not self.running:
            return
        request_r, request_w = os.pipe()
        result_r, result_w = os.pipe()
        output_r, output_w = os.pipe()
        fd, tb_path = tempfile.mkstemp(prefix="tb-", dir=self.tmpdir)
        os.close(fd)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(request_w)
            self._child_main(None, result_w, output_w, tb_path, (result_r, output_r), request_r)
        for fd in (request_r, result_w, output_w):
            os.close(fd)
        for fd in (result_r, output_r):
            os.set_blocking(fd, False)
        self.spares.append((pid, request_w, result_r, output_r, tb_path))

    def _discard_spares(self):
        """The spares were forked with an older state (files, warm imports): replace them."""
        spares, self.spares = self.spares, []
        for spare in spares:
            _discard(spare)

    def _hand_to_spare(self, request, deadline):
        spare = self.spares.pop(0)
        pid, request_w, result_r, output_r, tb_path = spare
        try:
            _write_all(request_w, (json.dumps(request) + "\n").encode("utf-8"))
        except OSError:  # the spare died meanwhile
            _discard(spare)
            return False
        _close_quietly(request_w)
        self.children[pid] = _Child(
            request, pid, result_r, output_r, tb_path, deadline, time.monotonic()
        )
        return True

    def _spawn(self, request):
        timeout = float(request.get("timeout_s") or 0)
        # The child dumps its own traceback at the deadline; the grace period
        # covers a child too wedged even for faulthandler.
        deadline = time.monotonic() + (timeout + 2.0 if timeout > 0 else 1e9)
        while self.spares:
            if self._hand_to_spare(request, deadline):
                return
        result_r, result_w = os.pipe()
        output_r, output_w = os.pipe()
        fd, tb_path = tempfile.mkstemp(prefix="tb-", dir=self.tmpdir)
        os.close(fd)
        forked = time.monotonic()
        if self.use_fork:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                self._child_main(request, result_w, output_w, tb_path, (result_r, output_r))
            os.close(result_w)
            os.close(output_w)
        else:
            pid = self._spawn_subprocess(request, result_w, output_w, tb_path)
            os.close(result_w)
            os.close(output_w)
        for fd in (result_r, output_r):
            os.set_blocking(fd, False)
        self.children[pid] = _Child(request, pid, result_r, output_r, tb_path, deadline, forked)

    def _child_main(self, request, result_w, output_w, tb_path, parent_fds, request_fd=None):
        try:
            os.setpgid(0, 0)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (self.in_fd, self.out_fd, self.wake_r, self.wake_w) + parent_fds:
                _close_quietly(fd)
            for child in self.children.values():
                _close_quietly(child.result_fd)
                _close_quietly(child.output_fd)
            for spare in self.spares:
                for fd in spare[1:4]:
                    _close_quietly(fd)
            os.dup2(output_w, 1)
            os.dup2(output_w, 2)
            os.close(output_w)
            tb_file = open(tb_path, "w")
            prepared = _Prepared(self.state, tb_file)
            if request is None:  # a spare: wait for the check to run
                request = _read_request(request_fd)
                if request is None:  # discarded: not a hard exit of user code
                    prepared.real_exit(0)
            phases = {"child": time.monotonic()}
            run_check(request, self.state, result_w, tb_file, phases, prepared)
        except BaseException:
            # hotmod's own failure (not the user's: run_check catches that):
            # leave a trace in the captured output.
            try:
                traceback.print_exc()
                sys.stderr.flush()
            except BaseException:
                pass
        os._exit(71)

    def _spawn_subprocess(self, request, result_w, output_w, tb_path):
        import subprocess

        payload = json.dumps(
            {
                "request": request,
                "paths": self.state["paths"],
                "files": sorted(self.state["files"]),
                "tb": tb_path,
            }
        )
        proc = subprocess.Popen(
            [sys.executable, _HERE, "--oneshot", str(result_w), payload],
            stdin=subprocess.DEVNULL,
            stdout=output_w,
            stderr=output_w,
            pass_fds=(result_w,),
            start_new_session=True,
        )
        self._procs = getattr(self, "_procs", {})
        self._procs[proc.pid] = proc
        return proc.pid

    def _read_child_fd(self, fd):
        for child in self.children.values():
            if fd == child.result_fd:
                chunk = _read_available(fd)
                if chunk is None:
                    _close_quietly(fd)
                    child.result_fd = None
                    self._send_early(child)
                else:
                    child.result_buf += chunk
                return
            if fd == child.output_fd:
                chunk = _read_available(fd)
                if chunk is None:
                    _close_quietly(fd)
                    child.output_fd = None
                else:
                    self._keep_output(child, chunk)
                return

    def _keep_output(self, child, chunk):
        limit = int(child.request.get("output_limit") or 65536)
        child.output_total += len(chunk)
        room = limit - len(child.output_buf)
        if room > 0:
            child.output_buf += chunk[:room]

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            child = self.children.get(pid)
            if child is not None:
                child.status = status
                self._finish(child)

    def _enforce_deadlines(self):
        now = time.monotonic()
        for child in list(self.children.values()):
            if child.status is None and now >= child.deadline:
                child.killed_for_timeout = True
                _kill_group(child.pid)

    def _send_early(self, child):
        """A complete result arrived: answer now, reap the process later."""
        result = _parse_result(child.result_buf)
        if result is None or child.sent:
            return
        if child.output_fd is not None:
            chunk = _read_available(child.output_fd)
            while chunk:
                self._keep_output(child, chunk)
                chunk = _read_available(child.output_fd)
        self._send(child, result, {"code": 0, "signal": None}, "")

    def _finish(self, child):
        del self.children[child.pid]
        # Anything the child left behind (forked grandchildren in its process
        # group) goes with it.
        _kill_group(child.pid)
        self._kill_strays()
        for attr in ("result_fd", "output_fd"):
            fd = getattr(child, attr)
            if fd is None:
                continue
            chunk = _read_available(fd)
            while chunk:
                if attr == "result_fd":
                    child.result_buf += chunk
                else:
                    self._keep_output(child, chunk)
                chunk = _read_available(fd)
            _close_quietly(fd)
        try:
            with open(child.tb_path, errors="replace") as f:
                dump = f.read(65536)
        except OSError:
            dump = ""
        _remove_quietly(child.tb_path)
        if child.sent:
            return
        side_effects, dump = _split_journal(dump)
        result = _parse_result(child.result_buf)
        if result is None:
            result = {"module": child.request["module"], "outcome": "crash"}
            result["side_effects"] = side_effects
            if child.killed_for_timeout or dump.startswith("Timeout"):
                result["outcome"] = "timeout"
        exit_info = {"code": None, "signal": None}
        if os.WIFEXITED(child.status):
            exit_info["code"] = os.WEXITSTATUS(child.status)
        elif os.WIFSIGNALED(child.status):
            exit_info["signal"] = os.WTERMSIG(child.status)
        self._send(child, result, exit_info, dump)

    def _send(self, child, result, exit_info, dump):
        child.sent = True
        compiled = result.pop("compiled", None) or ()
        if self.use_fork:  # a oneshot subprocess cannot share the zygote's code
            self.to_compile.update(dict.fromkeys(compiled))
        memory = result.get("memory")
        if memory and "rss_delta" in memory:
            memory["rss_delta"] = max(0, int(memory["rss_delta"]) - self.rss_baseline)
        result["exit"] = exit_info
        result["traceback_dump"] = dump if result["outcome"] != "ok" else ""
        result["output"] = child.output_buf.decode("utf-8", "replace")
        result["output_bytes"] = child.output_total
        result["wall_ms"] = (time.perf_counter() - child.started) * 1000.0
        # Where the time went, in ms from the fork: the child's phases (same
        # monotonic clock), then the zygote noticing its exit.
        marks = dict(result.get("phases") or {})
        marks["sent"] = time.monotonic()
        result["phases"] = {k: round((v - child.forked) * 1000.0, 3) for k, v in marks.items()}
        result["pid"] = child.pid
        _write_json(
            self.out_fd, {"event": "result", "id": child.request.get("id"), "result": result}
        )


def _discard(spare):
    pid, request_w, result_r, output_r, tb_path = spare
    for fd in (request_w, result_r, output_r):
        _close_quietly(fd)  # EOF on its request pipe: the spare exits
    _kill_group(pid)
    _remove_quietly(tb_path)


def _split_journal(dump):
    """The side effects a check wrote to its traceback file, and the rest of it."""
    events, rest = [], []
    for line in dump.splitlines(True):
        if line.startswith(_JOURNAL_MARK):
            try:
                events.append(json.loads(line[len(_JOURNAL_MARK) :]))
            except ValueError:  # cut short by the crash
                pass
        else:
            rest.append(line)
    return events, "".join(rest)


def _read_request(fd):
    """One JSON line from ``fd`` (blocking); None at EOF."""
    data = b""
    while b"\n" not in data:
        try:
            chunk = os.read(fd, 1 << 16)
        except InterruptedError:
            continue
        if not chunk:
            return None
        data += chunk
    return json.loads(data.split(b"\n", 1)[0].decode("utf-8"))


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except InterruptedError:
            continue


def _parse_result(buf):
    if not buf.strip():
        return None
    try:
        return json.loads(buf.decode("utf-8"))
    except ValueError:
        return None


def _become_subreaper():
    """Orphaned grandchildren of a check re-parent to us, so we can reap them."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def _child_pids():
    """This process's children (zombies included), from /proc; [] where there is none."""
    pids = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                pids.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            return _child_pids_by_scan()
    return pids


def _child_pids_by_scan():
    """Fallback for kernels without /proc/PID/task/TID/children."""
    me, pids = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == me:
                pids.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _read_available(fd):
    """Bytes ready on a non-blocking fd; b"" when nothing is ready, None at EOF."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return b"".join(chunks)
        except InterruptedError:
            continue
        except OSError as exc:
            if exc.errno == errno.EBADF:
                return None
            raise
        if not chunk:
            return b"".join(chunks) if chunks else None
        chunks.append(chunk)
        if len(chunks) > 64:
            return b"".join(chunks)


def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, InterruptedError):
        pass


def _close_quietly(fd):
    # None: a pipe already closed at EOF, e.g. that of a sibling check that has
    # exited but is not reaped yet when the next check forks.
    if fd is None:
        return
    try:
        os.close(fd)
    except OSError:
        pass


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _oneshot(result_fd, payload):
    """A check in a fresh interpreter, for platforms without ``fork``."""
    data = json.loads(payload)
    for p in reversed(data["paths"]):
        sys.path.insert(0, p)
    state = {"files": frozenset(data["files"]), "paths": data["paths"]}
    tb_file = open(data["tb"], "w")
    run_check(data["request"], state, result_fd, tb_file)


def main(argv):
    # Running by path puts this file's directory first on sys.path, where
    # hotmod's own modules would shadow the project's.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(_HERE):
        del sys.path[0]
    if len(argv) >= 3 and argv[0] == "--oneshot":
        _oneshot(int(argv[1]), argv[2])
        return 0
    in_fd, out_fd = int(argv[0]), int(argv[1])
    use_fork = hasattr(os, "fork") and os.environ.get("HOTMOD_WORKER_NO_FORK", "") == ""
    zygote = Zygote(in_fd, out_fd, use_fork)
    buf = b""
    while b"\n" not in buf:
        chunk = os.read(in_fd, 1 << 16)
        if not chunk:
            return 0
        buf += chunk
    line, zygote.in_buf = buf.split(b"\n", 1)
    zygote.init(json.loads(line.decode("utf-8")))
    zygote.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
