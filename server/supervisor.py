"""``hotmod run``'s supervisor: runs the program with the live agent, restarts it on request.

The program is a child in the same terminal and process group (a REPL run
under ``hotmod run`` reads the keyboard as it would alone), its environment
loading hotmod.live's agent first (``boot/sitecustomize.py``).  Like
``time``, the supervisor lets Ctrl-C reach the program and ignores it itself;
SIGTERM and SIGHUP it passes on.  It publishes a ``supervisor`` entry in the
rendezvous folder whose socket takes ``restart`` (``hotmod.live.protocol``):
the program and the processes it started are stopped (SIGTERM, SIGKILL after
``STOP_TIMEOUT_S``) and it is started again; once the new one runs the
answer is one line, ``{"restarted": PID}`` or ``{"error": "why"}``.  The
agents' entries name the supervisor by this socket's path (the ``supervisor``
field of ``hotmod.live.protocol.Info``).  Whatever it leaves
in the rendezvous folder is removed when the program exits or restarts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
from hotmod.core.untrusted import validated
from hotmod.live import rendezvous
from hotmod.live.protocol import Restart

STOP_TIMEOUT_S = 5.0  # SIGTERM, then SIGKILL
REQUEST_TIMEOUT_S = 5.0  # to send the one request line
BOOT = Path(rendezvous.__file__).parent / "boot"
FORWARDED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
# What a shell answers for a command it cannot run (`time` and `env` do the same).
EXIT_CANNOT_RUN, EXIT_NOT_FOUND = 126, 127

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def program_environment(
    environ: Mapping[str, str], workspace: Path, supervisor: str, rerun: bool
) -> dict[str, str]:
    """The program's environment: its Python processes start with an agent for
    ``workspace`` (``hotmod.live.agent.from_environment``) that ``supervisor``
    controls."""
    env = dict(environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BOOT), environ.get("PYTHONPATH")) if p)
    env["HOTMOD_LIVE_WORKSPACE"] = str(workspace)
    env["HOTMOD_LIVE_SUPERVISOR"] = supervisor
    if rerun:
        env["HOTMOD_LIVE_RERUN"] = "1"
    else:
        env.pop("HOTMOD_LIVE_RERUN", None)
    return env


def exit_status(returncode: int) -> int:
    """The shell's convention: 128 + N for a program killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def ended(command: str, returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"{command} was killed by {name}"
    return f"{command} exited" + (f" with status {returncode}" if returncode else "")


class _Request:
    """A ``restart`` asked for on the socket, and what to answer."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: dict[str, Any] = {}

    def answer(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.done.set()


class Supervisor:
    """Runs ``command`` until it exits; restarts it when asked through its socket."""

    def __init__(
        self,
        command: Sequence[str],
        workspace: Path,
        say: Callable[[str], None],
        *,
        rerun: bool = False,
    ) -> None:
        """Raises ``rendezvous.LiveError`` when the rendezvous folder cannot be used."""
        self.command = list(command)
        self.workspace = workspace
        self.say = say
        self.base = rendezvous.folder()
        self.name = rendezvous.new_name("supervisor")
        self.socket = rendezvous.socket_path(self.name, self.base)
        self.env = program_environment(os.environ, workspace, self.socket, rerun)
        self._child: subprocess.Popen[bytes] | None = None
        self._wake = threading.Event()
        self._requests: list[_Request] = []
        self._requests_lock = threading.Lock()
        self._stopping = False
        self._listener: socket.socket | None = None

    @property
    def shown(self) -> str:
        return " ".join(self.command)

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    # -- running -----------------------------------------------------------------------
    def run(self) -> int:
        """Run the program (restarting it on request) until it exits; its exit status.

        Raises ``rendezvous.LiveError`` when the socket cannot be opened.
        """
        self._open()
        previous = self._handle_signals()
        try:
            try:
                self._start()
            except OSError as exc:  # found on PATH, yet not runnable
                self.say(f"error: {self.command[0]}: {exc.strerror or exc}")
                return EXIT_CANNOT_RUN if isinstance(exc, PermissionError) else EXIT_NOT_FOUND
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._take_requests():
                    continue
                assert self._child is not None
                code = self._child.poll()
                if code is not None:
                    break
            self.say(ended(self.shown, code))
            return exit_status(code)
        finally:
            self._close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _start(self) -> None:
        child = subprocess.Popen(self.command, env=self.env)
        self._child = child
        self._publish()

        def wait() -> None:
            child.wait()
            self._wake.set()

        threading.Thread(target=wait, name="hotmod-run-wait", daemon=True).start()

    def _take_requests(self) -> bool:
        """Restart if asked to; whether a restart was asked for."""
        with self._requests_lock:
            requests, self._requests = self._requests, []
        if not requests:
            return False
        answer: dict[str, Any] = {"error": f"{self.shown} is exiting"}
        try:
            if not self._stopping:
                answer = self._restart()
        finally:
            for request in requests:
                request.answer(answer)
        return True

    def _restart(self) -> dict[str, Any]:
        assert self._child is not None
        old = self._child.pid
        self._stop()
        self.withdraw_agents()
        try:
            self._start()
        except OSError as exc:  # the command was removed meanwhile, say
            why = f"cannot restart {self.shown}: {exc.strerror or exc}"
            self.say(why)
            self._stopping = True
            self._wake.set()
            return {"error": why}
        self.say(f"restarted {self.shown} (pid {old} → {self.pid})")
        return {"restarted": self.pid}

    def _stop(self) -> None:
        """Stop the program, the processes it started included (a restart would
        find their ports taken)."""
        child = self._child
        if child is None or child.poll() is not None:
            return
        try:
            family = psutil.Process(child.pid).children(recursive=True)
        except psutil.Error:
            family = []
        deadline = time.monotonic() + STOP_TIMEOUT_S
        child.terminate()
        for process in family:
            with contextlib.suppress(psutil.Error):
                process.terminate()
        try:
            child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        _, left = psutil.wait_procs(family, timeout=max(0.0, deadline - time.monotonic()))
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()

    # -- signals -----------------------------------------------------------------------
    def _handle_signals(self) -> dict[signal.Signals, _Handler]:
        def forward(signum: int, frame: FrameType | None) -> None:
            self._stopping = True
            if self._child is not None and self._child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self._child.send_signal(signum)

        def ignore(signum: int, frame: FrameType | None) -> None:
            """Ctrl-C is for the program (it gets it from the terminal too).  A
            handler, not SIG_IGN: the program would inherit an ignored signal."""

        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, *FORWARDED)}
        signal.signal(signal.SIGINT, ignore)
        for sig in FORWARDED:
            signal.signal(sig, forward)
        return previous

    # -- the socket --------------------------------------------------------------------
    def _open(self) -> None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = self.socket
        try:
            listener.bind(path)
            os.chmod(path, 0o600)
            listener.listen(8)
        except OSError as exc:  # e.g. a path too long for a Unix socket
            listener.close()
            raise rendezvous.LiveError(f"cannot listen on {path}: {exc.strerror or exc}") from None
        self._listener = listener
        self._publish()
        threading.Thread(target=self._serve, name="hotmod-run-socket", daemon=True).start()

    def _publish(self) -> None:
        entry = {
            "kind": "supervisor",
            "pid": os.getpid(),
            "socket": self.socket,
            "workspace": str(self.workspace),
            "argv": self.command,
            "program": self.pid,
        }
        rendezvous.publish(self.name, entry, self.base)

    def _serve(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _answer(self, client: socket.socket) -> None:
        with client:
            client.settimeout(REQUEST_TIMEOUT_S)
            try:
                with client.makefile("rb") as reader:
                    line = reader.readline(1 << 16)
            except OSError:
                return
            try:
                message = json.loads(line)
            except ValueError:
                return
            if validated(Restart, message) is None:
                return
            request = _Request()
            with self._requests_lock:
                self._requests.append(request)
            self._wake.set()
            # Answered once the program runs again (or the supervisor is exiting).
            if request.done.wait(STOP_TIMEOUT_S * 2 + 30):
                with contextlib.suppress(OSError):
                    client.sendall(json.dumps(request.reply).encode() + b"\n")

    # -- leaving nothing behind ----------------------------------------------------------
    def withdraw_agents(self) -> None:
        """Remove the entries of the agents this supervisor's programs started."""
        for entry in rendezvous.entries("agent", self.base):
            if entry.get("supervisor") == self.socket:
                rendezvous.withdraw(entry["name"], self.base)

    def _close(self) -> None:
        self._stopping = True
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept()
            self._listener.close()
        with self._requests_lock:
            requests, self._requests = self._requests, []
        for request in requests:
            request.answer({"error": f"{self.shown} has exited"})
        self.withdraw_agents()
        rendezvous.withdraw(self.name, self.base)
