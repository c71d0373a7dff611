"""Static import analysis: what each project module imports, and where; what it
defines at top level and which names of other modules it uses (to check first
the dependents a save is most likely to break)."""

from __future__ import annotations

import ast
import hashlib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .discovery import ModuleInfo


@dataclass(frozen=True)
class ImportRef:
    """One imported name at one import statement (0-based lines and columns)."""

    target: str  # absolute dotted module name as written/resolved
    line: int
    column: int
    end_line: int
    end_column: int
    conditional: bool  # inside try/if/with: may be optional at run time
    in_function: bool  # runs only when the function is called, not at import
    maybe_member: bool = False  # ``from pkg import name``: a submodule or just an attribute


@dataclass(frozen=True)
class ParsedModule:
    imports: tuple[ImportRef, ...]
    syntax_ok: bool
    # Top-level name -> digest of the statements that bind it: a save's changed
    # or removed names are where its dependents break.
    definitions: Mapping[str, str] = field(default_factory=dict)
    # Dotted names of other modules this one uses: ``from m import x`` and
    # ``m.x`` through an imported ``m`` both give "m.x".
    uses: frozenset[str] = frozenset()


def parse_imports(info: ModuleInfo, source: bytes) -> ParsedModule:
    """Every import statement of ``source``; an unparsable file yields none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings belong to the check
            tree = ast.parse(source, filename=str(info.path))
    except (SyntaxError, ValueError):
        return ParsedModule((), False)
    package = info.name if info.is_package else info.name.rpartition(".")[0]
    visitor = _ImportVisitor(package)
    visitor.visit(tree)
    uses = {ref.target for ref in visitor.refs if ref.maybe_member}
    uses |= _attribute_uses(tree, visitor.aliases)
    return ParsedModule(tuple(visitor.refs), True, _definitions(tree), frozenset(uses))


def changed_names(before: ParsedModule | None, after: ParsedModule) -> frozenset[str]:
    """Top-level names a save removed, added or bound differently (all, if unknown)."""
    if before is None or not before.syntax_ok or not after.syntax_ok:
        return frozenset({"*"})
    names = set(before.definitions) | set(after.definitions)
    return frozenset(n for n in names if before.definitions.get(n) != after.definitions.get(n))


def _definitions(tree: ast.Module) -> dict[str, str]:
    """Each top-level name, with a digest of every top-level statement binding it."""
    bound: dict[str, list[str]] = {}
    for statement in tree.body:
        text = ast.dump(statement, include_attributes=False)
        for name in _bound_names(statement):
            bound.setdefault(name, []).append(text)
    return {
        name: hashlib.blake2b("\n".join(texts).encode(), digest_size=8).hexdigest()
        for name, texts in bound.items()
    }


def _bound_names(statement: ast.stmt) -> Iterable[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield statement.name
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            yield (alias.asname or alias.name).split(".")[0]
    else:  # assignments, and whatever else binds names at top level (for, with, if...)
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                yield node.id
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield node.name


def _attribute_uses(tree: ast.Module, aliases: Mapping[str, str]) -> set[str]:
    """``m.x`` where ``m`` is bound by an import of a module: "module.x"."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = [node.attr]
            value = node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in aliases:
                found.add(".".join([aliases[value.id], *reversed(chain)]))
    return found


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, package: str) -> None:
        self.package = package
        self.refs: list[ImportRef] = []
        self.aliases: dict[str, str] = {}  # local name -> the module an import bound to it
        self.function_depth = 0
        self.conditional_depth = 0

    def _ref(self, target: str, node: ast.stmt, maybe_member: bool = False) -> None:
        self.refs.append(
            ImportRef(
                target=target,
                line=node.lineno - 1,
                column=node.col_offset,
                end_line=(node.end_lineno or node.lineno) - 1,
                end_column=node.end_col_offset or node.col_offset,
                conditional=self.conditional_depth > 0,
                in_function=self.function_depth > 0,
                maybe_member=maybe_member,
            )
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._ref(alias.name, node)
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:  # ``import a.b`` binds ``a``, and ``a.b.x`` reads through it
                top = alias.name.split(".")[0]
                self.aliases.setdefault(top, top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._resolve(node.module, node.level)
        if base is None:
            return
        if base:
            self._ref(base, node)
        # ``from pkg import sub`` may import the submodule pkg.sub; which names
        # are modules is decided later against the project's module list.
        for alias in node.names:
            if alias.name != "*":
                target = f"{base}.{alias.name}" if base else alias.name
                self._ref(target, node, True)
                # ``from pkg import sub`` may bind a module: ``sub.x`` uses "pkg.sub.x".
                self.aliases.setdefault(alias.asname or alias.name, target)

    def _resolve(self, module: str | None, level: int) -> str | None:
        if level == 0:
            return module or ""
        parts = self.package.split(".") if self.package else []
        if level - 1 > len(parts):
            return None  # beyond the top-level package: an error at run time
        base_parts = parts[: len(parts) - (level - 1)]
        if module:
            base_parts.append(module)
        return ".".join(base_parts)

    def _nested(self, node: ast.AST, function: bool) -> None:
        if function:
            self.function_depth += 1
        else:
            self.conditional_depth += 1
        self.generic_visit(node)
        if function:
            self.function_depth -= 1
        else:
            self.conditional_depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._nested(node, True)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._nested(node, True)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._nested(node, True)

    def visit_Try(self, node: ast.Try) -> None:
        self._nested(node, False)

    def visit_If(self, node: ast.If) -> None:
        self._nested(node, False)

    def visit_With(self, node: ast.With) -> None:
        self._nested(node, False)


def project_targets(ref: ImportRef, modules: Mapping[str, ModuleInfo]) -> list[str]:
    """Project modules that executing ``ref`` imports: the target and its parent packages."""
    parts = ref.target.split(".")
    found = []
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if name in modules:
            found.append(name)
    return found


def external_top_levels(
    parsed: Iterable[ParsedModule], modules: Mapping[str, ModuleInfo]
) -> set[str]:
    """Non-project modules imported at module level: what a warm worker pre-imports."""
    project_tops = {name.split(".")[0] for name in modules}
    names: set[str] = set()
    for module in parsed:
        for ref in module.imports:
            if ref.in_function or ref.maybe_member or not ref.target:
                continue
            top = ref.target.split(".")[0]
            if top in project_tops or top == "__future__":
                continue
            names.add(ref.target)
    return names
