"""Real projects nobody here wrote (rich, flask: pinned sdists from PyPI): every
module's verdict is what a fresh ``python -c "import m"`` says.

Marker ``real_projects``. The sdists and a venv with their runtime dependencies
are made once and cached (tests/real_projects.py); later runs take ~20 s.
"""

from __future__ import annotations

import os

import pytest

from ..fresh import Verdict, hotmod_verdict, same_verdict
from ..real_projects import PROJECTS, Prepared, SetupError, prepare

pytestmark = pytest.mark.real_projects

CHECKED = ("rich", "flask")


@pytest.fixture(scope="module", params=CHECKED)
def project(request: pytest.FixtureRequest) -> Prepared:
    try:
        return prepare(PROJECTS[request.param])
    except SetupError as exc:
        if os.environ.get("CI"):  # CI has PyPI: a setup failure there is a failure
            raise
        pytest.skip(f"no {request.param} to check (PyPI unreachable?): {exc}")


@pytest.fixture(scope="module")
def fresh(project: Prepared) -> dict[str, Verdict]:
    """Every module's fresh verdict, two interpreters at a time."""
    with project.engine() as engine:
        modules = {name: info.path for name, info in engine.modules.items()}
    verdicts, skipped = project.fresh_verdicts(modules)
    # Names with a keyword in them (django.conf.locale.is) cannot be imported by a
    # statement; none in these two projects, and no import may take a minute.
    assert not skipped, skipped
    assert len(verdicts) > 20
    return verdicts


@pytest.mark.parametrize("stems", ["1", "0"], ids=["stems", "no-stems"])
def test_every_module_gets_the_fresh_verdict(
    project: Prepared, fresh: dict[str, Verdict], stems: str
) -> None:
    with project.engine({"HOTMOD_WORKER_STEMS": stems}) as engine:
        report = engine.check()
    results = {r.name: r for r in report.results}
    assert results.keys() == fresh.keys()
    wrong = {
        name: (hotmod_verdict(result), fresh[name], [d.message for d in result.diagnostics[:1]])
        for name, result in results.items()
        if not same_verdict(hotmod_verdict(result), fresh[name])
    }
    assert not wrong, wrong
