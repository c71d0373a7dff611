"""The verdict cache: last session's verdicts, reused only while what they read holds.

Each test checks a workspace in one session (an engine, closed), changes one
kind of thing, and opens a second session: the verdicts that depend on the
change must not come back from the cache, the others must, unchanged.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hotmod.core import Engine, ModuleResult
from hotmod.core import verdict_cache as verdict_cache_module
from hotmod.core.verdict_cache import VerdictCache

from ..conftest import Workspace

PROJECT = {
    "shop/__init__.py": "",
    "shop/prices.py": "PRICES = {'apple': 3}\n",
    "shop/cart.py": "from shop.prices import PRICES\nTOTAL = sum(PRICES.values())\n",
    "shop/broken.py": "from shop.prices import discount\n",
    "shop/data.py": "import pathlib\n"
    "RATES = (pathlib.Path(__file__).parent / 'rates.txt').read_text()\n",
    "shop/rates.txt": "1.5\n",
    "tools.py": "import shop.cart\n",
}


def session(workspace: Workspace, **settings: Any) -> Engine:
    return Engine(workspace.root, {"python": sys.executable, **settings}, environ={})


def check(workspace: Workspace, **settings: Any) -> dict[str, ModuleResult]:
    with session(workspace, **settings) as engine:
        return {r.name: r for r in engine.check().results}


def cached(workspace: Workspace, **settings: Any) -> dict[str, ModuleResult]:
    with session(workspace, **settings) as engine:
        return engine.cached_results()


def comparable(result: ModuleResult) -> ModuleResult:
    return replace(result, cached=False, worker_pid=None)


@pytest.fixture
def project(workspace: Workspace) -> Workspace:
    workspace.write(PROJECT)
    return workspace


def test_an_unchanged_workspace_gets_every_verdict_back(project: Workspace) -> None:
    checked = check(project)
    found = cached(project)
    assert (
        set(found)
        == set(checked)
        == {
            "shop",
            "shop.prices",
            "shop.cart",
            "shop.broken",
            "shop.data",
            "tools",
        }
    )
    assert all(r.cached for r in found.values())
    for name, result in checked.items():
        assert comparable(found[name]) == comparable(result), name
    assert not found["shop.broken"].ok
    assert "cannot import name 'discount'" in found["shop.broken"].diagnostics[0].message


def test_a_changed_source_voids_what_ran_it(project: Workspace) -> None:
    check(project)
    project.write({"shop/prices.py": "PRICES = {'apple': 4}\n"})
    found = cached(project)
    # What ran prices.py is out; what did not is kept.
    assert set(found) == {"shop", "shop.data"}


def test_a_module_that_was_missing_appearing_voids_what_looked_for_it(project: Workspace) -> None:
    project.write({"shop/optional.py": "try:\n    import shop.extras\nexcept ImportError:\n"
                   "    EXTRAS = None\n"})  # fmt: skip
    check(project)
    project.write({"unrelated/__init__.py": "", "notes.txt": "new files elsewhere\n"})
    assert "shop.optional" in cached(project)  # nothing it looked for changed
    project.write({"shop/extras.py": "EXTRAS = 1\n"})
    found = cached(project)
    assert "shop.optional" not in found and "shop.cart" in found


def test_a_package_shadowing_a_module_voids_what_ran_the_module(project: Workspace) -> None:
    check(project)
    project.write({"shop/prices/__init__.py": "PRICES = {}\n"})  # it wins over prices.py
    assert set(cached(project)) == {"shop", "shop.data"}


def test_a_folder_the_code_listed_voids_it_when_its_names_change(workspace: Workspace) -> None:
    workspace.write(
        {
            "plugins/__init__.py": "import os\n"
            "NAMES = sorted(os.listdir(os.path.dirname(__file__)))\n",
            "plugins/a.py": "",
            "other.py": "X = 1\n",
        }
    )
    check(workspace)
    workspace.write({"plugins/b.txt": "a plugin's data\n"})
    assert set(cached(workspace)) == {"other"}


def test_a_changed_data_file_voids_the_module_that_read_it(project: Workspace) -> None:
    check(project)
    project.write({"shop/rates.txt": "2.5\n"})
    assert "shop.data" not in cached(project)
    assert "shop.cart" in cached(project)


def test_another_interpreter_voids_everything(project: Workspace, tmp_path: Path) -> None:
    check(project)
    other = tmp_path / "bin" / "python"
    other.parent.mkdir()
    other.symlink_to(sys.executable)
    assert not cached(project, python=str(other))
    assert cached(project)  # the first one's verdicts are still there


def test_installed_packages_changing_voids_everything(project: Workspace, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    env = {"PYTHONPATH": str(site)}
    check(project, env=env)
    assert cached(project, env=env)
    (site / "newdist").mkdir()  # as `pip install` adds a folder to site-packages
    assert not cached(project, env=env)


def test_the_environment_is_part_of_the_key(
    project: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_MODE", "test")
    monkeypatch.setenv("TERM", "xterm")
    check(project)
    monkeypatch.setenv("TERM", "screen")  # differs between a terminal and an editor
    assert cached(project)
    monkeypatch.setenv("SHOP_MODE", "production")  # a module may read it at import
    assert not cached(project)


def test_settings_that_change_verdicts_are_part_of_the_key(project: Workspace) -> None:
    check(project)
    assert not cached(project, import_timeout_s=3)
    assert not cached(project, dev_mode=True)
    assert cached(project, history_keep=5)  # not about verdicts


def test_another_hotmod_version_starts_from_nothing(
    project: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    check(project)
    monkeypatch.setattr(verdict_cache_module, "__version__", "99.0")
    assert not cached(project)


def test_switched_off_nothing_is_kept(project: Workspace) -> None:
    check(project, verdict_cache=False)
    assert not cached(project)
    assert not cached(project, verdict_cache=False)


def test_a_corrupt_database_is_set_aside_and_rebuilt(
    project: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    check(project)
    path = VerdictCache(project.root).path
    path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    warnings: list[str] = []
    with session(project) as engine:
        engine.on_warning = warnings.append
        assert engine.cached_results() == {}  # unreadable: nothing, and no exception
        engine.check()
    assert any("verdict cache" in w for w in warnings)
    assert cached(project)  # rebuilt by that session's check
    assert list(path.parent.glob("verdicts.corrupt-*.sqlite3"))


def test_two_sessions_store_at_once(project: Workspace) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            check(project)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(cached(project)) == 6


def test_the_database_is_bounded(project: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verdict_cache_module, "MAX_ROWS", 3)
    check(project)
    path = VerdictCache(project.root).path
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM verdicts").fetchone() == (3,)


def test_verdicts_of_checks_forked_from_a_stem_depend_on_the_stem_too(
    workspace: Workspace,
) -> None:
    workspace.write(
        {
            "pkg/__init__.py": "from pkg import core\n",
            "pkg/core.py": "VALUE = 1\n",
            **{f"pkg/m{i}.py": "X = 1\n" for i in range(9)},
        }
    )
    env = {"HOTMOD_WORKER_STEMS": "always"}
    check(workspace, env=env)
    assert len(cached(workspace, env=env)) == 11
    workspace.write({"pkg/core.py": "VALUE = 2\n"})
    # Every module's fresh import runs pkg/__init__, which ran core.py.
    assert not cached(workspace, env=env)


def test_hotmod_check_stores_verdicts_for_the_editor(project: Workspace) -> None:
    from hotmod.server.cli import main

    os.chdir(project.root)
    (project.root / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    assert main(["check", str(project.root), "--format", "json"]) == 1
    assert "shop.cart" in cached(project)
