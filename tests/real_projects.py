"""Real projects nobody here wrote, from PyPI: for the agreement test and bench_real.py.

Each pinned sdist is downloaded with pip once and unpacked; its runtime dependencies
go into a venv made from the running interpreter (pip installs the sdist there, then
uninstalls the project itself: hotmod checks the unpacked source, not a copy in
site-packages). The modules are byte-compiled once, as an installed package's are,
so that a baseline's ``python -c "import m"`` reads ``.pyc`` files as it would in a
real environment; hotmod never reads them. Cached under ``~/.cache/hotmod-bench``
(``$HOTMOD_BENCH_CACHE``), one folder per project, version and Python.
"""

from __future__ import annotations

import fcntl
import functools
import keyword
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotmod.core import Engine

from .fresh import Verdict, fresh_verdict


@dataclass(frozen=True)
class RealProject:
    name: str
    version: str
    hub: str  # a module file many others import, relative to the unpacked sdist


PROJECTS: Mapping[str, RealProject] = {
    p.name: p
    for p in (
        RealProject("rich", "13.9.4", "rich/text.py"),
        RealProject("flask", "3.1.0", "src/flask/helpers.py"),
        RealProject("django", "5.1.4", "django/utils/text.py"),
        RealProject("networkx", "3.4.2", "networkx/algorithms/cuts.py"),
    )
}


class SetupError(Exception):
    """A project could not be fetched or installed (no network, a pip failure)."""


@dataclass(frozen=True)
class Prepared:
    project: RealProject
    root: Path  # the unpacked sdist: the workspace hotmod checks
    python: Path  # the venv's interpreter, with the project's runtime dependencies

    @property
    def label(self) -> str:
        return f"{self.project.name} {self.project.version}"

    def engine(self, env: Mapping[str, str] | None = None, **settings: Any) -> Engine:
        """An engine on the project with its venv; ``env`` reaches the worker."""
        overrides = {"python": str(self.python), "env": dict(env or {}), **settings}
        return Engine(self.root, overrides, environ={})

    @functools.cached_property
    def module_dirs(self) -> tuple[Path, ...]:
        with self.engine() as engine:
            return engine.config.module_dirs

    def module_dir(self, path: Path) -> Path:
        """The module dir holding ``path``: where ``python -c "import m"`` runs."""
        return max(
            (d for d in self.module_dirs if path.is_relative_to(d)), key=lambda d: len(d.parts)
        )

    def fresh_verdicts(
        self, modules: Mapping[str, Path], jobs: int = 2, timeout: float = 60.0
    ) -> tuple[dict[str, Verdict], dict[str, str]]:
        """``python -c "import m"`` for each module (name -> file), ``jobs`` at a time,
        in its module dir with the venv's interpreter; and the modules left out, with why."""
        names = [n for n in sorted(modules) if importable(n)]
        skipped = {
            n: "a keyword in its name: no import statement can name it"
            for n in modules
            if not importable(n)
        }

        def one(name: str) -> Verdict | None:
            path = modules[name]
            try:
                return fresh_verdict(self.module_dir(path), name, timeout, self.python, path)
            except subprocess.TimeoutExpired:
                return None

        with ThreadPoolExecutor(jobs) as pool:
            found = dict(zip(names, pool.map(one, names), strict=True))
        for name, verdict in found.items():
            if verdict is None:
                skipped[name] = f"its fresh import took over {timeout:g} s"
        return {n: v for n, v in found.items() if v is not None}, skipped


def importable(name: str) -> bool:
    """Whether ``import name`` can be written: ``django.conf.locale.is`` cannot (a keyword)."""
    return not any(keyword.iskeyword(part) for part in name.split("."))


def cache_root() -> Path:
    override = os.environ.get("HOTMOD_BENCH_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "hotmod-bench"


def prepare(project: RealProject) -> Prepared:
    """The project's unpacked sdist and venv, made once (under a lock: the test and
    the benchmark may run at the same time)."""
    py = f"py{sys.version_info.major}.{sys.version_info.minor}"
    base = cache_root() / f"{project.name}-{project.version}-{py}"
    base.mkdir(parents=True, exist_ok=True)
    with _locked(base / ".lock"):
        ready = base / "ready"
        python = base / "venv" / "bin" / "python"
        if not (ready.exists() and _runs(python)):
            ready.unlink(missing_ok=True)
            _build(project, base)
            ready.write_text("ok\n")
        return Prepared(project, _unpacked(base), python)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _runs(python: Path) -> bool:
    try:
        return subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0
    except OSError:
        return False


def _unpacked(base: Path) -> Path:
    (top,) = [p for p in (base / "src").iterdir() if p.is_dir()]
    return top


def _build(project: RealProject, base: Path) -> None:
    for part in ("sdist", "src", "venv"):
        shutil.rmtree(base / part, ignore_errors=True)
    spec = f"{project.name}=={project.version}"
    download = [
        "download",
        "--quiet",
        "--no-deps",
        "--no-binary",
        ":all:",
        "-d",
        str(base / "sdist"),
    ]
    _run([sys.executable, "-m", "pip", *download, spec], f"download the {spec} sdist")
    (sdist,) = (base / "sdist").iterdir()
    with tarfile.open(sdist) as archive:
        archive.extractall(base / "src", filter="data")
    _run([sys.executable, "-m", "venv", str(base / "venv")], "create a venv")
    python = str(base / "venv" / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "--quiet", str(sdist)], f"install {spec}'s dependencies")
    _run([*pip, "uninstall", "--quiet", "--yes", project.name], f"uninstall {spec}")
    root = _unpacked(base)
    with Prepared(project, root, Path(python)).engine() as engine:
        files = sorted(str(m.path) for m in engine.modules.values())
    # Some files may not compile on this Python (they fail at import either way).
    subprocess.run(
        [python, "-m", "compileall", "-q", "-i", "-"],
        input="\n".join(files),
        text=True,
        capture_output=True,
    )


def _run(command: list[str], doing: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise SetupError(f"cannot {doing}: {' '.join(command)}\n{tail}")
