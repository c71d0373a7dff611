"""Side effects at import: a PEP 578 audit hook in the check child.

Records (and in "block" mode refuses) network access, new processes and file
changes outside the temp dir while the module is imported.  Audit hooks cannot
be removed, so the hook stays installed and is switched on only around the
user's import: hotmod's own harness is never recorded.  Not a sandbox: C
extensions and ctypes can do all of this without an event.

Each event is also written to the check's diagnostics pipe as it happens (a
*journal* line), so that a crash or a hang that leaves no report still
reports what happened before.

The same hook notes what the verdict depends on besides the project's
sources (for the engine's verdict cache): the files read and the folders
listed below the workspace by the module's code (data files, plugin folders;
the import system's own listings are not the module's: what it looked for and
did not find is noted by the check's finder instead).
"""

from __future__ import annotations

from _thread import get_ident
from os import O_APPEND, O_CREAT, O_RDWR, O_TRUNC, O_WRONLY, fsdecode, fspath, write
from os.path import realpath
from sys import _getframe, addaudithook
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from .protocol import SideEffect
from .safe import private_builtins
from .wire import decode, encode

private_builtins(globals())

# audit event -> what kind of side effect it is; file changes are reported
# only outside the temp dir.
AUDITED = {
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
JOURNAL_MARK = "hotmod side effect: "  # a line of the diagnostics pipe
MAX_SIDE_EFFECTS = 50
_NOTED = frozenset({"open", "os.listdir", "os.scandir"})
_WRITE_FLAGS = O_WRONLY | O_RDWR | O_CREAT | O_APPEND | O_TRUNC
_VERBS = {
    "os.remove": "deletes",
    "os.rename": "renames",
    "os.rmdir": "removes the directory",
    "shutil.rmtree": "deletes the tree",
}


class SideEffectAudit:
    def __init__(
        self,
        mode: str,
        project_files: FrozenSet[str],
        journal_fd: int,
        tempdir: Optional[str],
        skip_files: Tuple[str, ...],
        watched: Tuple[str, ...] = (),
    ) -> None:
        self.mode = mode
        self.watched = watched  # folders whose reads and listings are noted
        self.reads: Set[str] = set()
        self.listed: Set[str] = set()
        self.project_files = project_files
        self.journal_fd = journal_fd
        self.tempdir = tempdir
        self.skip_files = skip_files  # hotmod's own files: never the responsible line
        self.active = False
        self.events: List[SideEffect] = []
        self.busy: Set[int] = set()  # threads inside the hook: events raised by the hook itself
        self.known_files: Dict[str, Optional[str]] = {}  # co_filename -> project path or None

    def __call__(self, event: str, args: Tuple[Any, ...]) -> None:
        if not self.active:
            return
        if event in _NOTED and self.watched:
            self._note(event, args)
        if self.mode == "off" or event not in AUDITED:
            return
        me = get_ident()
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

    def _describe(self, event: str, args: Tuple[Any, ...]) -> Optional[str]:
        """What the event does, in words (None: not a side effect worth reporting)."""
        kind = AUDITED[event]
        if kind == "network":
            return "accesses the network (%s %s)" % (event, _short(args[0] if args else ""))
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
            return "starts a process (%s %s)" % (event, _short(target))
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
                _short(_text_path(path)),
                mode if isinstance(mode, str) else flags,
            )
        path = args[0] if args else None
        if path is None or isinstance(path, int) or not self._outside_temp(path):
            return None
        return "%s %s (%s)" % (_VERBS[event], _short(_text_path(path)), event)

    def _note(self, event: str, args: Tuple[Any, ...]) -> None:
        """A read or a listing below the workspace: what the verdict depends on."""
        try:
            path = args[0] if args else None
            if path is None or isinstance(path, int):
                return
            text = _text_path(path)
            if not text.startswith(self.watched) or len(self.reads) + len(self.listed) > 500:
                return
            if event != "open":
                # Frames: this method, the hook, then whoever listed the folder.
                if not _getframe(2).f_code.co_filename.startswith("<frozen importlib"):
                    self.listed.add(text.rstrip("/") or "/")
                return
            mode, flags = args[1], args[2] if len(args) > 2 else 0
            writes = (
                any(c in mode for c in "wax+")
                if isinstance(mode, str)
                else bool((flags or 0) & _WRITE_FLAGS)
            )
            if not writes and text not in self.project_files and not text.endswith(".pyc"):
                self.reads.add(text)
        except Exception:  # never break the import
            return

    def _outside_temp(self, path: Any) -> bool:
        try:
            real = realpath(_text_path(path))
        except Exception:
            return True
        if real == "/dev/null":
            return False
        return not (self.tempdir and (real + "/").startswith(self.tempdir + "/"))

    def _record(self, event: str, what: str, blocked: bool) -> None:
        if len(self.events) >= MAX_SIDE_EFFECTS:
            return
        file, line = self._responsible_line()
        kind = AUDITED[event]
        for seen in self.events:
            # subprocess.Popen also raises os.posix_spawn/os.fork: one line, one report.
            if seen.get("file") == file and seen.get("line") == line and seen.get("kind") == kind:
                return
        record: SideEffect = {
            "event": event,
            "kind": kind,
            "what": what,
            "file": file,
            "line": line,
            "blocked": blocked,
        }
        self.events.append(record)
        try:
            write(self.journal_fd, (JOURNAL_MARK + encode(record) + "\n").encode("utf-8"))
        except Exception:  # the module closed the pipe: the report still has the events
            pass

    def _responsible_line(self) -> Tuple[Optional[str], Optional[int]]:
        """The innermost frame in a project file: that module's check reports it."""
        frame: Any = _getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            path = self.known_files.get(name, "")
            if path == "":
                path = name if name in self.project_files else None
                if path in self.skip_files:
                    path = None
                self.known_files[name] = path
            if path is not None:
                return path, frame.f_lineno
            frame = frame.f_back
        return None, None


def _text_path(path: Any) -> str:
    try:
        path = fspath(path)
    except TypeError:
        return str(path)
    return fsdecode(path) if isinstance(path, bytes) else path


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def start(
    mode: str,
    project_files: FrozenSet[str],
    journal_fd: int,
    tempdir: Optional[str],
    skip_files: Tuple[str, ...],
    watched: Tuple[str, ...],
) -> SideEffectAudit:
    """Install the audit hook for this check ("off": it only notes reads and listings)."""
    audit = SideEffectAudit(mode, project_files, journal_fd, tempdir, skip_files, watched)
    addaudithook(audit)
    audit.active = True
    return audit


def split_journal(dump: str) -> Tuple[List[Any], str]:
    """The zygote's side: side effects journaled to the diagnostics pipe, and the rest."""
    events, rest = [], []
    for line in dump.splitlines(True):
        if line.startswith(JOURNAL_MARK):
            try:
                events.append(decode(line[len(JOURNAL_MARK) :]))
            except ValueError:  # cut short by the crash
                pass
        else:
            rest.append(line)
    return events, "".join(rest)
