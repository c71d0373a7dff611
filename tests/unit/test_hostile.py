"""Hostile modules: whatever a module does at import, the engine answers, at the right
line, leaks no process and keeps its warm worker.

Each case is one module.  After its check the worker (the zygote) must have
no descendants left (but its idle spare child), still be the same process,
and check the next module.
"""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hotmod.core import Code, Engine, ModuleResult, Severity
from hotmod.core.worker_client import Worker, WorkerError

from ..conftest import Workspace
from ..processes import gone, wait_for_no_leftovers
from .helpers import by_name, line_of


@dataclass(frozen=True)
class Hostile:
    name: str
    source: str
    code: Code | None  # None: the module imports fine
    line: str = ""  # text of the line the diagnostic must point at
    message: str = ""  # part of the diagnostic's message
    settings: dict[str, Any] = field(default_factory=dict)
    pid_files: int = 0  # processes the module forks write their pids to pid0, pid1...


QUICK_TIMEOUT = {"import_timeout_s": 0.5}
# Busy loops are written on one line: `while True:` + `pass` on two lines
# compiles to a loop over both lines, and which one a timeout's traceback
# names depends on the instruction the interrupt lands on.

# Forked processes note their pids; the module waits for the notes, so that
# the test knows exactly which processes must be gone after the check.
PID_NOTES = """\
import os
import time

NOTES = os.environ["HOTMOD_TEST_PIDS"]


def note_pid(index):
    final = os.path.join(NOTES, "pid%d" % index)
    with open(final + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(final + ".tmp", final)


def wait_for_notes(count):
    while len([n for n in os.listdir(NOTES) if not n.endswith(".tmp")]) < count:
        time.sleep(0.01)
"""

FORK_AND_STAY = (
    PID_NOTES
    + """
if os.fork() == 0:
    note_pid(0)
    time.sleep(300)
    os._exit(0)
wait_for_notes(1)
X = 1
"""
)

ESCAPE_THE_GROUP = (
    PID_NOTES
    + """
import signal

if os.fork() == 0:
    os.setsid()  # leaves the check's process group
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:  # and a daemon of its own
        note_pid(1)
        time.sleep(300)
        os._exit(0)
    note_pid(0)
    time.sleep(300)
    os._exit(0)
wait_for_notes(2)
X = 1
"""
)

CASES = [
    Hostile(
        "infinite-loop",
        "import os\n\nwhile True: pass\n",
        Code.TIMEOUT,
        "while True:",
        "did not finish within 0.5 s",
        QUICK_TIMEOUT,
    ),
    Hostile(
        "lock-deadlock",
        "import threading\n\nlock = threading.Lock()\nlock.acquire()\nlock.acquire()  # again\n",
        Code.TIMEOUT,
        "# again",
        settings=QUICK_TIMEOUT,
    ),
    Hostile(
        "thread-join-deadlock",
        "import threading\n\nt = threading.Thread(target=threading.Event().wait)\n"
        "t.start()\nt.join()\n",
        Code.TIMEOUT,
        "t.join()",
        settings=QUICK_TIMEOUT,
    ),
    Hostile(
        "segfault",
        "import ctypes\n\nctypes.string_at(0)\n",
        Code.CRASH,
        "ctypes.string_at(0)",
        "SIGSEGV",
    ),
    Hostile("os-exit", "import os\n\nos._exit(3)\n", Code.CRASH, "os._exit(3)", "os._exit(3)"),
    Hostile(
        "sys-exit-0",
        "import sys\n\nsys.exit(0)\n",
        Code.EXCEPTION,
        "sys.exit(0)",
        "SystemExit: 0",
    ),
    Hostile(
        "raise-system-exit", "X = 1\nraise SystemExit\n", Code.EXCEPTION, "raise", "SystemExit"
    ),
    Hostile(
        "keyboard-interrupt",
        "X = 1\nraise KeyboardInterrupt\n",
        Code.EXCEPTION,
        "raise",
        "KeyboardInterrupt",
    ),
    Hostile(
        # Without RLIMIT_AS in the child this would simply succeed.
        "memory-bomb",
        "import os\n\nDATA = bytearray(512 * 1024 * 1024)\n",
        Code.MEMORY_LIMIT,
        "DATA =",
        "128 MB memory limit",
        {"memory_limit_mb": 128},
    ),
    Hostile(
        "output-flood",
        "import sys\n\nsys.stdout.write('o' * 50_000_000)\nsys.stderr.write('e' * 50_000_000)\n"
        "DONE = True\n",
        None,
    ),
    Hostile(
        "input",
        "import os\n\nNAME = input('name? ')\n",
        Code.EXCEPTION,
        "input(",
        "EOFError",
    ),
    Hostile(
        # As in a fresh interpreter: printing to a closed fd fails; hotmod's own
        # pipes are other fds.
        "close-stdio",
        "import os\n\nfor fd in (0, 1, 2):\n    os.close(fd)\nprint('into the void')\nX = 1\n",
        Code.EXCEPTION,
        "print(",
        "OSError: [Errno 9] Bad file descriptor",
    ),
    Hostile(
        "close-stdio-quietly",
        "import os\n\nfor fd in (0, 1, 2):\n    os.close(fd)\nX = 1\n",
        None,
    ),
    Hostile(
        "endless-non-daemon-thread",
        "import threading\n\nthreading.Thread(target=threading.Event().wait).start()\nX = 1\n",
        None,
    ),
    Hostile("fork-leaves-a-child", FORK_AND_STAY, None, pid_files=1),
    Hostile("grandchild-escapes-the-group", ESCAPE_THE_GROUP, None, pid_files=2),
    Hostile(
        "deep-recursion",
        "def down(n):\n    return down(n + 1)\n\n\ndown(0)\n",
        Code.EXCEPTION,
        "return down(n + 1)",
        "RecursionError",
    ),
    Hostile(
        # What `python -c "import hostile"` says too: the import system lost it.
        "sys-modules-clear",
        "import sys\n\nsys.modules.clear()\n",
        Code.EXCEPTION,
        "import sys",
        "KeyError: 'hostile'",
    ),
    Hostile(
        "replaced-import",
        "import builtins\n\n\ndef refuse(name, *args, **kwargs):\n"
        "    raise RuntimeError('no imports: ' + name)\n\n\n"
        "builtins.__import__ = refuse\nimport json\n",
        Code.EXCEPTION,
        "raise RuntimeError",  # the innermost line of the module, as for any exception
        "RuntimeError: no imports: json",
    ),
    Hostile(
        # The module cannot stop hotmod's timeout by taking over signals.
        "signal-handlers",
        "import signal\n\nfor sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD,"
        " signal.SIGALRM, signal.SIGABRT):\n    signal.signal(sig, signal.SIG_IGN)\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)\nwhile True: pass\n",
        Code.TIMEOUT,
        "while True:",
        settings=QUICK_TIMEOUT,
    ),
]


def errors(result: ModuleResult) -> list[Any]:
    return [d for d in result.diagnostics if d.severity is Severity.ERROR]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_module(workspace: Workspace, tmp_path: Path, case: Hostile) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    workspace.write({"hostile.py": case.source, "ok.py": "X = 1\n"})
    env = {"HOTMOD_TEST_PIDS": str(pids)}
    with workspace.engine(env=env, **case.settings) as engine:
        assert engine.check(["ok"]).ok
        zygote = engine.status().worker_pid
        assert zygote is not None

        result = by_name(engine.check(["hostile"]))["hostile"]
        found = errors(result)
        if case.code is None:
            assert result.ok and not found, found
        else:
            assert not result.ok
            assert len(found) == 1, found
            diagnostic = found[0]
            assert diagnostic.code == case.code, diagnostic
            assert diagnostic.span.line == line_of(case.source, case.line), diagnostic
            assert case.message in diagnostic.message

        # Nothing the module started survives its check...
        wait_for_no_leftovers(zygote)
        for index in range(case.pid_files):
            assert gone(int((pids / f"pid{index}").read_text()))
        assert result.worker_pid is not None and gone(result.worker_pid)
        # ...and the same warm worker answers the next request.
        assert engine.check(["ok"]).ok
        assert engine.status().worker_pid == zygote
        assert by_name(engine.check(["hostile"]))["hostile"].ok == (case.code is None)
        wait_for_no_leftovers(zygote)


def test_output_flood_is_capped(workspace: Workspace) -> None:
    workspace.write({"flood.py": "import sys\n\nsys.stdout.write('o' * 100_000_000)\n"})
    with workspace.engine() as engine:
        result = engine.check().results[0]
    assert result.ok and result.output_truncated
    assert result.output == "o" * 65536  # the default output_limit_bytes


def test_memory_limit_is_an_address_space_rlimit_in_the_child(workspace: Workspace) -> None:
    workspace.write(
        {
            "limits.py": "import resource\n\n"
            "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
            "raise RuntimeError(f'RLIMIT_AS {soft} {hard}')\n"
        }
    )
    with workspace.engine(memory_limit_mb=300) as engine:
        message = errors(engine.check().results[0])[0].message
    soft, hard = (int(n) for n in message.split()[-2:])
    assert soft == hard
    # The zygote's own mappings plus the configured limit (never unlimited, -1).
    assert 300 * 1024 * 1024 < soft < 300 * 1024 * 1024 + 4 * 1024**3


# -- side effects at import ---------------------------------------------------------

DELETER = """\
import os
import pathlib

TARGET = pathlib.Path(os.environ["HOTMOD_TEST_TARGET"])
TARGET.unlink()
X = 1
"""


def _side_effect_workspace(workspace: Workspace, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    victim = workspace.path("precious.txt")
    victim.write_text("keep me\n")
    workspace.write({"deleter.py": DELETER})
    # pytest's tmp_path is itself under the temp dir, where writes are not
    # reported: give the worker a temp dir of its own.
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir()
    return victim, {"HOTMOD_TEST_TARGET": str(victim), "TMPDIR": str(private_tmp)}


def test_side_effect_block_keeps_the_file(workspace: Workspace, tmp_path: Path) -> None:
    victim, env = _side_effect_workspace(workspace, tmp_path)
    with workspace.engine(env=env, side_effects="block") as engine:
        result = engine.check().results[0]
    assert victim.read_text() == "keep me\n"
    codes = {d.code: d for d in result.diagnostics}
    assert set(codes) == {Code.EXCEPTION, Code.SIDE_EFFECT}
    assert codes[Code.EXCEPTION].message.startswith("PermissionError: hotmod blocked")
    warning = codes[Code.SIDE_EFFECT]
    assert warning.severity is Severity.WARNING
    assert warning.span.line == line_of(DELETER, "TARGET.unlink()")
    assert f"deletes {victim}" in warning.message and "blocked" in warning.message


def test_side_effect_warn_reports_the_line(workspace: Workspace, tmp_path: Path) -> None:
    victim, env = _side_effect_workspace(workspace, tmp_path)
    with workspace.engine(env=env) as engine:  # "warn" is the default
        result = engine.check().results[0]
    assert not victim.exists()  # warn only watches
    assert result.ok
    [warning] = result.diagnostics
    assert (warning.code, warning.severity) == (Code.SIDE_EFFECT, Severity.WARNING)
    assert warning.span.line == line_of(DELETER, "TARGET.unlink()")
    assert "blocked" not in warning.message


def test_side_effect_off_reports_nothing(workspace: Workspace, tmp_path: Path) -> None:
    victim, env = _side_effect_workspace(workspace, tmp_path)
    with workspace.engine(env=env, side_effects="off") as engine:
        result = engine.check().results[0]
    assert not victim.exists() and result.ok and result.diagnostics == ()


@pytest.mark.parametrize(
    ("ending", "code"),
    [("ctypes.string_at(0)", Code.CRASH), ("while True: pass", Code.TIMEOUT)],
    ids=["crash", "timeout"],
)
def test_side_effects_before_a_crash_or_a_hang_are_reported(
    workspace: Workspace, tmp_path: Path, ending: str, code: Code
) -> None:
    # No result comes back from such a check: the events survive in the
    # check's traceback file.
    victim, env = _side_effect_workspace(workspace, tmp_path)
    source = DELETER.replace("X = 1\n", f"import ctypes\n\n{ending}\n")
    workspace.write({"deleter.py": source})
    with workspace.engine(env=env, import_timeout_s=1) as engine:
        result = engine.check().results[0]
    codes = {d.code: d for d in result.diagnostics}
    assert set(codes) == {code, Code.SIDE_EFFECT}, result.diagnostics
    assert codes[code].span.line == line_of(source, ending)
    warning = codes[Code.SIDE_EFFECT]
    assert warning.span.line == line_of(source, "TARGET.unlink()")
    assert f"deletes {victim}" in warning.message


SIDE_EFFECTS = """\
import os
import socket
import subprocess

try:
    socket.create_connection(("127.0.0.1", 9), timeout=0.5)
except OSError:
    pass
subprocess.run(["true"], check=False)
os.system("true")
with open(os.environ["HOTMOD_TEST_OUT"], "w") as f:
    f.write("x")
with open(os.environ["HOTMOD_TEST_OUT"]) as f:  # reading is fine
    f.read()
with open(os.path.join(os.environ["TMPDIR"], "scratch"), "w") as f:  # so is the temp dir
    f.write("x")
os.rename(os.environ["HOTMOD_TEST_OUT"], os.environ["HOTMOD_TEST_OUT"] + ".old")
"""


def test_each_kind_of_side_effect_at_its_line(workspace: Workspace, tmp_path: Path) -> None:
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir()
    out = workspace.path("out.txt")
    workspace.write({"effects.py": SIDE_EFFECTS})
    env = {"TMPDIR": str(private_tmp), "HOTMOD_TEST_OUT": str(out)}
    with workspace.engine(env=env) as engine:
        result = engine.check().results[0]
    assert result.ok
    found = {d.span.line: d.message for d in result.diagnostics if d.code is Code.SIDE_EFFECT}
    expected = {
        "socket.create_connection": "accesses the network",
        'subprocess.run(["true"]': "starts a process (subprocess.Popen",
        'os.system("true")': "starts a process (os.system true)",
        'open(os.environ["HOTMOD_TEST_OUT"], "w")': f"writes to {out}",
        "os.rename(": f"renames {out}",
    }
    assert sorted(found) == sorted(line_of(SIDE_EFFECTS, needle) for needle in expected)
    for needle, words in expected.items():
        assert words in found[line_of(SIDE_EFFECTS, needle)]


def test_side_effect_of_a_dependency_is_reported_in_the_dependency(
    workspace: Workspace, tmp_path: Path
) -> None:
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir()
    workspace.write(
        {
            "noisy.py": "import os\n\nos.system('true')\n\n\ndef later():\n    os.system('true')\n",
            "user.py": "import noisy\n\nnoisy.later()\n",
        }
    )
    with workspace.engine(env={"TMPDIR": str(private_tmp)}) as engine:
        results = by_name(engine.check())
    # noisy's own line is noisy's; the call user makes runs noisy's code, but
    # the innermost project frame is noisy's line 6 -- reported in noisy only.
    noisy_lines = sorted(d.span.line for d in results["noisy"].diagnostics)
    assert noisy_lines == [2]
    assert [d.span.line for d in results["user"].diagnostics] == []


# -- a worker that cannot start -----------------------------------------------------


def test_crashing_interpreter_backs_off_instead_of_spinning(tmp_path: Path) -> None:
    launches = tmp_path / "launches"
    fake = tmp_path / "python"
    fake.write_text(f"#!/bin/sh\necho started >> {launches}\necho 'broken python' >&2\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    worker = Worker(str(fake), tmp_path, [tmp_path], [])
    messages = set()
    deadline = time.monotonic() + 2.0
    attempts = 0
    while time.monotonic() < deadline:
        attempts += 1
        with pytest.raises(WorkerError) as excinfo:
            worker.check("m", 1.0, 100, 1000)
        messages.add(str(excinfo.value))
    worker.close()
    starts = len(launches.read_text().splitlines())
    # Without back-off this loop starts the interpreter hundreds of times.
    assert starts == attempts and starts <= 8, starts
    [message] = messages
    assert f"the worker did not start with {fake}" in message and "broken python" in message


def test_missing_interpreter_is_a_clear_error(workspace: Workspace) -> None:
    workspace.write({"a.py": "X = 1\n"})
    with (
        Engine(workspace.root, {"python": "/nonexistent/bin/python"}, environ={}) as engine,
        pytest.raises(WorkerError, match="Python interpreter not found: /nonexistent/bin/python"),
    ):
        engine.check()
