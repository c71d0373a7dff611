"""A check's child process seen from the zygote: created, watched, turned into a result.

Each child has three pipes and a result slot (slot.py): the *wake* pipe, whose
end of file tells the zygote the report is complete (or that the module closed
it); the *output* pipe, the module's stdout and stderr; the *diag* pipe, where
faulthandler dumps a crashing or hanging child's stack and the audit hook
journals side effects.  Nothing a child sends is trusted: its report is parsed
as data, and a child that dies or hangs is itself the verdict.
"""

from __future__ import annotations

import signal
import sys
from os import _exit, close, dup2, pipe, read
from time import monotonic, perf_counter
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, cast

from . import launch
from .audit import split_journal
from .child import Prepared, run_check
from .procs import close_quietly, kill_group, kill_pid
from .protocol import CheckRequest, CheckResult, ExitInfo
from .safe import private_builtins
from .slot import SharedSlot, best_of_lines
from .wire import LineReader, decode, encode

if TYPE_CHECKING:
    from .zygote import Zygote

private_builtins(globals())

try:
    from os import WEXITSTATUS, WIFEXITED, WIFSIGNALED, WTERMSIG, fork, set_blocking, setpgid
except ImportError:  # pragma: no cover - Windows: a oneshot subprocess per check
    pass

# A child that faulthandler could not end at its deadline is killed this much later.
KILL_GRACE_S = 2.0
REPORT_LIMIT = 32 * 1024 * 1024  # bytes of a oneshot's report read at most
DUMP_LIMIT = 65536  # bytes of faulthandler dump and side-effect journal kept
# A pipe that reached EOF this long before its child ended was closed by the
# module; an exiting process closes them all at once.
CLOSED_EARLY_S = 0.05


class Pipes:
    """The zygote's ends of one child's pipes, and its result slot."""

    def __init__(self, wake: int, output: int, diag: int, slot: Optional[SharedSlot]) -> None:
        self.wake: Optional[int] = wake  # EOF: the report is complete (or the module closed it)
        self.output: Optional[int] = output  # the module's stdout and stderr
        self.diag: Optional[int] = diag  # faulthandler's dumps and the side-effect journal
        self.slot = slot  # None for a oneshot: its report comes on the wake pipe
        for fd in (wake, output, diag):
            set_blocking(fd, False)

    def fds(self) -> List[int]:
        return [fd for fd in (self.wake, self.output, self.diag) if fd is not None]

    def close(self) -> None:
        for fd in (self.wake, self.output, self.diag):
            close_quietly(fd)
        self.wake = self.output = self.diag = None
        if self.slot is not None:
            self.slot.close()


class Spare:
    """A child forked while idle, set up, waiting for its request."""

    def __init__(self, pid: int, request_w: int, pipes: Pipes, anchor: Optional[int]) -> None:
        self.pid = pid
        self.request_w = request_w
        self.pipes = pipes
        self.anchor = anchor

    def discard(self) -> None:
        close_quietly(self.request_w)  # EOF on its request pipe: the spare exits
        self.pipes.close()
        kill_group(self.anchor if self.anchor is not None else self.pid)
        kill_pid(self.pid)


class Running:
    """A check (or a stem's import, see stems.py) in a child process."""

    def __init__(
        self, request: CheckRequest, pid: int, pipes: Pipes, anchor: Optional[int], handed: float
    ) -> None:
        self.request = request
        self.pid = pid
        self.pipes = pipes
        self.anchor = anchor
        self.handed = handed  # monotonic: when the child got (or was forked with) the request
        self.started = perf_counter()
        timeout = float(request.get("timeout_s") or 0)
        self.timeout_at = handed + timeout if timeout > 0 else None
        # faulthandler ends the child at timeout_at; this covers a child too
        # wedged even for that.
        self.deadline = handed + timeout + KILL_GRACE_S if timeout > 0 else float("inf")
        self.report = bytearray()  # a oneshot's report pipe
        self.output = bytearray()
        self.output_total = 0
        self.dump = bytearray()
        self.diag_closed_at: Optional[float] = None
        self.status: Optional[int] = None
        self.killed_for_timeout = False
        self.module_closed_diag = False
        self.sent = False

    # -- what comes on its pipes --------------------------------------------------------
    def take(self, fd: int, output_limit: int) -> bool:
        """Read what ``fd`` (one of this child's) has; True when the wake pipe ended."""
        return self._feed(fd, read_available(fd), output_limit)

    def drain(self, output_limit: int) -> None:
        """Everything its pipes still hold (it has exited, or its report is complete)."""
        for fd in self.pipes.fds():
            chunk = read_available(fd)
            while chunk:
                self._feed(fd, chunk, output_limit)
                chunk = read_available(fd)
            if chunk is None:
                self._feed(fd, None, output_limit)

    def _feed(self, fd: int, chunk: Optional[bytes], output_limit: int) -> bool:
        pipes = self.pipes
        if fd == pipes.output:
            if chunk is None:
                close_quietly(fd)
                pipes.output = None
            else:
                self.keep_output(chunk, output_limit)
        elif fd == pipes.diag:
            if chunk is None:
                close_quietly(fd)
                pipes.diag = None
                self.diag_closed_at = monotonic()
            else:
                self.dump += chunk[: max(DUMP_LIMIT - len(self.dump), 0)]
        elif chunk is None:
            close_quietly(fd)
            pipes.wake = None
            return True
        else:  # a oneshot writes its report on that pipe
            self.report += chunk[: max(REPORT_LIMIT - len(self.report), 0)]
        return False

    def keep_output(self, chunk: bytes, limit: int) -> None:
        self.output_total += len(chunk)
        room = limit - len(self.output)
        if room > 0:
            self.output += chunk[:room]

    def read_report(self) -> Tuple[Optional[Dict[str, Any]], bool]:
        """Its report, parsed (or None), and whether it is the full one."""
        slot = self.pipes.slot
        payload, full = slot.read() if slot is not None else best_of_lines(bytes(self.report))
        return parse(payload), full

    def exit_info(self) -> ExitInfo:
        status = self.status or 0
        info: ExitInfo = {"code": None, "signal": None}
        if WIFEXITED(status):
            info["code"] = WEXITSTATUS(status)
        elif WIFSIGNALED(status):
            info["signal"] = WTERMSIG(status)
        return info

    def verdict_without_report(self) -> Dict[str, Any]:
        """A child that ended without a report: it crashed, or it ran out of time."""
        _, dump = split_journal(bytes(self.dump).decode("utf-8", "replace"))
        timed_out = (
            self.killed_for_timeout
            or dump.startswith("Timeout")
            or (
                self.timeout_at is not None
                and monotonic() >= self.timeout_at
                and self.exit_info()["code"] == 1
            )
        )
        report: Dict[str, Any] = {
            "module": self.request["module"],
            "outcome": "timeout" if timed_out else "crash",
        }
        # The dump pipe closed well before the child ended: the module closed it.
        closed_early = self.module_closed_diag or (
            self.diag_closed_at is not None and monotonic() - self.diag_closed_at > CLOSED_EARLY_S
        )
        if closed_early and not dump.strip():
            report["harness"] = (
                "the module closed the pipe hotmod's traceback dump is written to, "
                "so the line it was running is unknown"
            )
        return report

    def result(self, report: Dict[str, Any], exit_info: ExitInfo) -> CheckResult:
        """The event's result: the child's report (as data) with what the zygote saw."""
        result = cast(CheckResult, report)
        result["module"] = self.request["module"]  # the child's word is not needed for that
        if result.get("outcome") not in ("ok", "error", "memory-limit", "timeout", "crash"):
            result["outcome"] = "crash"
        if "hard_exit" in result:
            result["outcome"] = "crash"
        side_effects, dump = split_journal(bytes(self.dump).decode("utf-8", "replace"))
        if "side_effects" not in result and side_effects:
            result["side_effects"] = side_effects
        result["exit"] = exit_info
        result["traceback_dump"] = dump if result["outcome"] != "ok" else ""
        result["output"] = bytes(self.output).decode("utf-8", "replace")
        result["output_bytes"] = self.output_total
        result["wall_ms"] = (perf_counter() - self.started) * 1000.0
        # Where the time went, in ms from the hand-over: the child's phases
        # (same monotonic clock), then the zygote noticing its report.
        marks = result.get("phases")
        marks = dict(marks) if isinstance(marks, dict) else {}
        marks["sent"] = monotonic()
        result["phases"] = {
            str(k): round((v - self.handed) * 1000.0, 3)
            for k, v in marks.items()
            if isinstance(v, float)
        }
        result["pid"] = self.pid
        return result


# -- creating children ------------------------------------------------------------------


def fork_child(
    zygote: Zygote,
    request: Optional[CheckRequest],
    request_fd: Optional[int],
    become: Optional[Callable[..., None]],
    close_in_child: Tuple[int, ...],
) -> Tuple[int, Pipes, Optional[int]]:
    """Fork a check child (or a spare, without a request; or a stem, with ``become``).

    ``close_in_child``: the zygote's ends of pipes made for this child.  Returns
    its pid, the zygote's ends of its pipes and its process group's anchor.
    """
    anchor = zygote.anchors.take() if zygote.anchors is not None else None
    wake_r, wake_w = pipe()
    output_r, output_w = pipe()
    diag_r, diag_w = pipe()
    slot = SharedSlot()
    pid = fork()
    if pid == 0:  # pragma: no cover - runs in the child
        _child_main(zygote, request, request_fd, slot, anchor, (wake_w, output_w, diag_w),
                    (wake_r, output_r, diag_r, *close_in_child), become)  # fmt: skip
    if anchor is not None:
        try:
            setpgid(pid, anchor)  # as the child does: whichever runs first
        except OSError:
            pass
    for fd in (wake_w, output_w, diag_w):
        close(fd)
    return pid, Pipes(wake_r, output_r, diag_r, slot), anchor


def _child_main(
    zygote: Zygote,
    request: Optional[CheckRequest],
    request_fd: Optional[int],
    slot: SharedSlot,
    anchor: Optional[int],
    ends: Tuple[int, int, int],
    parent_ends: Tuple[int, ...],
    become: Optional[Callable[..., None]],
) -> None:  # pragma: no cover - runs in the child
    wake_w, output_w, diag_w = ends
    try:
        try:
            setpgid(0, anchor if anchor is not None else 0)
        except OSError:
            setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for sig, disposition in zygote.dispositions.items():
            try:
                signal.signal(sig, disposition)
            except (OSError, ValueError, TypeError):
                pass
        zygote.close_in_child(parent_ends)
        dup2(output_w, 1)
        dup2(output_w, 2)
        close(output_w)
        prepared = Prepared(zygote.project, slot, diag_w)
        if request is None and request_fd is not None:  # a spare: wait for the check
            request = LineReader(request_fd).read_one()
            close_quietly(request_fd)
            if not isinstance(request, dict):  # discarded: not a hard exit of user code
                prepared.real_exit(0)
        phases = {"child": monotonic()}
        if become is not None:  # a stem: never returns
            become(zygote, cast(CheckRequest, request), prepared, wake_w, phases)
        run_check(cast(CheckRequest, request), zygote.project, prepared, wake_w, phases)
    except BaseException:
        # hotmod's own failure (not the user's: run_check catches that):
        # leave a trace in the captured output.
        try:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:
            pass
    _exit(71)


def spawn_subprocess(zygote: Zygote, request: CheckRequest) -> Tuple[int, Pipes, None]:
    """A check in a fresh interpreter, where there is no fork (see zygote.oneshot)."""
    import subprocess

    result_r, result_w = pipe()
    output_r, output_w = pipe()
    diag_r, diag_w = pipe()
    payload = encode(
        {
            "request": request,
            "paths": zygote.project.paths,
            "files": sorted(zygote.project.files),
            "tempdir": zygote.project.tempdir,
        }
    )
    proc = subprocess.Popen(
        launch.command(sys.executable, "--oneshot", str(result_w), str(diag_w), payload),
        stdin=subprocess.DEVNULL,
        stdout=output_w,
        stderr=output_w,
        pass_fds=(result_w, diag_w),
        start_new_session=True,
    )
    for fd in (result_w, output_w, diag_w):
        close(fd)
    zygote.subprocesses[proc.pid] = proc
    return proc.pid, Pipes(result_r, output_r, diag_r, None), None


# -- helpers ------------------------------------------------------------------------------


def parse(payload: Optional[bytes]) -> Optional[Dict[str, Any]]:
    if not payload:
        return None
    try:
        data = decode(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def read_available(fd: int) -> Optional[bytes]:
    """Bytes ready on a non-blocking fd; b"" when nothing is ready, None at EOF."""
    chunks: List[bytes] = []
    while True:
        try:
            chunk = read(fd, 1 << 16)
        except BlockingIOError:
            return b"".join(chunks)
        except InterruptedError:
            continue
        except OSError:
            return None
        if not chunk:
            return b"".join(chunks) if chunks else None
        chunks.append(chunk)
        if len(chunks) > 64:
            return b"".join(chunks)
