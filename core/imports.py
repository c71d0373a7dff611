"""Static import analysis: what each project module imports, and where; what it
defines at top level and which names of other modules it uses (to check first
the dependents a save is most likely to break)."""

from __future__ import annotations

import ast
import hashlib
import re
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
    definitions: Mapping[str, bytes] = field(default_factory=dict)
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
    scan = _Scan(package)
    scan.statements(tree.body, in_function=False, conditional=False)
    uses = {ref.target for ref in scan.refs if ref.maybe_member}
    uses |= scan.attribute_uses(source.decode("utf-8", "replace"))
    lines = source.splitlines()
    return ParsedModule(tuple(scan.refs), True, _definitions(tree, lines), frozenset(uses))


def changed_names(before: ParsedModule | None, after: ParsedModule) -> frozenset[str]:
    """Top-level names a save removed, added or bound differently (all, if unknown)."""
    if before is None or not before.syntax_ok or not after.syntax_ok:
        return frozenset({"*"})
    names = set(before.definitions) | set(after.definitions)
    return frozenset(n for n in names if before.definitions.get(n) != after.definitions.get(n))


def _definitions(tree: ast.Module, lines: list[bytes]) -> dict[str, bytes]:
    """Each top-level name, with a digest of the text of every top-level statement
    binding it.  Text rather than an AST dump (a tenth of the time on large files):
    an edited comment inside a function marks it changed, which only orders its
    users' checks earlier."""
    bound: dict[str, hashlib.blake2b] = {}
    for statement in tree.body:
        first = min(
            [statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))]
        )
        text = b"\n".join(lines[first - 1 : statement.end_lineno or statement.lineno])
        for name in _bound_names(statement, b":=" in text):
            digest = bound.get(name)
            if digest is None:
                digest = bound[name] = hashlib.blake2b(digest_size=8)
            digest.update(text + b"\0")
    return {name: digest.digest() for name, digest in bound.items()}


def _bound_names(statement: ast.stmt, walrus: bool) -> Iterable[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        yield statement.name
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        for alias in statement.names:
            yield (alias.asname or alias.name).split(".")[0]
    else:  # assignments, and whatever else binds names at top level (for, with, if...)
        if isinstance(statement, ast.Assign):
            parts: list[ast.AST] = [*statement.targets]
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            parts = [statement.target]
        elif isinstance(statement, ast.Expr):
            parts = []
        else:
            parts = [statement]
        if walrus and isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr)):
            parts.extend(n for n in ast.walk(statement) if isinstance(n, ast.NamedExpr))
        for part in parts:
            for node in ast.walk(part):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    yield node.id
                elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    yield node.name


# Statements with statement lists inside; the rest hold only expressions.
_BLOCKS = ("body", "orelse", "finalbody")
_CONDITIONAL = (ast.Try, ast.If, ast.With)  # an import inside may be optional at run time
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_CHAIN = re.compile(r"(?<![\w.])([^\W\d]\w*)((?:[ \t]*\.[ \t]*[^\W\d]\w*)+)")  # a.b.c


class _Scan:
    """One pass over the statements: imports can only be statements."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.refs: list[ImportRef] = []
        self.aliases: dict[str, str] = {}  # local name -> the module an import bound to it

    def statements(self, body: list[ast.stmt], in_function: bool, conditional: bool) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                self._import(node, in_function, conditional)
            elif isinstance(node, ast.ImportFrom):
                self._import_from(node, in_function, conditional)
            else:
                self._compound(node, in_function, conditional)

    def _compound(self, node: ast.stmt, in_function: bool, conditional: bool) -> None:
        function = in_function or isinstance(node, _FUNCTIONS)
        inside = conditional or isinstance(node, _CONDITIONAL)
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if block:
                self.statements(block, function, inside)
        for handler in getattr(node, "handlers", ()):
            self.statements(handler.body, function, inside)
        for case in getattr(node, "cases", ()):
            self.statements(case.body, function, inside)

    def attribute_uses(self, text: str) -> set[str]:
        """``m.x`` where ``m`` is bound by an import of a module: "module.x".

        Read from the text, not the tree: walking every expression node took
        most of a project's scan.  Chains in comments and strings count too,
        which only moves a dependent earlier in the order of checks.
        """
        if not self.aliases:
            return set()
        found: set[str] = set()
        for match in _CHAIN.finditer(text):
            module = self.aliases.get(match.group(1))
            if module is None:
                continue
            chain = [part.strip() for part in match.group(2).split(".")[1:]]
            for end in range(1, len(chain) + 1):
                found.add(".".join([module, *chain[:end]]))
        return found

    def _ref(
        self,
        target: str,
        node: ast.stmt,
        in_function: bool,
        conditional: bool,
        maybe_member: bool = False,
    ) -> None:
        self.refs.append(
            ImportRef(
                target=target,
                line=node.lineno - 1,
                column=node.col_offset,
                end_line=(node.end_lineno or node.lineno) - 1,
                end_column=node.end_col_offset or node.col_offset,
                conditional=conditional,
                in_function=in_function,
                maybe_member=maybe_member,
            )
        )

    def _import(self, node: ast.Import, in_function: bool, conditional: bool) -> None:
        for alias in node.names:
            self._ref(alias.name, node, in_function, conditional)
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:  # ``import a.b`` binds ``a``, and ``a.b.x`` reads through it
                top = alias.name.split(".")[0]
                self.aliases.setdefault(top, top)

    def _import_from(self, node: ast.ImportFrom, in_function: bool, conditional: bool) -> None:
        base = self._resolve(node.module, node.level)
        if base is None:
            return
        if base:
            self._ref(base, node, in_function, conditional)
        # ``from pkg import sub`` may import the submodule pkg.sub; which names
        # are modules is decided later against the project's module list.
        for alias in node.names:
            if alias.name != "*":
                target = f"{base}.{alias.name}" if base else alias.name
                self._ref(target, node, in_function, conditional, True)
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
