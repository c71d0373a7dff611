"""Processes a check leaves behind: process groups, reaping, killing.

Each check child joins a process group of its own, so that everything it
forks is killed with it.  The child must not *lead* that group, though: a
group leader cannot call ``os.setsid()`` (EPERM), which a fresh
``python -c "import m"`` started by a program may.  So every group is led by
an *anchor*, a tiny process that only waits; the check child joins the
anchor's group.  Anchors are forked by a *factory*, a fresh interpreter of
its own (anchor_factory.py): a fork of the warm zygote, or of a stem, costs
milliseconds, a fork of the factory a fraction of one.

A check that leaves its group (``setsid``, ``setpgrp``) is killed by its own
group id as well, and on Linux the zygote is a child subreaper: whatever a
check leaves behind is re-parented to the zygote when its parent dies, and
killed as a stray.
"""

from __future__ import annotations

from os import (
    close,
    closerange,
    execv,
    fork,
    getpgid,
    getpid,
    kill,
    killpg,
    listdir,
    pipe,
    read,
    set_inheritable,
)
from select import select
from signal import SIG_DFL, SIGCHLD, SIGKILL
from signal import signal as set_signal
from sys import executable, platform
from typing import List, Optional

from . import anchor_factory
from .safe import private_builtins
from .wire import write_all

private_builtins(globals())

# Anchors kept coming ahead of a burst of checks (one per check).
AHEAD = 3
# Bound now, before user code runs (see safe.py): the script and its fallback.
FACTORY = anchor_factory.__file__
serve_anchors = anchor_factory.serve


class Anchors:
    """Process groups for checks, each led by an anchor process (see the module doc)."""

    def __init__(self) -> None:
        self.pool: List[int] = []
        self.pid: Optional[int] = None
        request_r, request_w = pipe()
        reply_r, reply_w = pipe()
        pid = fork()
        if pid == 0:  # pragma: no cover - becomes the factory
            # Nothing of this process's but the two pipes (whoever waits for the
            # end of another pipe must not wait for the factory too).
            low, high = sorted((request_r, reply_w))
            closerange(3, low)
            closerange(low + 1, high)
            closerange(high + 1, 1 << 16)
            try:
                set_inheritable(request_r, True)
                set_inheritable(reply_w, True)
                execv(executable, [executable, "-I", "-S", FACTORY, str(request_r), str(reply_w)])
            except (OSError, ValueError):  # no interpreter to start: serve from this fork
                set_signal(SIGCHLD, SIG_DFL)
                serve_anchors(request_r, reply_w)
        close(request_r)
        close(reply_w)
        self.pid, self.request, self.reply = pid, request_w, reply_r
        self._asked = 0  # anchors asked for and not received yet
        self._buffer = b""

    def fds(self) -> List[int]:
        """What a check child must close (it never talks to the factory)."""
        return [self.request, self.reply]

    def take(self) -> Optional[int]:
        """An anchor's process group id; None if the factory is gone.

        Replacements are asked for at once and collected at the next take: on a
        busy machine the factory's answer waits for the scheduler (2.5 ms median
        in a burst of checks), which must not be on a check's way to its fork.
        """
        self._collect(0)
        if not self.pool:
            self._send(1 - self._asked)
            self._collect(1)
        if not self.pool:
            return None
        anchor = self.pool.pop()
        self._send(AHEAD - len(self.pool) - self._asked)
        return anchor

    def fill(self, count: int) -> None:
        """Keep ``count`` anchors ready (while idle: off the checks' critical path)."""
        self._send(count - len(self.pool) - self._asked)
        self._collect(count)

    def _send(self, count: int) -> None:
        if count <= 0 or self.pid is None:
            return
        try:
            write_all(self.request, b"a" * count)
            self._asked += count
        except OSError:
            self.pid = None  # checks lead their own groups from now on

    def _collect(self, until: int) -> None:
        """Take the anchors the factory has sent; wait until ``until`` are pooled."""
        while self._asked and self.pid is not None:
            waiting = len(self.pool) < until
            if not select([self.reply], [], [], None if waiting else 0)[0]:
                return
            try:
                chunk = read(self.reply, 4096)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.pid = None  # the factory exited
                return
            self._buffer += chunk
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                self._asked -= 1
                try:
                    self.pool.append(int(line))
                except ValueError:
                    pass

    def close(self) -> None:
        for anchor in self.pool:
            kill_group(anchor)
        self.pool = []
        _close(self.request)  # EOF: the factory exits, its anchors with it
        _close(self.reply)


def become_subreaper() -> None:
    """Orphaned grandchildren of a check re-parent to us, so we can reap them."""
    if not platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def child_pids() -> List[int]:
    """This process's children (zombies included), from /proc; [] where there is none."""
    pids: List[int] = []
    try:
        tasks = listdir("/proc/self/task")
    except OSError:
        return pids
    for tid in tasks:
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                pids.extend(int(p) for p in f.read().split())
        except (OSError, ValueError):
            return _child_pids_by_scan()
    return pids


def _child_pids_by_scan() -> List[int]:
    """Fallback for kernels without /proc/PID/task/TID/children."""
    me, pids = getpid(), []
    for entry in listdir("/proc"):
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


def pgid_of(pid: int) -> Optional[int]:
    try:
        return getpgid(pid)
    except OSError:
        return None


def kill_group(pgid: int) -> None:
    try:
        killpg(pgid, SIGKILL)
    except OSError:
        pass


def kill_pid(pid: int) -> None:
    try:
        kill(pid, SIGKILL)
    except OSError:
        pass


def _close(fd: Optional[int]) -> None:
    if fd is None:
        return
    try:
        close(fd)
    except OSError:
        pass


close_quietly = _close
