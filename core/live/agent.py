"""The live agent: a thread in the user's program that applies verified changes.

It listens on a Unix socket in the private rendezvous folder
(``rendezvous.py``) for controllers (``hotmod run``, the language server)
that prove they could read its entry (the token).  An ``apply`` names
workspace files and the digests of the contents the checker verified; the
agent re-reads each file, refuses the whole change if one differs, plans it
against the source each loaded module runs (``patch.py``) and applies it, all
or nothing, then tells every connected controller what it did.

What a module runs: the agent records each project module's source as it is
imported (a wrapper around ``SourceFileLoader.get_code``); a module imported
before the agent started is read from disk when the bytecode cache or the
process's start time proves the file unchanged since, and is otherwise not
patched (the outcome says to restart).  Modules are snapshotted and parsed
while the program is idle, so that an apply only parses what changed.

Standard library only, Python 3.8+.  The agent executes no code it receives:
only the project's own files, once verified, and only what changed in them.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.machinery
import importlib.util
import json
import linecache
import os
import secrets
import selectors
import signal
import socket
import sys
import threading
import time
import types
from hashlib import blake2b
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import rendezvous
from .patch import Plan, Refused, Snapshot, plan, running
from .protocol import PROTOCOL_VERSION, AgentInfo, Applied

MAX_LINE = 1 << 20  # a controller's message; longer ones drop the connection
HELLO_TIMEOUT_S = 5.0
SEND_TIMEOUT_S = 5.0
IDLE_S = 0.5  # how often, when nothing else happens, new modules are snapshotted


def digest(data: bytes) -> str:
    """The checker's digest of a file's bytes (worker/child.py)."""
    return blake2b(data, digest_size=16).hexdigest()


class _Imported:
    """The source bytes each project module was imported from, recorded as it is."""

    def __init__(self, inside: Callable[[str], bool]) -> None:
        self.inside = inside
        self.sources: Dict[str, Tuple[bytes, int]] = {}  # path -> (bytes, generation)
        self.generation = 0
        self._original: Optional[Callable[..., Any]] = None

    def install(self) -> None:
        loader = importlib.machinery.SourceFileLoader
        if "get_code" in loader.__dict__:
            return  # someone else's wrapper (or ours): do not stack
        original = loader.get_code
        recorder = self

        def get_code(self: Any, fullname: str) -> Any:
            path = self.path
            if isinstance(path, str) and path.endswith(".py") and recorder.inside(path):
                recorder.record(path)
            return original(self, fullname)

        get_code.__wrapped__ = original  # type: ignore[attr-defined]
        self._original = original
        loader.get_code = get_code  # type: ignore[method-assign]

    def uninstall(self) -> None:
        loader = importlib.machinery.SourceFileLoader
        current = loader.__dict__.get("get_code")
        if self._original is not None and getattr(current, "__wrapped__", None) is self._original:
            del loader.get_code
        self._original = None

    def record(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return
        self.generation += 1
        self.sources[os.path.realpath(path)] = (data, self.generation)


class Agent:
    """Takes verified changes for the project modules of this process."""

    def __init__(
        self, workspace: str, supervisor: Optional[str] = None, rerun: bool = False
    ) -> None:
        self.workspace = os.path.realpath(workspace)
        self.supervisor = supervisor
        self.rerun = rerun
        self.started = time.time()
        self.applied = 0
        self.snapshots: Dict[str, Tuple[Snapshot, int]] = {}  # name -> (snapshot, generation)
        self.uncertain: Dict[str, str] = {}  # module name -> its path: source unknown
        self._third_party = tuple(
            os.path.realpath(p) + os.sep
            for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}
            if not rendezvous.covers(p, self.workspace)
        )
        self._real: Dict[str, Optional[str]] = {}
        self._imported = _Imported(self.inside)
        self._closed = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._listener: Optional[socket.socket] = None
        self._wake: Tuple[socket.socket, socket.socket] = socket.socketpair()
        self._lock = threading.RLock()
        self._clients: Dict[socket.socket, Dict[str, Any]] = {}
        self.name = ""
        self.token = ""
        self.base = ""

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Agent:
        self._imported.install()
        self._open()
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)
        return self

    def _open(self) -> None:
        self.base = rendezvous.folder()
        self.name = rendezvous.new_name("agent")
        self.token = secrets.token_hex(16)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = rendezvous.socket_path(self.name, self.base)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(8)
        self._listener = listener
        entry = dict(self.info(), token=self.token, socket=path, kind="agent")
        rendezvous.publish(self.name, entry, self.base)
        self._thread = threading.Thread(target=self._serve, name="hotmod-live", daemon=True)
        with _signals_blocked():
            self._thread.start()

    def close(self) -> None:
        """Stop taking changes; the entry and socket are removed (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._wake[1].send(b"x")
        except OSError:
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._imported.uninstall()
        if self.name:
            rendezvous.withdraw(self.name, self.base)
        try:
            atexit.unregister(self.close)
        except Exception:
            pass

    def _after_fork(self) -> None:
        """A forked child (a server's worker) is a program of its own: its own agent."""
        if self._closed.is_set():
            return
        try:
            for client in list(self._clients):
                client.close()
            self._clients = {}
            if self._listener is not None:
                self._listener.close()
            self._wake = socket.socketpair()
            self._lock = threading.RLock()
            self.applied = 0
            self.started = time.time()
            self._open()
        except Exception as exc:
            self._closed.set()
            _say("live reload is off in process %d: %s" % (os.getpid(), exc))

    # -- what the program has loaded ----------------------------------------------------
    def inside(self, path: str) -> bool:
        """Whether ``path`` is a project file: below the workspace, not an environment's."""
        real = self._real.get(path)
        if real is None and path not in self._real:
            candidate = os.path.realpath(path)
            ok = rendezvous.covers(self.workspace, candidate) and not any(
                candidate.startswith(p) for p in self._third_party
            )
            parts = candidate.split(os.sep)
            ok = ok and "site-packages" not in parts and "dist-packages" not in parts
            real = self._real[path] = candidate if ok else None
        return real is not None

    def _modules(self) -> Dict[str, Tuple[types.ModuleType, str]]:
        """The project modules loaded now: name -> (module, real path of its source)."""
        found = {}
        for name, module in sys.modules.copy().items():
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and file.endswith(".py") and self.inside(file):
                found[name] = (module, self._real[file] or "")
        return found

    def scan(self) -> Dict[str, Tuple[types.ModuleType, str]]:
        """Snapshot the project modules loaded since the last scan."""
        modules = self._modules()
        with self._lock:
            for name in [n for n in self.snapshots if n not in modules]:
                del self.snapshots[name]
            for name, (module, path) in modules.items():
                known = self.snapshots.get(name)
                recorded = self._imported.sources.get(path)
                generation = recorded[1] if recorded else 0
                if known and known[0].module is module and known[1] == generation:
                    continue
                source: Optional[bytes]
                if recorded is not None:
                    source = recorded[0]
                elif name in self.uncertain:
                    continue
                else:
                    source = _unchanged_since_import(path, module)
                    if source is None:
                        self.uncertain[name] = path
                        continue
                self.uncertain.pop(name, None)
                text = importlib.util.decode_source(source)
                self.snapshots[name] = (Snapshot(module, path, text), generation)
        return modules

    def _prepare_one(self) -> None:
        """Parse one snapshot ahead of time (the program is idle)."""
        with self._lock:
            for snapshot, _ in self.snapshots.values():
                if snapshot._statements is None:
                    try:
                        snapshot.statements  # noqa: B018 - parses and keeps
                    except SyntaxError:
                        pass
                    return

    def info(self) -> AgentInfo:
        with self._lock:
            modules = sorted(self.snapshots) + sorted(self.uncertain)
        return {
            "event": "info",
            "protocol": PROTOCOL_VERSION,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "argv": list(getattr(sys, "orig_argv", sys.argv)),
            "workspace": self.workspace,
            "started": self.started,
            "supervisor": self.supervisor,
            "modules": modules,
            "applied": self.applied,
        }

    # -- applying ----------------------------------------------------------------------
    def apply(self, files: List[Dict[str, Any]], rerun: Optional[bool] = None) -> Applied:
        """Apply these verified files, all or nothing."""
        start = time.perf_counter()
        rerun = self.rerun if rerun is None else rerun
        outcome: Applied = {
            "event": "applied", "id": 0, "pid": os.getpid(), "ok": False, "files": [],
            "summary": "", "changes": [], "refused": [], "stale": [], "running": [],
            "error": "", "ms": 0.0,
        }  # fmt: skip
        with self._lock:
            self.scan()
            try:
                result, touched = self._plan(files, rerun)
            except _NotApplied as exc:
                outcome["error"] = str(exc)
                result, touched = Plan(), []
            outcome["files"] = touched
            outcome["refused"] = result.refused
            if not outcome["error"] and not result.refused:
                outcome["ok"] = self._apply(result, touched, outcome)
            outcome["changes"], outcome["stale"] = result.changes, result.stale
            outcome["summary"] = result.summary()
        outcome["ms"] = round((time.perf_counter() - start) * 1000, 3)
        return outcome

    def _plan(self, files: List[Dict[str, Any]], rerun: bool) -> Tuple[Plan, List[str]]:
        result = Plan()
        loaded = [snapshot.module for snapshot, _ in self.snapshots.values()]
        touched = []
        for file in files:
            path, expected = file.get("path"), file.get("digest")
            if not isinstance(path, str) or not isinstance(expected, str):
                raise _NotApplied("a malformed apply request")
            real = os.path.realpath(path)
            if not self.inside(real):
                raise _NotApplied("%s is not a project file of %s" % (path, self.workspace))
            try:
                with open(real, "rb") as f:
                    data = f.read()
            except OSError as exc:
                raise _NotApplied("cannot read %s: %s" % (path, exc.strerror)) from None
            if digest(data) != expected:
                raise _NotApplied("%s changed after it was checked" % path)
            for name, uncertain in self.uncertain.items():
                if uncertain == real:
                    reason = (
                        "%s was imported before hotmod attached and its file changed since" % name
                    )
                    result.refuse(Refused(real, 1, reason))
            holders = [s for s, _ in self.snapshots.values() if s.path == real]
            if not holders:
                continue  # never imported here: an import will read the new file
            text = importlib.util.decode_source(data)
            for snapshot in holders:
                if getattr(getattr(snapshot.module, "__spec__", None), "_initializing", False):
                    raise _NotApplied("%s is being imported right now" % snapshot.module.__name__)
                plan(snapshot, text, loaded, rerun, into=result)
            touched.append(real)
        return result, touched

    def _apply(self, result: Plan, touched: List[str], outcome: Applied) -> bool:
        # No other thread of the program runs while the steps are applied (they
        # are plain attribute and namespace updates that never block): a
        # request handled meanwhile sees the old code or the new, not a mix.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(60.0)
        try:
            result.apply()
        except Exception as exc:
            outcome["error"] = "applying failed and was undone: %s: %s" % (
                type(exc).__name__,
                exc,
            )
            return False
        finally:
            sys.setswitchinterval(interval)
        for path in touched:
            linecache.checkcache(path)  # tracebacks show the new lines
        outcome["running"] = running(result.replaced)
        if result.changes:
            self.applied += 1
        return True

    # -- the socket --------------------------------------------------------------------
    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        assert self._listener is not None
        selector.register(self._listener, selectors.EVENT_READ, "listener")
        selector.register(self._wake[0], selectors.EVENT_READ, "wake")
        try:
            while not self._closed.is_set():
                events = selector.select(IDLE_S)
                if not events:
                    self._idle()
                for key, _ in events:
                    if key.data == "wake":
                        return
                    if key.data == "listener":
                        self._accept(selector)
                    else:
                        self._read(selector, key.fileobj)  # type: ignore[arg-type]
        except Exception as exc:  # never the program's problem: say it, stop taking changes
            _say("live reload stopped in process %d: %s" % (os.getpid(), exc))
        finally:
            for client in list(self._clients):
                client.close()
            self._clients.clear()
            selector.close()
            if self._listener is not None:
                self._listener.close()

    def _idle(self) -> None:
        try:
            self.scan()
            self._prepare_one()
        except Exception:
            pass  # a module that cannot be read now is tried again later

    def _accept(self, selector: selectors.BaseSelector) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        client.settimeout(SEND_TIMEOUT_S)
        self._clients[client] = {"buffer": b"", "hello": False, "since": time.monotonic()}
        selector.register(client, selectors.EVENT_READ, "client")

    def _drop(self, selector: selectors.BaseSelector, client: socket.socket) -> None:
        self._clients.pop(client, None)
        try:
            selector.unregister(client)
        except (KeyError, ValueError):
            pass
        client.close()

    def _read(self, selector: selectors.BaseSelector, client: socket.socket) -> None:
        state = self._clients.get(client)
        if state is None:
            return
        try:
            data = client.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(selector, client)
            return
        state["buffer"] += data
        while b"\n" in state["buffer"]:
            line, state["buffer"] = state["buffer"].split(b"\n", 1)
            if not self._handle(selector, client, state, line):
                return
        if len(state["buffer"]) > MAX_LINE:
            self._drop(selector, client)

    def _handle(
        self, selector: selectors.BaseSelector, client: socket.socket, state: Any, line: bytes
    ) -> bool:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._drop(selector, client)
            return False
        op = message.get("op")
        if not state["hello"]:
            token = message.get("token")
            if op != "hello" or not isinstance(token, str):
                self._drop(selector, client)
                return False
            if not secrets.compare_digest(token.encode(), self.token.encode()):
                self._drop(selector, client)
                return False
            state["hello"] = True
            state["controller"] = str(message.get("controller", ""))
            self.scan()
            return self._send(selector, client, {"event": "welcome", "info": self.info()})
        if op == "apply":
            files = message.get("files")
            if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
                return self._send(selector, client, {"event": "error", "error": "bad apply"})
            outcome = self.apply(files, bool(message["rerun"]) if "rerun" in message else None)
            request = message.get("id")
            for other in list(self._clients):
                if other is not client and self._clients[other]["hello"]:
                    self._send(selector, other, outcome)
            outcome["id"] = request if isinstance(request, int) else 0
            return self._send(selector, client, outcome)
        if op == "info":
            self.scan()
            return self._send(selector, client, dict(self.info(), id=message.get("id")))
        if op == "bye":
            self._drop(selector, client)
            return False
        return self._send(selector, client, {"event": "error", "error": "unknown op %r" % op})

    def _send(self, selector: selectors.BaseSelector, client: socket.socket, message: Any) -> bool:
        try:
            client.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            self._drop(selector, client)
            return False
        return True


class _NotApplied(Exception):
    """The change was not applied, for a reason other than its content."""


def _unchanged_since_import(path: str, module: types.ModuleType) -> Optional[bytes]:
    """The file's bytes if they are provably what ``module`` was imported from."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        info = os.stat(path)
    except OSError:
        return None
    if info.st_mtime < _process_started():
        return data
    cached = getattr(module, "__cached__", None)
    if not isinstance(cached, str):
        return None
    try:
        with open(cached, "rb") as f:
            header = f.read(16)
    except OSError:
        return None
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return None
    flags = int.from_bytes(header[4:8], "little")
    if flags & 1:  # hash-based pyc (PEP 552)
        return data if header[8:16] == importlib.util.source_hash(data) else None
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    # The pyc is rewritten whenever its source is compiled: matching it, the file
    # is what this process compiled (or what an earlier run compiled, unchanged).
    if mtime == int(info.st_mtime) & 0xFFFFFFFF and size == info.st_size & 0xFFFFFFFF:
        return data
    return None


def _process_started() -> float:
    """When this process started (Linux; 0 elsewhere), rounded down: a file last
    modified before it is what every import of this process read."""
    global _started
    if _started is None:
        try:
            with open("/proc/self/stat") as f:
                ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime
            with open("/proc/stat") as f:
                boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
            _started = boot + ticks / os.sysconf("SC_CLK_TCK") - 1.0
        except (OSError, ValueError, IndexError, StopIteration):
            _started = 0.0
    return _started


_started: Optional[float] = None


def _say(message: str) -> None:
    try:
        sys.stderr.write("hotmod: %s\n" % message)
        sys.stderr.flush()
    except Exception:
        pass


_agent: Optional[Agent] = None
_agent_lock = threading.Lock()


def attach(workspace: str, supervisor: Optional[str] = None, rerun: bool = False) -> Agent:
    """This process takes verified changes to the project at ``workspace`` (once)."""
    global _agent
    with _agent_lock:
        if _agent is not None and not _agent._closed.is_set():
            return _agent
        _agent = Agent(workspace, supervisor, rerun).start()
        return _agent


def detach() -> None:
    global _agent
    with _agent_lock:
        if _agent is not None:
            _agent.close()
            _agent = None


def current() -> Optional[Agent]:
    return _agent


def from_environment() -> Optional[Agent]:
    """``hotmod run``'s way in: the agent its environment asks for, if any."""
    workspace = os.environ.get("HOTMOD_LIVE_WORKSPACE")
    if not workspace:
        return None
    try:
        return attach(
            workspace,
            os.environ.get("HOTMOD_LIVE_SUPERVISOR") or None,
            os.environ.get("HOTMOD_LIVE_RERUN") == "1",
        )
    except Exception as exc:
        _say("live reload is off in process %d: %s" % (os.getpid(), exc))
        return None


# Faults are the thread's own; every other signal is the program's.
_SYNCHRONOUS = {
    getattr(signal, name)
    for name in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL")
    if hasattr(signal, name)
}


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Threads started here inherit a mask without the program's signals.

    The kernel delivers a process's signal to any thread that does not block
    it: a Ctrl-C taken by the agent's thread leaves a REPL's main thread in its
    read until Enter is pressed, and the line typed is lost to the interrupt.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.valid_signals()) - _SYNCHRONOUS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
