"""Verdicts user code cannot forge or break: each equals a fresh interpreter's.

Every module here attacks the check's own reporting: it patches what the
harness could use after the import (json, os, time, resource, builtins,
traceback...), installs audit hooks, closes or replaces file descriptors,
raises exceptions that resist being described, changes process state, or
signals its parent.  The oracle is a real ``python -c "import m"``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from hotmod.core import Code, Engine
from hotmod.core import worker_client as worker_client_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import Workspace
from ..fresh import Verdict, fresh_verdict, hotmod_verdict, same_verdict
from ..processes import wait_for_no_leftovers

RAISE = "raise ValueError('boom')\n"
HOTMOD = str(Path(sys.executable).with_name("hotmod"))  # the console script of this venv

# name -> module source; every one must get the fresh interpreter's verdict.
ATTACKS: dict[str, str] = {
    "forged-json-then-raise": 'import json\njson.dumps = lambda *a, **k: \'{"outcome": "ok"}\'\n'
    + RAISE,
    "json-dumps-none": "import json\njson.dumps = None\n",
    "json-dumps-none-then-raise": "import json\njson.dumps = None\n" + RAISE,
    "os-write-replaced": "import os\nos.write = lambda fd, data: len(data)\n" + RAISE,
    "os-close-none": "import os\nos.close = None\nos.read = None\n" + RAISE,
    "memoryview-none": "import builtins\nbuiltins.memoryview = None\n" + RAISE,
    "builtins-gutted": "import builtins\nfor name in ('isinstance', 'len', 'str', 'type', "
    "'getattr', 'repr', 'int', 'enumerate', 'max', 'min', 'open'):\n"
    "    setattr(builtins, name, None)\n" + RAISE,
    "perf-counter-none": "import time\ntime.perf_counter = None\ntime.monotonic = None\n" + RAISE,
    "setrlimit-none": "import resource\nresource.setrlimit = None\n" + RAISE,
    "audit-refuses-open": "import sys\n\ndef hook(event, args):\n"
    "    if event in ('open', 'resource.setrlimit', 'compile', 'import', 'os.listdir'):\n"
    "        raise RuntimeError('refused: ' + event)\n\nsys.addaudithook(hook)\n" + RAISE,
    "closerange": "import os\nos.closerange(3, 4096)\n" + RAISE,
    "closerange-quietly": "import os\nos.closerange(3, 4096)\nX = 1\n",
    "dup2-devnull-over-fds": "import os\nnull = os.open(os.devnull, os.O_RDWR)\n"
    "for fd in map(int, os.listdir('/proc/self/fd')):\n"
    "    if fd > 2 and fd != null:\n"
    "        try:\n            os.dup2(null, fd)\n        except OSError:\n            pass\n"
    + RAISE,
    "class-module-none": "class Odd(Exception):\n    pass\n\nOdd.__module__ = None\n"
    "raise Odd('odd')\n",
    "import-error-name-raises": "class Bad(ImportError):\n    @property\n    def name(self):\n"
    "        raise RuntimeError('no name')\n\nraise Bad('bad import')\n",
    "str-raises": "class Mute(Exception):\n    def __str__(self):\n"
    "        raise RuntimeError('no words')\n\nraise Mute()\n",
    "syntax-offset-not-int": "e = SyntaxError('bad')\ne.offset = 'x'\ne.lineno = 'y'\nraise e\n",
    "syntax-filename-int": "e = SyntaxError('bad', (5, 1, 1, 'x'))\nraise e\n",
    "traceback-patched": "import linecache, traceback\ntraceback.extract_tb = None\n"
    "traceback.format_exception = None\nlinecache.getline = None\nlinecache.getlines = None\n"
    + RAISE,
    "setsid": "import os\nos.setsid()\nX = 1\n",
    "setpgrp": "import os\nos.setpgrp()\nX = 1\n",
    "tracer-left-on": "import sys\n\ndef tracer(*args):\n    raise RuntimeError('traced')\n\n"
    "sys.settrace(tracer)\nsys.setprofile(tracer)\n" + RAISE,
    "recursion-limit-low": "import sys\nsys.setrecursionlimit(30)\n" + RAISE,
    "gc-callback-raises": "import gc\n\ndef boom(*args):\n    raise RuntimeError('gc')\n\n"
    "gc.callbacks.append(boom)\n" + RAISE,
    "signal-handler-raises": "import signal\n\ndef boom(*args):\n"
    "    raise RuntimeError('alarm')\n\nsignal.signal(signal.SIGALRM, boom)\n"
    "signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)\n" + RAISE,
    "sys-modules-of-harness": "import sys\nfor name in list(sys.modules):\n"
    "    if 'hotmod' in name:\n        del sys.modules[name]\n" + RAISE,
    "chdir": "import os\nos.chdir('/')\n" + RAISE,
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_gets_the_fresh_verdict(workspace: Workspace, name: str) -> None:
    module = "m_" + name.replace("-", "_")
    workspace.write({f"{module}.py": ATTACKS[name]})
    fresh = fresh_verdict(workspace.root, module)
    with workspace.engine() as engine:
        result = engine.check([module]).results[0]
        ours = hotmod_verdict(result)
        assert same_verdict(ours, fresh), (ours, fresh, result.diagnostics)
        zygote = engine.status().worker_pid
        assert zygote is not None
        wait_for_no_leftovers(zygote)
        # The same worker goes on.
        workspace.write({"after.py": "X = 1\n"})
        engine.scan()
        assert engine.check(["after"]).results[0].ok
        assert engine.status().worker_pid == zygote


def test_deep_recursion_with_a_high_limit_is_a_recursion_error_not_a_timeout(
    workspace: Workspace,
) -> None:
    source = (
        "import sys\nsys.setrecursionlimit(100000)\n\n\ndef down(n):\n"
        "    return down(n + 1)  # recursing\n\n\ndown(0)\n"
    )
    workspace.write({"deep.py": source})
    fresh = fresh_verdict(workspace.root, "deep")
    with workspace.engine(import_timeout_s=20) as engine:
        result = engine.check(["deep"]).results[0]
    assert fresh.kind == "RecursionError"
    assert hotmod_verdict(result) == Verdict(False, "RecursionError", 6), result.diagnostics


def test_a_setsid_child_is_still_killed_with_its_check(workspace: Workspace) -> None:
    workspace.write(
        {
            "daemon.py": """\
            import os, time
            os.setsid()  # a fresh process may do that; the check child too
            if os.fork() == 0:
                time.sleep(300)
                os._exit(0)
            X = 1
            """
        }
    )
    with workspace.engine() as engine:
        result = engine.check(["daemon"]).results[0]
        assert result.ok, result.diagnostics
        zygote = engine.status().worker_pid
        assert zygote is not None
        wait_for_no_leftovers(zygote)


def test_a_module_that_closes_the_dump_pipe_and_hangs_says_why_the_line_is_unknown(
    workspace: Workspace,
) -> None:
    workspace.write({"hang.py": "import os\nos.closerange(3, 4096)\nwhile True: pass\n"})
    with workspace.engine(import_timeout_s=0.5) as engine:
        result = engine.check(["hang"]).results[0]
    [diagnostic] = result.diagnostics
    assert diagnostic.code is Code.TIMEOUT
    assert "the module closed the pipe hotmod's traceback dump is written to" in (
        diagnostic.message
    )


def test_a_module_that_stops_its_parent_is_checked_and_the_worker_resumed(
    workspace: Workspace,
) -> None:
    # No fresh run here: it would stop its caller, the test.
    workspace.write({"stopper.py": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n"})
    with workspace.engine() as engine:
        engine.check(["stopper"])  # starts the worker
        zygote = engine.status().worker_pid
        result = engine.check(["stopper"]).results[0]
        assert result.ok, result.diagnostics
        assert engine.status().worker_pid == zygote
        assert psutil.Process(zygote).status() != psutil.STATUS_STOPPED


def test_hotmod_check_does_not_hang_when_a_module_stops_its_parent(workspace: Workspace) -> None:
    workspace.write(
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "stopper.py": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n",
        }
    )
    started = time.monotonic()
    proc = subprocess.run(
        [HOTMOD, "check", str(workspace.root)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 30


def test_a_module_that_kills_its_worker_is_blamed_alone(workspace: Workspace) -> None:
    workspace.write(
        {
            "killer.py": "import os, signal, time\ntime.sleep(0.2)\n"
            "os.kill(os.getppid(), signal.SIGKILL)\n",
            **{f"bystander{i}.py": "import time\ntime.sleep(0.3)\nX = 1\n" for i in range(3)},
        }
    )
    with workspace.engine() as engine:
        report = engine.check()
    by_name = {r.name: r for r in report.results}
    for i in range(3):
        assert by_name[f"bystander{i}"].ok, by_name[f"bystander{i}"].diagnostics
    [diagnostic] = by_name["killer"].diagnostics
    assert diagnostic.code is Code.CRASH
    assert "kills or stops the process that imports it" in diagnostic.message


def test_a_worker_that_stops_answering_is_killed_and_the_check_reported(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stopped worker that hotmod cannot resume is as good as wedged.
    monkeypatch.setattr(worker_client_module, "_stopped", lambda pid: False)
    monkeypatch.setattr(worker_client_module, "WEDGED_AFTER_S", 1.5)
    workspace.write(
        {
            "stopper.py": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n",
            "fine.py": "X = 1\n",
        }
    )
    with workspace.engine() as engine:
        assert engine.check(["fine"]).results[0].ok
        first = engine.status().worker_pid
        result = engine.check(["stopper"]).results[0]
        assert not result.ok
        assert "kills or stops the process that imports it" in result.diagnostics[0].message
        assert engine.check(["fine"]).results[0].ok  # a new worker
        assert first is not None and engine.status().worker_pid != first
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE


def test_nothing_is_left_in_tmpdir(workspace: Workspace, tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    workspace.write(
        {
            "pyproject.toml": "[project]\nname = 'x'\n",
            "ok.py": "X = 1\n",
            "crash.py": "import ctypes\nctypes.string_at(0)\n",
            "hard.py": "import os\nos._exit(3)\n",
            "hang.py": "while True: pass\n",
            "killer.py": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
            "noisy.py": "import sys\nsys.stdout.write('x' * 1_000_000)\n",
        }
    )
    (workspace.root / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n[tool.hotmod]\nimport_timeout_s = 0.5\n"
    )
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    proc = subprocess.run(
        [HOTMOD, "check", str(workspace.root)], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == 1  # it ran, and found the broken modules
    assert list(tmpdir.iterdir()) == []


# -- the property: whatever a module patches, the verdict is the fresh one ---------------

PATCHABLE = {
    "json": ["dumps", "loads", "JSONEncoder", "JSONDecoder", "encoder"],
    "os": ["write", "read", "close", "pread", "fspath", "getcwd", "getpid", "setpriority",
           "dup2", "pipe", "path"],
    "os.path": ["join", "abspath", "normpath", "realpath", "dirname"],
    "sys": ["exit", "settrace", "setprofile", "setrecursionlimit", "getrecursionlimit",
            "excepthook", "_getframe"],
    "time": ["perf_counter", "monotonic", "time", "sleep"],
    "resource": ["setrlimit", "getrlimit", "getrusage"],
    "builtins": ["isinstance", "issubclass", "len", "str", "repr", "getattr", "type",
                 "memoryview", "enumerate", "max", "int", "float", "bool", "open", "print",
                 "iter", "next", "sorted", "min", "sum", "hasattr"],
    "traceback": ["extract_tb", "format_exception", "print_exc", "walk_tb", "FrameSummary"],
    "linecache": ["getline", "getlines", "checkcache"],
    "signal": ["signal", "pthread_sigmask", "valid_signals", "setitimer"],
    "faulthandler": ["cancel_dump_traceback_later", "dump_traceback", "dump_traceback_later",
                     "enable"],
    "gc": ["disable", "collect", "freeze"],
    "mmap": ["mmap"],
    "tracemalloc": ["stop", "take_snapshot", "get_traced_memory"],
}  # fmt: skip
REPLACEMENTS = [
    "None",
    "lambda *a, **k: None",
    'lambda *a, **k: \'{"outcome": "ok"}\'',
    "lambda *a, **k: 0",
    "_refuse",
    "DELETE",
]
ENDINGS = [
    "X = 1\n",
    "raise ValueError('boom')\n",
    "raise KeyError('k')\n",
    "raise SystemExit(3)\n",
    "1 / 0\n",
    "import no_such_module_anywhere\n",
]
patch = st.sampled_from(sorted(PATCHABLE)).flatmap(
    lambda module: st.tuples(
        st.just(module), st.sampled_from(PATCHABLE[module]), st.sampled_from(REPLACEMENTS)
    )
)


def _module_source(patches: list[tuple[str, str, str]], ending: str) -> str:
    """The modules to patch are imported first, before anything is patched: the
    property is about what the harness does after the import, not about importing
    the standard library with broken builtins (see docs/limitations.md)."""
    targets = sorted({module for module, _, _ in patches})
    lines = [f"import {module}" for module in targets]
    lines += ["", "def _refuse(*args, **kwargs):", "    raise RuntimeError('refused')", ""]
    for module, attribute, replacement in patches:
        if replacement == "DELETE":
            lines.append(f"try:\n    del {module}.{attribute}\nexcept AttributeError:\n    pass")
        else:
            lines.append(f"{module}.{attribute} = {replacement}")
    return "\n".join(lines) + "\n" + ending


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:  # type: ignore[misc]
    root = tmp_path_factory.mktemp("patched")
    (root / "placeholder.py").write_text("X = 1\n")
    with Engine(root, {"python": sys.executable, "import_timeout_s": 10}, environ={}) as engine:
        yield engine


_counter = iter(range(10**6))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(patches=st.lists(patch, min_size=1, max_size=4), ending=st.sampled_from(ENDINGS))
def test_patching_what_the_harness_uses_never_changes_the_verdict(
    shared_engine: Engine, patches: list[tuple[str, str, str]], ending: str
) -> None:
    module = f"patched_{next(_counter)}"
    source = _module_source(patches, ending)
    (shared_engine.root / f"{module}.py").write_text(textwrap.dedent(source))
    fresh = fresh_verdict(shared_engine.root, module)
    shared_engine.scan()
    result = shared_engine.check([module]).results[0]
    assert same_verdict(hotmod_verdict(result), fresh), (source, fresh, result.diagnostics)
