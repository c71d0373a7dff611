"""Static import analysis: what each project module imports, and where."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

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
    return ParsedModule(tuple(visitor.refs), True)


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, package: str) -> None:
        self.package = package
        self.refs: list[ImportRef] = []
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
                self._ref(f"{base}.{alias.name}" if base else alias.name, node, True)

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
