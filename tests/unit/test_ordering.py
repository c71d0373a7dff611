"""What the user needs first: the saved module, open documents, then the dependents
a save most likely broke (they use a name it changed or removed), nearest first."""

from __future__ import annotations

from hotmod.core import ModuleResult

from ..conftest import Workspace

HUB = "def price(x):\n    return x\n\n\ndef discount(x):\n    return x * 0.9\n"


def dependents(count: int) -> dict[str, str]:
    files = {f"app/a{i:02d}.py": "from app.hub import price\nP = price(1)\n" for i in range(count)}
    files["app/zz_sale.py"] = "from app import hub\nD = hub.discount(10)\n"  # sorts last
    files["app/far.py"] = "from app.a00 import P\n"  # two imports away
    return files


def order_after_saving(workspace: Workspace, hub: str, first: set[str] = frozenset()) -> list[str]:
    seen: list[ModuleResult] = []
    with workspace.engine() as engine:
        engine.check()
        workspace.write({"app/hub.py": hub})
        engine.check_paths([workspace.path("app/hub.py")], on_result=seen.append, first=first)
    return [r.name for r in seen]


def test_the_dependent_using_a_removed_name_comes_right_after_the_saved_module(
    workspace: Workspace,
) -> None:
    workspace.write({"app/__init__.py": "", "app/hub.py": HUB, **dependents(30)})
    order = order_after_saving(workspace, "def price(x):\n    return x\n")  # discount removed
    assert order[:2] == ["app.hub", "app.zz_sale"]
    assert order[-1] == "app.far"  # nothing it uses changed, and it is furthest away


def test_one_that_uses_a_changed_name_comes_before_those_that_do_not(
    workspace: Workspace,
) -> None:
    workspace.write({"app/__init__.py": "", "app/hub.py": HUB, **dependents(30)})
    changed = HUB.replace("x * 0.9", "x * 0.8")  # discount's body changed, price's did not
    assert order_after_saving(workspace, changed)[:2] == ["app.hub", "app.zz_sale"]


def test_open_documents_come_first(workspace: Workspace) -> None:
    workspace.write({"app/__init__.py": "", "app/hub.py": HUB, **dependents(30)})
    order = order_after_saving(workspace, "def price(x):\n    return x\n", first={"app.a17"})
    assert order[:3] == ["app.hub", "app.a17", "app.zz_sale"]
