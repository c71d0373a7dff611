"""Configuration, module discovery, and a missing interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hotmod.core import ConfigError, Engine, WorkerError, load_config
from hotmod.core.config import DEFAULT_EXCLUDE
from hotmod.core.discovery import discover, excluded
from hotmod.core.project_root import project_root, workspace_root

from ..conftest import Workspace


def pyproject(workspace: Workspace, table: str) -> Path:
    workspace.write({"pyproject.toml": f"[project]\nname = 'x'\n\n[tool.hotmod]\n{table}"})
    return workspace.path("pyproject.toml")


def module_names(workspace: Workspace, **overrides: object) -> list[str]:
    return sorted(discover(load_config(workspace.root, overrides, environ={})))


# -- [tool.hotmod] ----------------------------------------------------------------


def test_settings_from_pyproject(workspace: Workspace) -> None:
    pyproject(
        workspace,
        'import_timeout_s = 2.5\nmemory_limit_mb = 256\nexclude = ["gen_*"]\n'
        'env = { APP_MODE = "test" }\nmodule_dirs = ["lib"]\n',
    )
    (workspace.root / "lib").mkdir()
    config = load_config(workspace.root, environ={})
    assert config.import_timeout_s == 2.5
    assert config.memory_limit_mb == 256
    assert config.exclude == (*DEFAULT_EXCLUDE, "gen_*")  # added to the defaults
    assert dict(config.env) == {"APP_MODE": "test"}
    assert config.module_dirs == (workspace.root / "lib",)
    # caller settings win
    assert load_config(workspace.root, {"import_timeout_s": 7}, environ={}).import_timeout_s == 7


@pytest.mark.parametrize(
    ("table", "key", "expected"),
    [
        ('import_timeout_s = "ten"\n', "import_timeout_s", "a positive number of seconds"),
        ("import_timeout_s = 0\n", "import_timeout_s", "a positive number of seconds"),
        ("memory_limit_mb = 1.5\n", "memory_limit_mb", "a positive whole number of megabytes"),
        ("dev_mode = 1\n", "dev_mode", "true or false"),
        ('module_dirs = "src"\n', "module_dirs", "a list of directory paths"),
        ("exclude = [1, 2]\n", "exclude", "a list of glob patterns"),
        ("env = { A = 1 }\n", "env", "a table of string values"),
        ("slow_threshold_ms = -1\n", "slow_threshold_ms", "a non-negative number"),
        ("python = 3\n", "python", "a path to a Python interpreter"),
    ],
)
def test_bad_value_names_key_and_expected_type(
    workspace: Workspace, table: str, key: str, expected: str
) -> None:
    file = pyproject(workspace, table)
    with pytest.raises(ConfigError) as info:
        load_config(workspace.root, environ={})
    message = str(info.value)
    assert str(file) in message
    assert f"{key} must be {expected}" in message


def test_bad_caller_setting_is_a_config_error(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match=r"settings: import_timeout_s must be a positive"):
        Engine(workspace.root, {"import_timeout_s": -1})


def test_invalid_toml_reports_its_line(workspace: Workspace) -> None:
    workspace.write({"pyproject.toml": "[project]\nname = 'x'\n\n[tool.hotmod\ndev_mode = true\n"})
    with pytest.raises(ConfigError, match=r"pyproject\.toml: invalid TOML: .*line 4"):
        load_config(workspace.root, environ={})


def test_unknown_key_is_named(workspace: Workspace) -> None:
    pyproject(workspace, "import_timeout = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(workspace.root, environ={})
    assert "unknown key 'import_timeout'" in str(info.value)
    assert "import_timeout_s" in str(info.value)  # the known keys are listed


def test_missing_workspace_and_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="workspace folder does not exist"):
        load_config(tmp_path / "nope")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path, config_file=tmp_path / "other.toml")


def test_explicit_config_file(workspace: Workspace) -> None:
    workspace.write({"conf/hotmod.toml": "[tool.hotmod]\nimport_timeout_s = 3\n"})
    config = load_config(workspace.root, config_file=workspace.path("conf/hotmod.toml"))
    assert config.import_timeout_s == 3


# -- discovery --------------------------------------------------------------------


def test_src_layout_is_detected(workspace: Workspace) -> None:
    workspace.write(
        {
            "src/app/__init__.py": "",
            "src/app/core.py": "",
            "src/tool.py": "",
            "scripts/run.py": "",
            "manage.py": "",
        }
    )
    config = load_config(workspace.root, environ={})
    assert config.module_dirs == (workspace.root / "src",)
    assert module_names(workspace) == ["app", "app.core", "tool"]


def test_flat_layout_counts_top_level_modules_and_real_packages(workspace: Workspace) -> None:
    workspace.write(
        {
            "app/__init__.py": "",
            "app/core.py": "",
            "manage.py": "",
            "scripts/run.py": "",  # a plain folder at the root: not a package
            "my-tool.py": "",  # not an importable name
        }
    )
    assert load_config(workspace.root, environ={}).module_dirs == (workspace.root,)
    assert module_names(workspace) == ["app", "app.core", "manage"]


def test_default_excludes(workspace: Workspace) -> None:
    workspace.write(
        {
            "setup.py": "",
            "app/__init__.py": "",
            "app/__main__.py": "",
            "app/mod.py": "",
            "build/__init__.py": "",
            "build/lib.py": "",
            "dist/__init__.py": "",
            ".venv/__init__.py": "",
            ".venv/lib.py": "",
            "env/pyvenv.cfg": "home = /usr/bin\n",
            "env/__init__.py": "",
            "env/site.py": "",
            "proj.egg-info/__init__.py": "",
            "__pycache__/__init__.py": "",
        }
    )
    assert module_names(workspace) == ["app", "app.mod"]


def test_default_excludes_in_a_src_layout(workspace: Workspace) -> None:
    workspace.write(
        {
            "src/app.py": "",
            "src/setup.py": "",
            "src/build/gen.py": "",
            "src/.venv/lib/x.py": "",
            "src/venv/pyvenv.cfg": "home = /usr/bin\n",
            "src/venv/lib/y.py": "",
            "src/node_modules/z.py": "",
        }
    )
    assert module_names(workspace) == ["app"]


def test_user_excludes_add_to_the_defaults(workspace: Workspace) -> None:
    workspace.write({"a.py": "", "gen_a.py": "", "setup.py": "", "pkg/__init__.py": ""})
    assert module_names(workspace, exclude=["gen_*", "pkg"]) == ["a"]


def test_the_file_watcher_ignores_exactly_what_discovery_skips(workspace: Workspace) -> None:
    files = {
        "src/app/__init__.py": "",
        "src/app/mod.py": "",
        "src/app/sub/deep.py": "",
        "src/app/build/gen.py": "",
        "src/app/__main__.py": "",
        "src/gen_x.py": "",
        "src/.venv/lib/x.py": "",
        "src/venv/pyvenv.cfg": "home = /usr/bin\n",
        "src/venv/lib/y.py": "",
        "src/node_modules/z.py": "",
        ".venv/lib/python3.11/site-packages/dep.py": "",
        "node_modules/pkg/w.py": "",
        "build/lib/app.py": "",
    }
    workspace.write(files)
    config = load_config(workspace.root, {"exclude": ["gen_*"]}, environ={})
    found = {str(m.path) for m in discover(config).values()}
    assert len(found) == 3  # app, app.mod, app.sub.deep
    for name in (n for n in files if n.endswith(".py")):
        path = str(workspace.root / name)
        # Under the module dir: ignored exactly when not discovered; above it, the
        # root's .venv, node_modules and build are ignored too.
        assert excluded(config, path) == (path not in found), name
    assert not excluded(config, str(workspace.root / "pyproject.toml"))
    assert not excluded(config, str(workspace.root / "tests" / "test_app.py"))


def test_namespace_packages_under_src(workspace: Workspace) -> None:
    workspace.write(
        {
            "src/ns/sub/mod.py": "from ns.other import V\n",
            "src/ns/other.py": "V = 1\n",
        }
    )
    assert module_names(workspace) == ["ns.other", "ns.sub.mod"]
    with workspace.engine() as engine:
        report = engine.check()
        assert engine.dependents(["ns.other"]) == {"ns.sub.mod"}
    assert report.ok
    assert sorted(r.name for r in report.results) == ["ns.other", "ns.sub.mod"]


# -- the interpreter -----------------------------------------------------------------


def test_default_python_is_the_running_interpreter(workspace: Workspace) -> None:
    assert load_config(workspace.root, environ={}).python == sys.executable


def test_default_python_prefers_the_workspace_venv(workspace: Workspace) -> None:
    venv_python = workspace.path(".venv/bin/python")
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text("")
    assert load_config(workspace.root, environ={}).python == str(venv_python)


@pytest.mark.parametrize("python", ["/nonexistent/bin/python3", "no-such-python-xyz"])
def test_missing_interpreter_is_a_worker_error(workspace: Workspace, python: str) -> None:
    workspace.write({"a.py": "X = 1\n"})
    with (
        workspace.engine(python=python) as engine,
        pytest.raises(WorkerError) as info,
    ):
        engine.check()
    assert f"Python interpreter not found: {python}" in str(info.value)


# -- project root ----------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["pyproject.toml", "setup.cfg", "setup.py", ".git", ".hg"])
def test_project_root_is_the_nearest_folder_with_a_root_marker(tmp_path: Path, marker: str) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write({"shop/__init__.py": "", "shop/sub/__init__.py": "", "shop/sub/m.py": ""})
    if marker.startswith("."):
        (ws.root / marker).mkdir()  # a repository
    else:
        ws.write({marker: ""})
    for start in ("shop/sub/m.py", "shop/sub", "shop", "."):
        assert project_root(ws.path(start)) == ws.root, start


def test_project_root_without_markers_is_above_the_outermost_package(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write({"shop/__init__.py": "", "shop/sub/__init__.py": "", "shop/sub/m.py": "", "x.py": ""})
    assert project_root(ws.path("shop/sub/m.py")) == ws.root
    assert project_root(ws.path("shop")) == ws.root
    assert project_root(ws.path("x.py")) == ws.root  # not in a package: its own folder


def test_a_workspace_folder_moves_to_the_project_root_only_when_it_is_a_package(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.write({"pyproject.toml": "", "shop/__init__.py": "", "tools/run.py": ""})
    assert workspace_root(ws.path("shop")) == ws.root
    assert workspace_root(ws.path("tools")) == ws.path("tools")  # opened on purpose
    assert workspace_root(ws.root) == ws.root


def test_an_import_timeout_no_timer_can_take_is_refused_with_the_rule(workspace: Workspace) -> None:
    """Found by fuzzing the editor's settings: 20182304410 s reached a thread's wait
    and failed the whole check with an OverflowError; inf would too."""
    for value in ("20182304410", "inf"):
        workspace.write({"pyproject.toml": f"[tool.hotmod]\nimport_timeout_s = {value}\n"})
        with pytest.raises(ConfigError, match="at most 86400"):
            load_config(workspace.root)
