"""The VS Code extension's bundled server: what editors/vscode/bundle.sh installs.

pyproject.toml declares hotmod's dependencies (ranges); bundled/requirements.txt
pins the exact versions the .vsix carries (``bundle.sh --lock`` writes it).
The pins must follow the declaration: every dependency pinned, within its
range, and nothing else but what those dependencies need.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "editors" / "vscode" / "bundled" / "requirements.txt"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{LOCK.name}: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_dependency_of_hotmod_is_pinned_within_its_range() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = _pins()
    for text in declared["project"]["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{text} is not in {LOCK.name}: run editors/vscode/bundle.sh --lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={pins[name]}, outside pyproject.toml's {text}"
        )


def test_the_lock_has_no_hotmod_and_no_duplicates() -> None:
    names = [
        canonicalize_name(line.partition("==")[0])
        for line in LOCK.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(names) == len(set(names))
    assert "hotmod" not in names  # installed from the checkout, not from PyPI
