"""Stems: a package's fresh import shared by the checks of its modules (worker/stems.py).

Every verdict must stay what ``python -c "import m"`` says; the package's own
code must run once per batch of checks instead of once per module.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hotmod.core import Code, Engine
from hotmod.core.worker.stems import STEM_IDLE_S
from hotmod.core.worker_client import Worker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import Workspace
from ..fresh import fresh_verdict, hotmod_verdict, same_verdict

COUNT = "import os\nwith open(os.environ['HOTMOD_TEST_COUNTER'], 'a') as _f:\n    _f.write('x')\n"


def engine(workspace: Workspace, counter: Path, stems: bool = True, **settings: Any) -> Engine:
    # "always": a stem for any two checks of a package, whatever its import costs.
    env = {"HOTMOD_TEST_COUNTER": str(counter), "HOTMOD_WORKER_STEMS": "always" if stems else "0"}
    return Engine(workspace.root, {"python": sys.executable, "env": env, **settings}, environ={})


def raw_worker(
    workspace: Workspace, files: dict[str, str], stems: str, max_children: int | None = None
) -> Worker:
    """The worker alone (no engine): its raw results say what each check compiled."""
    return Worker(
        sys.executable,
        workspace.root,
        [workspace.root],
        {str(workspace.root / f) for f in files},
        env={"HOTMOD_WORKER_STEMS": stems},
        max_children=max_children,
    )


def runs(counter: Path) -> int:
    return len(counter.read_text()) if counter.exists() else 0


def modules_importing_each_other(count: int) -> dict[str, str]:
    files = {f"pkg/m{i}.py": f"from pkg import m{i - 1}\nX = {i}\n" for i in range(1, count)}
    files["pkg/m0.py"] = "X = 0\n"
    return files


def test_a_package_that_imports_its_modules_runs_once_for_all_their_checks(
    workspace: Workspace, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    workspace.write(
        {
            "pkg/__init__.py": COUNT + "".join(f"from pkg import m{i}\n" for i in range(12)),
            **modules_importing_each_other(12),
        }
    )
    with engine(workspace, counter) as e:
        report = e.check()
    assert report.ok and len(report.results) == 13
    # One stem; without stems, once per module (13).  The first checks of the burst
    # may be started before the others have arrived (no stem yet): each runs it too.
    assert runs(counter) <= 3
    timing = {r.name: r for r in report.results}["pkg.m5"]
    assert timing.import_ms >= timing.load_ms  # what a fresh import of it costs, package included


def test_every_module_of_a_package_whose_import_fails_fails_as_in_a_fresh_process(
    workspace: Workspace, tmp_path: Path
) -> None:
    workspace.write(
        {
            "pkg/__init__.py": "from pkg import a\nfrom pkg import broken\n",
            "pkg/a.py": "X = 1\n",
            "pkg/broken.py": "Y = 1\nraise RuntimeError('broken package')\n",
            **{f"pkg/other{i}.py": "Z = 1\n" for i in range(10)},
        }
    )
    with engine(workspace, tmp_path / "count") as e:
        report = e.check()
    assert len(report.failed) == 13
    for result in report.results:
        fresh = fresh_verdict(workspace.root, result.name)
        assert same_verdict(hotmod_verdict(result), fresh), (result.name, result.diagnostics)
    broken = {r.name: r for r in report.results}["pkg.broken"].diagnostics[0]
    assert broken.code is Code.EXCEPTION and broken.span.line == 1


def test_modules_the_package_does_not_import_are_checked_forked_from_it(
    workspace: Workspace, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    workspace.write(
        {
            "pkg/__init__.py": COUNT + "BASE = 40\n",
            **{f"pkg/m{i}.py": f"from pkg import BASE\nX = BASE + {i}\n" for i in range(11)},
            "pkg/bad.py": "from pkg import BASE\nraise ValueError(BASE)\n",
        }
    )
    with engine(workspace, counter) as e:
        report = e.check()
    by_name = {r.name: r for r in report.results}
    assert [r.name for r in report.failed] == ["pkg.bad"]
    [diagnostic] = by_name["pkg.bad"].diagnostics
    assert diagnostic.span.line == 1 and "ValueError: 40" in diagnostic.message
    assert runs(counter) <= 2  # the stem (and perhaps the check of `pkg` alone)


def test_a_package_import_that_starts_a_thread_is_not_shared(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Forking loses threads: a module needing the package's thread would fail in a
    check forked from the stem, and passes in a fresh process."""
    counter = tmp_path / "count"
    workspace.write(
        {
            "pkg/__init__.py": COUNT + "import threading\n"
            "WORKER = threading.Thread(target=threading.Event().wait, daemon=True)\n"
            "WORKER.start()\n",
            **{
                f"pkg/m{i}.py": "from pkg import WORKER\nassert WORKER.is_alive()\n"
                "import threading\nassert threading.active_count() > 1\n"
                for i in range(10)
            },
        }
    )
    with engine(workspace, counter) as e:
        report = e.check()
    assert report.ok, [d.message for r in report.failed for d in r.diagnostics]
    assert runs(counter) >= 10  # each check ran the package again


def test_a_stems_package_import_has_no_child_process_a_fresh_one_lacks(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A fresh ``python -c "import pkg"`` has no child process: ``os.wait()`` there
    fails at once.  A stem's helpers (the factory of its checks' anchors) must
    not exist yet while its package imports."""
    counter = tmp_path / "count"
    workspace.write(
        {
            "pkg/__init__.py": COUNT + "import os\n"
            "try:\n    os.waitpid(-1, os.WNOHANG)\nexcept ChildProcessError:\n    pass\n"
            "else:\n    raise RuntimeError('a child process a fresh import has not')\n",
            **{f"pkg/m{i}.py": f"X = {i}\n" for i in range(10)},
        }
    )
    with engine(workspace, counter) as e:
        report = e.check()
    assert report.ok, [d.message for r in report.failed for d in r.diagnostics]
    assert runs(counter) <= 2  # served by a stem, not by a check per module


def test_a_stem_is_not_reused_once_a_file_it_ran_changed(
    workspace: Workspace, tmp_path: Path
) -> None:
    counter = tmp_path / "count"
    workspace.write(
        {
            "pkg/__init__.py": COUNT + "from pkg import core\n",
            "pkg/core.py": "VALUE = 1\n",
            **{f"pkg/m{i}.py": "from pkg.core import VALUE\n" for i in range(10)},
        }
    )
    with engine(workspace, counter) as e:
        assert e.check().ok
        # Through the engine's own notification of a save...
        workspace.write({"pkg/core.py": "raise RuntimeError('core broke')\n"})
        report = e.check_paths([workspace.path("pkg/core.py")])
        assert len(report.failed) == 12, [r.name for r in report.results if r.ok]
        # ...and without one (a change the watcher missed): the stem's files are
        # looked at before it is used again.
        workspace.write({"pkg/core.py": "VALUE = 2  # fixed\n"})
        assert e.check().ok
        workspace.write({"pkg/core.py": "raise RuntimeError('broken again, unseen')\n"})
        report = e.check(["pkg.m1", "pkg.m2", "pkg.m3"], dependents=False)
    assert not any(r.ok for r in report.results)


def test_nested_packages_get_stems_of_their_own(workspace: Workspace, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    workspace.write(
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": COUNT + "".join(f"from . import s{i}\n" for i in range(10)),
            **{f"pkg/sub/s{i}.py": f"S = {i}\n" for i in range(10)},
            **{f"pkg/top{i}.py": f"T = {i}\n" for i in range(10)},
        }
    )
    with engine(workspace, counter) as e:
        report = e.check()
    assert report.ok and len(report.results) == 22
    assert runs(counter) == 1


def test_the_same_verdicts_with_and_without_stems(workspace: Workspace, tmp_path: Path) -> None:
    workspace.write(
        {
            "app/__init__.py": "from app import models\n",
            "app/models.py": "from app import util\nNAMES = [util.slug('A B')]\n",
            "app/util.py": "def slug(text):\n    return text.lower().replace(' ', '-')\n",
            "app/views.py": "from app.models import NAMES, missing\n",
            "app/cli.py": "import app.views\nprint('cli', app.models.NAMES)\n",
            "app/plugins/__init__.py": "REGISTRY = {}\n",
            **{
                f"app/plugins/p{i}.py": f"from app.plugins import REGISTRY\nREGISTRY['p{i}'] = 1\n"
                for i in range(9)
            },
            "app/plugins/dupe.py": "from app.plugins import REGISTRY\n"
            "if 'p1' in REGISTRY:\n    raise KeyError('already registered')\n",
        }
    )
    verdicts = []
    for stems in (False, True):
        with engine(workspace, tmp_path / "count", stems=stems) as e:
            report = e.check()
        verdicts.append(
            {
                r.name: (r.ok, [(d.code, d.span, d.message) for d in r.diagnostics])
                for r in report.results
            }
        )
    assert verdicts[0] == verdicts[1]
    # Each check registers into a registry of its own, as a fresh process does.
    assert verdicts[1]["app.plugins.dupe"][0] is True
    assert verdicts[1]["app.views"][0] is False and verdicts[1]["app.cli"][0] is False


# -- the property: stems never change a verdict -------------------------------------------

identifier = st.sampled_from(["a", "b", "c", "d", "e", "f"])


@st.composite
def package_trees(draw: Any) -> dict[str, str]:
    """A package ``pkg`` with a sub-package, whose modules import each other (cycles
    included), raise, and whose ``__init__``s import some of their modules."""
    names = ["pkg." + n for n in draw(st.lists(identifier, min_size=3, max_size=6, unique=True))]
    names += [
        "pkg.sub." + n for n in draw(st.lists(identifier, min_size=2, max_size=5, unique=True))
    ]
    files: dict[str, str] = {}
    for name in names:
        lines = []
        for other in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
            if other != name:
                lines.append(f"import {other}")
        if draw(st.booleans()):
            lines.append(f"VALUE = {draw(st.integers(0, 9))}")
        if draw(st.integers(0, 5)) == 0:
            lines.append("raise RuntimeError('broken')")
        files[name.replace(".", "/") + ".py"] = "\n".join(lines) + "\n"
    for package, members in (("pkg", names), ("pkg.sub", [n for n in names if ".sub." in n])):
        chosen = draw(st.lists(st.sampled_from(members), max_size=3, unique=True))
        body = "\n".join(f"import {m}" for m in chosen)
        files[package.replace(".", "/") + "/__init__.py"] = body + "\n"
    return files


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=package_trees())
def test_stems_never_change_a_verdict(tmp_path_factory: pytest.TempPathFactory,
                                      tree: dict[str, str]) -> None:  # fmt: skip
    root = tmp_path_factory.mktemp("tree")
    for name, text in tree.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    env = {"HOTMOD_WORKER_STEMS": "always"}  # small trees would not be worth a stem
    with Engine(root, {"python": sys.executable, "env": env}, environ={}) as e:
        report = e.check()
    for result in report.results:
        fresh = fresh_verdict(root, result.name)
        assert same_verdict(hotmod_verdict(result), fresh), (tree, result.name, fresh,
                                                             result.diagnostics)  # fmt: skip


def test_a_projects_files_are_compiled_before_its_first_check(workspace: Workspace) -> None:
    """The worker compiles the project before it is ready: a project's first checks,
    all at once, do not each compile their whole closure."""
    files = {
        "pkg/__init__.py": "X = 1\n",
        "pkg/base.py": "import json\nBASE = 1\n",
        **{f"pkg/m{i}.py": f"from pkg.base import BASE\nY = BASE + {i}\n" for i in range(6)},
    }
    workspace.write(files)
    worker = raw_worker(workspace, files, "0")
    try:
        futures = [worker.check(f"pkg.m{i}", 30.0, 512, 65536) for i in range(6)]
        results = [dict(f.result(60)) for f in futures]
    finally:
        worker.close()
    assert all(r["outcome"] == "ok" for r in results)
    assert [r.get("compiled") for r in results] == [[]] * 6


def edit_after_start(worker: Worker, path: Path, text: str) -> None:
    """Change a file the worker compiled when it started: checks compile it again."""
    worker.start()
    path.write_text(text)
    worker.changed([str(path)])


def test_files_compiled_under_a_stem_are_compiled_once_by_the_zygote(
    workspace: Workspace,
) -> None:
    """Later checks, forked from the zygote or from a new stem, run its cached code
    instead of compiling the package again (django: a save's checks took 3x the CPU)."""
    files = {
        "pkg/__init__.py": "X = 1\n",
        "pkg/base.py": "import json\nBASE = 1\n",
        **{f"pkg/m{i}.py": f"from pkg.base import BASE\nY = BASE + {i}\n" for i in range(6)},
    }
    workspace.write(files)
    names = [f"pkg.m{i}" for i in range(6)]
    worker = raw_worker(workspace, files, "always")
    try:
        edit_after_start(worker, workspace.root / "pkg/base.py", "import json\nBASE = 2\n")

        def check_all() -> list[dict[str, Any]]:
            futures = [worker.check(n, 30.0, 512, 65536) for n in names]
            return [dict(f.result(60)) for f in futures]

        first = check_all()
        assert all(r["outcome"] == "ok" for r in first)
        assert any(str(workspace.root / "pkg/base.py") in r.get("compiled", []) for r in first)
        deadline = time.monotonic() + 30
        while True:  # the zygote compiles while idle, ~10 ms at a time
            time.sleep(STEM_IDLE_S + 0.5)  # the stem is gone: a new one is started
            again = check_all()
            if not any(r.get("compiled") for r in again) or time.monotonic() > deadline:
                break
        assert [r.get("compiled") for r in again] == [[]] * len(names)
    finally:
        worker.close()


@pytest.mark.parametrize("stems", ["0", "always"], ids=["from-the-zygote", "from-a-stem"])
def test_modules_that_checks_import_are_compiled_once_while_the_checks_still_run(
    workspace: Workspace, stems: str
) -> None:
    """A module changed since the worker started: the modules every check imports
    are not compiled again by each later check (django: a closure of ~150 modules
    per check)."""
    lib = "import json\n" + "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(50))
    files = {
        "pkg/__init__.py": "",
        "pkg/lib.py": lib,
        **{f"pkg/m{i}.py": f"from pkg import lib\nY = lib.f1({i})\n" for i in range(12)},
    }
    workspace.write(files)
    worker = raw_worker(workspace, files, stems, max_children=1)
    try:
        edit_after_start(worker, workspace.root / "pkg/lib.py", lib + "Z = 1\n")
        futures = [worker.check(f"pkg.m{i}", 30.0, 512, 65536) for i in range(12)]
        results = [dict(f.result(60)) for f in futures]
    finally:
        worker.close()
    assert all(r["outcome"] == "ok" for r in results)
    changed = str(workspace.root / "pkg/lib.py")
    compiling = [r["module"] for r in results if changed in r.get("compiled", [])]
    # The first check, and at most a spare or the check forked meanwhile: not all 12.
    assert 1 <= len(compiling) <= 3, compiling


@pytest.mark.parametrize(
    ("init", "outcome"),
    [
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "crash"),
        ("import time\ntime.sleep(60)\n", "timeout"),
    ],
    ids=["killed", "hung"],
)
def test_checks_waiting_for_a_stem_that_dies_importing_get_its_verdict(
    workspace: Workspace, init: str, outcome: str
) -> None:
    """A package whose import kills or hangs the process: every module's check gets
    that verdict (they waited for the stem, and were never answered: django's
    full check lost one and paid the engine's 70 s deadline)."""
    files = {"pkg/__init__.py": init, **{f"pkg/m{i}.py": "X = 1\n" for i in range(10)}}
    workspace.write(files)
    worker = raw_worker(workspace, files, "always")
    try:
        futures = [worker.check(f"pkg.m{i}", 2.0, 512, 65536) for i in range(10)]
        outcomes = [f.result(30)["outcome"] for f in futures]
    finally:
        worker.close()
    assert outcomes == [outcome] * 10


def test_a_worker_launched_before_its_warm_list_waits_for_it(workspace: Workspace) -> None:
    """The engine starts the worker while it still reads the project: the worker
    compiles meanwhile, and checks asked for before the warm list wait for it."""
    files = {"m.py": "import colorsys\nX = colorsys.rgb_to_hsv(1, 0, 0)\n"}
    workspace.write(files)
    worker = Worker(
        sys.executable, workspace.root, [workspace.root], {str(workspace.path("m.py"))}, warm=None
    )
    try:
        worker.launch()
        future = worker.check("m", 30.0, 512, 65536)
        time.sleep(0.5)
        assert not future.done()  # no verdict before the warm imports are done
        worker.set_warm(["colorsys"])
        result = dict(future.result(60))
        assert result["outcome"] == "ok"
        assert result.get("compiled") == []  # compiled while it waited
        assert worker.warm_report["colorsys"]["ok"]
    finally:
        worker.close()


def test_the_project_is_compiled_while_the_worker_waits_for_its_warm_list(
    workspace: Workspace,
) -> None:
    """A large project is parsed for seconds before the warm list comes: the helper
    keeps compiling meanwhile (networkx's cold check stalled 0.5 s on it, then left
    files to its first checks), instead of waiting until its pipe is read."""
    # ~0.9 s of compiling, each file's frame larger than a pipe's buffer.
    body = "".join(f"v{i} = [{i}, 's{i}', {{'k': {i}}}]\n" for i in range(3000))
    files = {f"big{i}.py": body for i in range(16)}
    files["top.py"] = "".join(f"import big{i}\n" for i in range(16))
    workspace.write(files)
    worker = Worker(
        sys.executable,
        workspace.root,
        [workspace.root],
        {str(workspace.path(name)) for name in files},
        warm=None,
    )
    try:
        worker.launch()
        future = worker.check("top", 30.0, 512, 65536)
        time.sleep(4.0)  # the engine parsing a large project
        worker.set_warm([])
        result = dict(future.result(60))
    finally:
        worker.close()
    assert result["outcome"] == "ok"
    assert result.get("compiled") == []


def test_checks_that_came_with_the_warm_list_are_served_once_ready() -> None:
    """The init line, the warm list and the first checks can come in one read: the
    checks after the warm list are queued, not left unread until the next message."""
    from hotmod.core.worker.zygote import Zygote

    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    try:
        zygote = Zygote(request_r, reply_w, use_fork=False)
        os.write(
            request_w,
            b'{"op": "init", "paths": [], "files": []}\n'
            b'{"op": "warm", "modules": ["json"]}\n'
            b'{"op": "check", "id": 1, "module": "m"}\n',
        )
        assert zygote.reader.read_one()["op"] == "init"
        assert zygote._await_warm() == ["json"]
        assert [(m["op"], m["module"]) for m in zygote.early] == [("check", "m")]
        os.close(zygote.wake_r)
        os.close(zygote.wake_w)
    finally:
        for fd in (request_r, request_w, reply_r, reply_w):
            os.close(fd)


def test_a_warm_list_that_loads_nothing_new_keeps_the_stems(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A save that adds an import of a package that is not installed (a typo, one
    not installed yet) warms nothing: the stems stay (networkx's costs 0.1-0.5 s)."""
    counter = tmp_path / "count"
    workspace.write({"pkg/__init__.py": COUNT, **{f"pkg/m{i}.py": "X = 1\n" for i in range(6)}})
    names = [f"pkg.m{i}" for i in range(6)]
    with engine(workspace, counter) as e:
        assert e.check(names).ok
        worker = e._worker
        assert worker is not None
        before = runs(counter)
        worker.add_warm(["hotmod_test_not_installed"])
        assert e.check(names).ok
        assert runs(counter) == before  # the same stem served them
        worker.add_warm(["colorsys"])  # new in the worker: stems start again with it
        assert e.check(names).ok
        assert runs(counter) > before
