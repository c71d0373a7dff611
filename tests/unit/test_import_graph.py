"""The static import graph: what each module imports, and who depends on whom."""

from __future__ import annotations

import textwrap
from pathlib import Path

from hotmod.core.discovery import ModuleInfo
from hotmod.core.graph import ImportGraph
from hotmod.core.imports import (
    ImportRef,
    ParsedModule,
    changed_names,
    external_top_levels,
    parse_imports,
    project_targets,
)

from ..conftest import Workspace


def module(name: str, is_package: bool = False) -> ModuleInfo:
    path = Path("/project", *name.split("."))
    path = path / "__init__.py" if is_package else path.with_suffix(".py")
    return ModuleInfo(name, path, is_package)


def parse(name: str, source: str, is_package: bool = False) -> ParsedModule:
    return parse_imports(module(name, is_package), textwrap.dedent(source).encode())


def targets(parsed: ParsedModule) -> list[str]:
    return [ref.target for ref in parsed.imports]


def ref_for(parsed: ParsedModule, target: str) -> ImportRef:
    (ref,) = [r for r in parsed.imports if r.target == target]
    return ref


# -- core/imports.py --------------------------------------------------------------


def test_absolute_imports_with_positions() -> None:
    parsed = parse("m", "import os\n\nimport os.path, json as j\n")
    assert parsed.syntax_ok
    assert targets(parsed) == ["os", "os.path", "json"]
    first = ref_for(parsed, "os")
    assert (first.line, first.column, first.end_line, first.end_column) == (0, 0, 0, 9)
    assert ref_for(parsed, "json").line == 2
    assert not first.conditional and not first.in_function and not first.maybe_member


def test_from_import_names_may_be_submodules() -> None:
    parsed = parse("m", "from pkg import sub, func\nfrom pkg.sub import *\n")
    assert targets(parsed) == ["pkg", "pkg.sub", "pkg.func", "pkg.sub"]
    assert ref_for(parsed, "pkg").maybe_member is False
    assert ref_for(parsed, "pkg.func").maybe_member is True


def test_relative_imports_resolve_against_the_package() -> None:
    # in a module: relative to its package
    parsed = parse("top.sub.m", "from . import x\nfrom ..pkg import y\nfrom .. import z\n")
    assert targets(parsed) == ["top.sub", "top.sub.x", "top.pkg", "top.pkg.y", "top", "top.z"]
    # in a package's __init__: relative to the package itself
    parsed = parse("top.sub", "from . import x\nfrom .x import X\n", is_package=True)
    assert targets(parsed) == ["top.sub", "top.sub.x", "top.sub.x", "top.sub.x.X"]


def test_relative_import_beyond_the_top_level_is_skipped() -> None:
    parsed = parse("top", "from .. import nothing\nimport os\n")
    assert targets(parsed) == ["os"]


def test_in_function_and_conditional_flags() -> None:
    parsed = parse(
        "m",
        """\
        import always
        try:
            import optional
        except ImportError:
            optional = None
        if optional:
            import when_true
        with open(__file__):
            import in_with

        def f():
            import lazy
            try:
                import lazy_optional
            except ImportError:
                pass

        async def g():
            import async_lazy

        h = lambda: __import__("x")

        class C:
            import in_class
        """,
    )
    flags = {r.target: (r.conditional, r.in_function) for r in parsed.imports}
    assert flags == {
        "always": (False, False),
        "optional": (True, False),
        "when_true": (True, False),
        "in_with": (True, False),
        "lazy": (False, True),
        "lazy_optional": (True, True),
        "async_lazy": (False, True),
        "in_class": (False, False),  # class bodies run at import
    }


def test_unparsable_source_has_no_imports() -> None:
    parsed = parse("m", "import os\ndef f(:\n")
    assert parsed.syntax_ok is False
    assert parsed.imports == ()


def test_project_targets_include_parent_packages_and_submodules() -> None:
    modules = {n: module(n) for n in ("pkg", "pkg.sub", "pkg.sub.leaf", "other")}
    parsed = parse("m", "from pkg.sub import leaf, func\nimport pkg.sub\nimport os\n")
    found = {ref.target: project_targets(ref, modules) for ref in parsed.imports}
    assert found == {
        "pkg.sub": ["pkg", "pkg.sub"],
        "pkg.sub.leaf": ["pkg", "pkg.sub", "pkg.sub.leaf"],
        "pkg.sub.func": ["pkg", "pkg.sub"],  # an attribute, not a module
        "os": [],
    }


def test_external_top_levels_are_what_the_worker_keeps_warm() -> None:
    modules = {n: module(n) for n in ("app", "app.util")}
    parsed = [
        parse("app", "from __future__ import annotations\nimport json\nimport app.util\n"),
        parse(
            "app.util",
            "import xml.dom\nfrom collections import abc\ndef f():\n    import lazy_third_party\n",
        ),
    ]
    assert external_top_levels(parsed, modules) == {"json", "xml.dom", "collections"}


# -- core/graph.py ----------------------------------------------------------------


def graph_of(sources: dict[str, str], packages: tuple[str, ...] = ()) -> ImportGraph:
    modules = {n: module(n, n in packages) for n in sources}
    parsed = {n: parse(n, s, n in packages) for n, s in sources.items()}
    graph = ImportGraph()
    graph.set_static(parsed, modules)
    return graph


def test_dependents_are_reverse_and_transitive() -> None:
    graph = graph_of(
        {
            "a": "",
            "b": "import a\n",
            "c": "from b import thing\n",
            "d": "import c\nimport os\n",
            "unrelated": "import os\n",
        }
    )
    assert graph.imports_of("c") == {"b"}
    assert graph.dependents(["a"]) == {"b", "c", "d"}
    assert graph.dependents(["c"]) == {"d"}
    assert graph.dependents(["d"]) == set()
    assert graph.dependents(["a", "c"]) == {"b", "d"}  # the start set is excluded
    assert graph.with_dependents(["c"]) == {"c", "d"}


def test_dependents_through_cycles() -> None:
    graph = graph_of(
        {"a": "import b\n", "b": "import a\n", "c": "from a import x\n", "d": "import d\n"}
    )
    assert graph.dependents(["a"]) == {"b", "c"}
    assert graph.dependents(["b"]) == {"a", "c"}
    assert graph.imports_of("d") == frozenset()  # a self-import is no edge


def test_submodules_depend_on_their_parent_packages() -> None:
    graph = graph_of(
        {"pkg": "", "pkg.sub": "", "pkg.sub.leaf": "X = 1\n", "user": "from pkg.sub import leaf\n"},
        packages=("pkg", "pkg.sub"),
    )
    assert graph.imports_of("pkg.sub.leaf") == {"pkg", "pkg.sub"}
    assert graph.dependents(["pkg"]) == {"pkg.sub", "pkg.sub.leaf", "user"}
    assert graph.dependents(["pkg.sub.leaf"]) == {"user"}


def test_observed_edges_count_until_the_importer_changes() -> None:
    graph = graph_of({"plugin": "X = 1\n", "loader": "import importlib\n"})
    assert graph.dependents(["plugin"]) == set()
    graph.add_observed([("loader", "plugin"), ("loader", "json")])  # json is not ours
    assert graph.dependents(["plugin"]) == {"loader"}
    assert graph.imports_of("loader") == {"plugin"}
    graph.forget_observed("loader")
    assert graph.dependents(["plugin"]) == set()


def test_engine_learns_dynamic_imports_from_checks(workspace: Workspace) -> None:
    workspace.write(
        {
            "plugin.py": "X = 1\n",
            "loader.py": "import importlib\nimportlib.import_module('plugin')\n",
        }
    )
    with workspace.engine() as engine:
        assert engine.dependents(["plugin"]) == set()  # invisible to static analysis
        engine.check()
        assert engine.dependents(["plugin"]) == {"loader"}
        workspace.write({"plugin.py": "raise RuntimeError('x')\n"})
        report = engine.check_paths([workspace.path("plugin.py")])
    assert sorted(r.name for r in report.failed) == ["loader", "plugin"]


def test_uses_name_what_a_module_takes_from_others() -> None:
    parsed = parse(
        "app.views",
        """\
        import app.models as models
        from app.util import slug
        import app.core
        from app import cache
        ORDER = models.Order(1)
        def f():
            return app.core.registry.get(slug) or cache.lookup
        """,
    )
    assert {"app.models.Order", "app.util.slug", "app.core.registry.get", "app.cache.lookup"} <= (
        parsed.uses
    )


def test_changed_names_are_those_bound_differently_added_or_removed() -> None:
    before = parse("m", "def keep(x):\n    return x\n\n\ndef edit():\n    pass\n\n\nOLD = 1\n")
    after = parse("m", "def keep(x):\n    return x\n\n\ndef edit():\n    return 2\n\n\nNEW = 1\n")
    assert changed_names(before, after) == {"edit", "OLD", "NEW"}
    assert changed_names(None, after) == {"*"}  # nothing known before: anything may have changed
    assert changed_names(before, parse("m", "def broken(:\n")) == {"*"}


def test_a_use_after_a_comment_ending_in_a_dot_is_still_found() -> None:
    parsed = parse(
        "app.registry",
        """\
        def ready():
            from app.conf import settings

            # Reading it raises a better error than the lookup below would.
            settings.INSTALLED_APPS
        """,
    )
    assert "app.conf.settings.INSTALLED_APPS" in parsed.uses


def test_comprehension_variables_are_not_top_level_names() -> None:
    parsed = parse("m", "WIDTHS = {c: len(c) for c in 'ab'}\nif (n := 3):\n    pass\n")
    assert set(parsed.definitions) == {"WIDTHS", "n"}
