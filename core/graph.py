"""The project import graph: static edges merged with edges observed at run time."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping

from .discovery import ModuleInfo
from .imports import ParsedModule, project_targets


class ImportGraph:
    """Edges ``importer -> imported`` between project modules.

    Static edges come from the source; observed edges from checks (imports
    made dynamically, e.g. through ``importlib.import_module``).  Observed
    edges of a module are dropped when its source changes, because they
    describe the old code.
    """

    def __init__(self) -> None:
        self._static: dict[str, frozenset[str]] = {}
        self._observed: dict[str, set[str]] = defaultdict(set)
        self._reverse: dict[str, set[str]] | None = None  # imported -> importers, cached

    def set_static(
        self, parsed: Mapping[str, ParsedModule], modules: Mapping[str, ModuleInfo]
    ) -> None:
        self._static = {name: _targets(name, module, modules) for name, module in parsed.items()}
        for name in list(self._observed):
            if name not in modules:
                del self._observed[name]
        self._reverse = None

    def update_static(
        self, name: str, parsed: ParsedModule, modules: Mapping[str, ModuleInfo]
    ) -> None:
        """One module's source changed (the module list did not)."""
        self._static[name] = _targets(name, parsed, modules)
        self._observed.pop(name, None)  # they describe the old code
        self._reverse = None

    def forget_observed(self, name: str) -> None:
        if self._observed.pop(name, None) is not None:
            self._reverse = None

    def add_observed(self, edges: Iterable[tuple[str, str]]) -> None:
        for importer, imported in edges:
            known = importer in self._static and imported in self._static
            if known and importer != imported and imported not in self._observed[importer]:
                self._observed[importer].add(imported)
                self._reverse = None

    def imports_of(self, name: str) -> frozenset[str]:
        return self._static.get(name, frozenset()) | self._observed.get(name, set())

    def dependents(self, names: Iterable[str]) -> set[str]:
        """Every module that imports any of ``names``, directly or not (cycles are fine)."""
        return set(self.distances(names))

    def distances(self, names: Iterable[str]) -> dict[str, int]:
        """Every module that imports any of ``names``, with how many imports away (1:
        it imports one of them itself)."""
        reverse = self._reverse_edges()
        start = set(names)
        found: dict[str, int] = {}
        queue = deque((name, 0) for name in start)
        while queue:
            current, distance = queue.popleft()
            for importer in reverse.get(current, ()):
                if importer not in found and importer not in start:
                    found[importer] = distance + 1
                    queue.append((importer, distance + 1))
        return found

    def _reverse_edges(self) -> dict[str, set[str]]:
        if self._reverse is None:
            reverse: dict[str, set[str]] = defaultdict(set)
            for importer in self._static:
                for imported in self.imports_of(importer):
                    reverse[imported].add(importer)
            self._reverse = reverse
        return self._reverse

    def with_dependents(self, names: Iterable[str]) -> set[str]:
        names = set(names)
        return names | self.dependents(names)


def _targets(name: str, module: ParsedModule, modules: Mapping[str, ModuleInfo]) -> frozenset[str]:
    targets: set[str] = set()
    for ref in module.imports:
        targets.update(project_targets(ref, modules))
    # A submodule's import always runs its parent packages first.
    parts = name.split(".")
    parents = (".".join(parts[:i]) for i in range(1, len(parts)))
    targets.update(p for p in parents if p in modules)
    targets.discard(name)
    return frozenset(targets)
