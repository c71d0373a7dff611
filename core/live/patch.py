"""A verified change applied to a running program's modules, in place, all or nothing.

For each changed file whose module the program has loaded, the old and the new
source are compared statement by statement at the top level (and inside
classes), and only what changed is compiled: a save that touches one function
of a module of a thousand costs the compilation of that function.  Then:

- a function whose body changed keeps its identity and gets the new code
  (``__code__``, defaults, docstring): references taken before, callbacks
  registered before, bound methods and ``from m import f`` bindings run the new
  body at their next call.  A decorated function keeps its wrapper and its
  registration; the function behind it (``__wrapped__``, or a closure cell of
  the wrapper) gets the new code;
- methods, properties, static and class methods of existing classes likewise,
  so existing instances run them; methods added are added, removed removed;
- functions, classes and constants added are defined (an added function's
  decorators run, once, as a fresh import would run them);
- a constant whose value is a plain expression (no call) is rebound, and so
  are the ``from m import NAME`` bindings of loaded modules that still hold the
  old value; values computed from it at import elsewhere are reported stale;
- names removed are removed, and loaded modules still holding them reported;
- anything else (a call, a registration, a loop at top level; a class's bases,
  metaclass or decorators; a dataclass's, NamedTuple's or Enum's fields;
  ``__slots__``; a closure whose free variables changed) refuses the whole
  change with a reason; top-level code is re-run instead if the user opted in
  (``rerun``).  Extension modules are never reloaded: the checker only verifies
  Python source, so a rebuilt one needs a restart.

Code running now (a loop inside ``main()``, a generator in flight) keeps its
frame: the change takes effect at its next call, and the outcome says so.  The
table, and how this compares with IPython's autoreload and jurigged:
docs/live.md.
"""

from __future__ import annotations
import __future__

import ast
import os
import sys
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple

from .protocol import Change, Refusal, Stale

# Statements that bind no name and that re-running would repeat: changing them
# needs a restart (or the user's opt-in to re-run the module).
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_PURE_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Attribute, ast.Tuple, ast.List,
    ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.Subscript,
    ast.Slice, ast.IfExp, ast.JoinedStr, ast.FormattedValue, ast.Starred, ast.keyword,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context,
)  # fmt: skip
if sys.version_info < (3, 9):  # pragma: no cover - 3.8's subscripts and constants
    _PURE_NODES += (ast.Index, ast.Num, ast.Str, ast.Bytes, ast.NameConstant)  # type: ignore[attr-defined]


class Refused(Exception):
    """This change cannot be applied safely; the reason is worded for the user."""

    def __init__(self, path: str, line: int, reason: str, rerunnable: bool = False) -> None:
        super().__init__(reason)
        self.path, self.line, self.reason = path, line, reason
        self.rerunnable = rerunnable  # re-running the module's code (the opt-in) would do it


# -- what the program runs ---------------------------------------------------------------


class Statement:
    """A top-level (or class-level) statement: its lines, its kind and what it binds."""

    def __init__(self, node: ast.stmt) -> None:
        self.node = node
        decorators = getattr(node, "decorator_list", [])
        self.start = min([node.lineno] + [d.lineno for d in decorators])
        self.end = node.end_lineno or node.lineno
        self.key = _key(node)
        self.text = ast.dump(node, include_attributes=False)


def _key(node: ast.stmt) -> Tuple[str, str]:
    """What a statement is, for matching an old one with a new one."""
    if isinstance(node, _DEFINITIONS):
        return ("def" if not isinstance(node, ast.ClassDef) else "class", node.name)
    target = _assigned_name(node)
    if target is not None:
        return ("name", target)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return ("import", ast.dump(node, include_attributes=False))
    return ("code", ast.dump(node, include_attributes=False))


def _assigned_name(node: ast.stmt) -> Optional[str]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        return node.target.id
    return None


class Snapshot:
    """The source a loaded module runs, and its statements (parsed when first needed)."""

    def __init__(self, module: types.ModuleType, path: str, source: str) -> None:
        self.module = module
        self.path = path
        self.source = source
        self.lines = source.splitlines(True)
        self._statements: Optional[List[Statement]] = None
        self.future_flags = 0  # ``from __future__`` imports: statements compiled alone need them

    @property
    def statements(self) -> List[Statement]:
        if self._statements is None:
            tree = ast.parse(self.source, self.path)
            self.update(self.source, [Statement(node) for node in tree.body])
        assert self._statements is not None
        return self._statements

    def update(self, source: str, statements: List[Statement]) -> None:
        """The module runs ``source`` now."""
        self.source, self.lines, self._statements = source, source.splitlines(True), statements
        self.future_flags = 0
        for statement in statements:
            node = statement.node
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                for alias in node.names:
                    feature = getattr(__future__, alias.name, None)
                    self.future_flags |= getattr(feature, "compiler_flag", 0)


# -- planning -----------------------------------------------------------------------------


class Plan:
    """What applying a change does, each step with its undo; nothing done yet."""

    def __init__(self) -> None:
        self.steps: List[Tuple[Callable[[], None], Callable[[], None]]] = []
        self.changes: List[Change] = []
        self.refused: List[Refusal] = []
        self.stale: List[Stale] = []
        self.replaced: Set[types.CodeType] = set()  # old code objects: running ones are noted
        self.snapshots: List[Tuple[Snapshot, str, List[Statement]]] = []

    def mark(self) -> Tuple[int, int, int, int, int]:
        return (len(self.steps), len(self.changes), len(self.stale), len(self.snapshots),
                len(self.refused))  # fmt: skip

    def rewind(self, mark: Tuple[int, int, int, int, int]) -> None:
        """Forget what was planned since ``mark`` (a module about to be planned again)."""
        steps, changes, stale, snapshots, refused = mark
        del self.steps[steps:], self.changes[changes:], self.stale[stale:]
        del self.snapshots[snapshots:], self.refused[refused:]

    def step(self, do: Callable[[], None], undo: Callable[[], None]) -> None:
        self.steps.append((do, undo))

    def note(self, module: str, kind: str, name: str, action: str) -> None:
        self.changes.append({"module": module, "kind": kind, "name": name, "action": action})

    def refuse(self, exc: Refused) -> None:
        self.refused.append({"path": exc.path, "line": exc.line, "reason": exc.reason})

    def apply(self) -> None:
        """Every step, or (if one fails) none: the ones done are undone, newest first."""
        done: List[Callable[[], None]] = []
        try:
            for do, undo in self.steps:
                done.append(undo)  # a step that fails half-way is undone too
                do()
        except BaseException:
            for undo in reversed(done):
                try:
                    undo()
                except Exception:
                    pass
            raise
        for snapshot, source, statements in self.snapshots:
            snapshot.update(source, statements)

    def summary(self) -> str:
        """One line: "2 functions changed, 1 added; 1 constant rebound"."""
        counts: Dict[str, Dict[str, int]] = {}
        for change in self.changes:
            kind = {"method": "function"}.get(change["kind"], change["kind"])
            actions = counts.setdefault(kind, {})
            actions[change["action"]] = actions.get(change["action"], 0) + 1
        parts = []
        for kind, actions in counts.items():
            words: List[str] = []
            for action, count in actions.items():
                noun = kind if count == 1 else {"class": "classes"}.get(kind, kind + "s")
                words.append(
                    "%d %s %s" % (count, noun, action) if not words else "%d %s" % (count, action)
                )
            parts.append(", ".join(words))
        return "; ".join(parts) or "nothing to change"


def plan(
    snapshot: Snapshot,
    new_source: str,
    loaded: Sequence[types.ModuleType],
    rerun: bool = False,
    into: Optional[Plan] = None,
) -> Plan:
    """How to bring ``snapshot``'s module to ``new_source``; refusals are in ``plan.refused``."""
    result = into or Plan()
    mark = result.mark()
    try:
        _Planner(snapshot, new_source, loaded, result).run()
    except Refused as exc:
        if not (rerun and exc.rerunnable):
            result.refuse(exc)
        else:  # the opt-in: this module's code runs again instead
            result.rewind(mark)
            try:
                _plan_rerun(snapshot, new_source, loaded, result)
            except Refused as again:
                result.refuse(again)
    except SyntaxError as exc:  # the checker verified it: only an interpreter difference
        result.refuse(Refused(snapshot.path, exc.lineno or 1, "SyntaxError: %s" % exc.msg))
    return result


class _Planner:
    def __init__(
        self, snapshot: Snapshot, source: str, loaded: Sequence[types.ModuleType], result: Plan
    ) -> None:
        self.snapshot = snapshot
        self.module = snapshot.module
        self.name = self.module.__name__
        self.path = snapshot.path
        self.source = source
        self.lines = source.splitlines(True)
        self.loaded = loaded
        self.plan = result

    def run(self) -> None:
        old = self.snapshot.statements
        if self.lines == self.snapshot.lines:
            return
        first, last, delta, new = self._changed_region(old)
        bound = {n for s in old[:first] + new + old[last:] for n in _bound_names(s.node)}
        self._compare(old[first:last], new, bound)
        new_statements = old[:first] + new + [self._shifted(s, delta) for s in old[last:]]
        if delta:
            self._shift_code(old[last:], delta)
        self.plan.snapshots.append((self.snapshot, self.source, new_statements))

    # -- which statements changed ------------------------------------------------------
    def _changed_region(self, old: List[Statement]) -> Tuple[int, int, int, List[Statement]]:
        """Old statements [first, last) that the edit touches, the line shift after
        them, and the new statements in their place (only they are parsed)."""
        a, b = self.snapshot.lines, self.lines
        prefix = 0
        limit = min(len(a), len(b))
        while prefix < limit and a[prefix] == b[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
            suffix += 1
        delta = len(b) - len(a)
        lo, hi = prefix + 1, len(a) - suffix  # 1-based old lines that changed (may be empty)
        first = next((i for i, s in enumerate(old) if s.end >= lo), len(old))
        last = first
        while last < len(old) and old[last].start <= max(hi, lo - 1):
            last += 1
        start = old[first].start if first < len(old) else len(a) + 1
        start = min(start, lo)
        end = old[last - 1].end if last > first else start - 1
        end = max(end, hi)
        chunk = "".join(b[start - 1 : end + delta])
        try:
            tree = ast.parse(chunk, self.path)
        except SyntaxError:  # the region's edges are not statement edges: parse it all
            tree = ast.parse(self.source, self.path)
            return 0, len(old), delta, [Statement(node) for node in tree.body]
        ast.increment_lineno(tree, start - 1)
        return first, last, delta, [Statement(node) for node in tree.body]

    @staticmethod
    def _shifted(statement: Statement, delta: int) -> Statement:
        if delta:
            ast.increment_lineno(statement.node, delta)
            statement.start += delta
            statement.end += delta
        return statement

    # -- comparing -------------------------------------------------------------------
    def _compare(self, old: List[Statement], new: List[Statement], bound: Set[str]) -> None:
        """``bound``: the names the new source binds at top level (all of it)."""
        old_by_key = {s.key: s for s in old}
        new_by_key = {s.key: s for s in new}
        code = [s for s in new if s.key not in old_by_key and s.key[0] == "code"]
        gone = [s for s in old if s.key not in new_by_key and s.key[0] == "code"]
        for statement in code + gone:
            if not _inert(statement.node):
                raise Refused(
                    self.path,
                    statement.start,
                    "top-level code changed at line %d (%s), which hotmod does not re-run "
                    "unless asked to (apply with re-run)"
                    % (statement.start, _describe(statement.node)),
                    rerunnable=True,
                )
        compiled = self._compile([s for s in new if s.key in old_by_key or s.key[0] != "code"])
        for statement in new:
            before = old_by_key.get(statement.key)
            if before is None:
                if statement.key[0] != "code":
                    self._added(statement, compiled)
            elif before.text != statement.text:
                self._changed(before, statement, compiled)
        for statement in old:
            if statement.key not in new_by_key and statement.key[0] != "code":
                self._removed(statement, bound)

    def _compile(self, statements: List[Statement]) -> Dict[Tuple[str, int], types.CodeType]:
        """The code objects of these statements' functions and classes, by (name, line)."""
        found: Dict[Tuple[str, int], types.CodeType] = {}
        if not statements:
            return found
        module = ast.Module(body=[s.node for s in statements], type_ignores=[])
        code = self._code(module)
        stack = [code]
        while stack:
            current = stack.pop()
            for const in current.co_consts:
                if isinstance(const, types.CodeType):
                    found[(const.co_name, const.co_firstlineno)] = const
                    stack.append(const)
        return found

    def _code(self, module: ast.Module) -> types.CodeType:
        """Compiled as part of the module: with its ``from __future__`` imports."""
        flags = self.snapshot.future_flags
        code: types.CodeType = compile(module, self.path, "exec", flags=flags, dont_inherit=True)
        return code

    # -- what to do ----------------------------------------------------------------------
    def _changed(
        self, old: Statement, new: Statement, compiled: Dict[Tuple[str, int], types.CodeType]
    ) -> None:
        kind = new.key[0]
        if kind == "def":
            function = self._function_behind(self.module.__dict__.get(new.key[1]), old)
            self._patch_function(function, old.node, new.node, compiled, self.module.__dict__)
            self.plan.note(self.name, "function", new.key[1], "changed")
        elif kind == "class":
            self._patch_class(self.module.__dict__.get(new.key[1]), old, new, compiled)
        elif kind == "name":
            self._rebind(new, old)
        elif kind == "import":  # key holds the whole statement: only added or removed
            pass

    def _added(self, new: Statement, compiled: Dict[Tuple[str, int], types.CodeType]) -> None:
        kind, name = new.key
        namespace = self.module.__dict__
        if kind == "name" and not _pure(new.node.value):  # type: ignore[attr-defined]
            raise Refused(
                self.path,
                new.start,
                "%s = ... at line %d is computed by a call, which hotmod does not run "
                "unless asked to (apply with re-run)" % (name, new.start),
                rerunnable=True,
            )
        code = self._code(ast.Module(body=[new.node], type_ignores=[]))
        bound = _bound_names(new.node)
        before = {n: namespace[n] for n in bound if n in namespace}

        def do() -> None:
            exec(code, namespace)

        def undo() -> None:
            for n in bound:
                if n in before:
                    namespace[n] = before[n]
                else:
                    namespace.pop(n, None)

        self.plan.step(do, undo)
        label = {"def": "function", "class": "class", "name": "constant"}.get(kind, "import")
        self.plan.note(self.name, label, name if kind != "import" else ", ".join(bound), "added")

    def _removed(self, old: Statement, bound: Set[str]) -> None:
        namespace = self.module.__dict__
        for name in _bound_names(old.node):
            if name not in namespace or name in bound:
                continue  # still bound (``def f`` became ``f = ...``): the new binding stands
            value = namespace[name]
            self.plan.step(
                lambda name=name: namespace.pop(name, None),  # type: ignore[misc]
                lambda name=name, value=value: namespace.__setitem__(name, value),  # type: ignore[misc]
            )
            if old.key[0] != "import":
                self.plan.note(self.name, _kind(value), name, "removed")
                self._holders(value, name, "removed")

    def _rebind(self, new: Statement, old: Statement) -> None:
        name = new.key[1]
        node = new.node
        value_node = node.value  # type: ignore[attr-defined]
        if not _pure(value_node):
            raise Refused(
                self.path,
                new.start,
                "%s = ... at line %d is computed by a call, which hotmod does not re-run "
                "unless asked to (apply with re-run)" % (name, new.start),
                rerunnable=True,
            )
        namespace = self.module.__dict__
        expression = compile(ast.Expression(body=value_node), self.path, "eval")
        value = eval(expression, namespace)  # names, attributes, operators: no call runs
        had = name in namespace
        old_value = namespace.get(name)
        holders = self._holders(old_value, name, "") if had else []

        def do() -> None:
            namespace[name] = value
            for holder, local in holders:
                holder.__dict__[local] = value

        def undo() -> None:
            if had:
                namespace[name] = old_value
            else:
                namespace.pop(name, None)
            for holder, local in holders:
                holder.__dict__[local] = old_value

        self.plan.step(do, undo)
        self.plan.note(self.name, "constant", name, "rebound")
        self._computed_from(name)

    # -- functions and classes ---------------------------------------------------------
    def _function_behind(self, value: Any, old: Statement) -> types.FunctionType:
        """The function object a ``def`` made, behind whatever decorated it."""
        name = old.key[1]
        found = _unwrap(value, name)
        if found is None:
            raise Refused(
                self.path,
                old.start,
                "cannot find the function %s behind its decorators" % name,
            )
        return found

    def _patch_function(
        self,
        function: types.FunctionType,
        old: ast.stmt,
        new: ast.stmt,
        compiled: Dict[Tuple[str, int], types.CodeType],
        globals_: Dict[str, Any],
    ) -> None:
        assert isinstance(new, (ast.FunctionDef, ast.AsyncFunctionDef))
        assert isinstance(old, (ast.FunctionDef, ast.AsyncFunctionDef))
        line = min([new.lineno] + [d.lineno for d in new.decorator_list])
        if _dump_all(old.decorator_list) != _dump_all(new.decorator_list):
            raise Refused(
                self.path,
                line,
                "the decorators of %s changed" % new.name,
            )
        code = compiled.get((new.name, line)) or compiled.get((new.name, new.lineno))
        if code is None:  # pragma: no cover - compile() always makes one
            raise Refused(self.path, line, "no code was compiled for %s" % new.name)
        if code.co_freevars != function.__code__.co_freevars:
            raise Refused(
                self.path,
                line,
                "%s now uses other variables of its enclosing scope (%s)"
                % (new.name, ", ".join(code.co_freevars) or "none"),
            )
        defaults, kwdefaults = self._defaults(new, line, globals_)
        before = (function.__code__, function.__defaults__, function.__kwdefaults__,
                  function.__doc__)  # fmt: skip
        doc = ast.get_docstring(new, clean=False)

        def do() -> None:
            function.__code__ = code
            function.__defaults__ = defaults
            function.__kwdefaults__ = kwdefaults
            function.__doc__ = doc

        def undo() -> None:
            (function.__code__, function.__defaults__, function.__kwdefaults__,
             function.__doc__) = before  # fmt: skip

        self.plan.step(do, undo)
        self.plan.replaced.add(function.__code__)

    def _defaults(
        self, node: ast.stmt, line: int, globals_: Dict[str, Any]
    ) -> Tuple[Optional[Tuple[Any, ...]], Optional[Dict[str, Any]]]:
        arguments = node.args  # type: ignore[attr-defined]
        expressions = list(arguments.defaults) + [d for d in arguments.kw_defaults if d]
        for expression in expressions:
            if not _pure(expression):
                raise Refused(
                    self.path,
                    line,
                    "a default value of %s is computed by a call" % node.name,  # type: ignore[attr-defined]
                )
        values = tuple(self._evaluate(d, globals_) for d in arguments.defaults)
        keyword = {
            a.arg: self._evaluate(d, globals_)
            for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults)  # noqa: B905
            if d is not None
        }
        return (values or None), (keyword or None)

    def _evaluate(self, node: ast.expr, globals_: Dict[str, Any]) -> Any:
        return eval(compile(ast.Expression(body=node), self.path, "eval"), globals_)

    def _patch_class(
        self,
        cls: Any,
        old: Statement,
        new: Statement,
        compiled: Dict[Tuple[str, int], types.CodeType],
    ) -> None:
        old_node, new_node = old.node, new.node
        assert isinstance(old_node, ast.ClassDef) and isinstance(new_node, ast.ClassDef)
        name = new_node.name
        if not isinstance(cls, type):
            raise Refused(
                self.path, new.start, "%s is no longer the class its statement made" % name
            )
        for part, label in (("bases", "bases"), ("keywords", "metaclass or class keywords"),
                            ("decorator_list", "decorators")):  # fmt: skip
            if _dump_all(getattr(old_node, part)) != _dump_all(getattr(new_node, part)):
                raise Refused(
                    self.path,
                    new.start,
                    "the %s of class %s changed" % (label, name),  # fmt: skip
                )
        self._check_layout(cls, old_node, new_node, new.start)
        old_body = {_member_key(s): s for s in old_node.body}
        new_body = {_member_key(s): s for s in new_node.body}
        for key, node in new_body.items():
            before = old_body.get(key)
            line = Statement(node).start
            if before is None:
                self._add_to_class(cls, node, compiled, line)
            elif _dump(before) != _dump(node):
                self._change_in_class(cls, before, node, compiled, line)
        for key, node in old_body.items():
            if key not in new_body:
                self._remove_from_class(cls, node, Statement(node).start)

    def _check_layout(self, cls: type, old: ast.ClassDef, new: ast.ClassDef, line: int) -> None:
        """What instances are made of: fields, slots, members. Changing it needs a restart."""

        def fields(node: ast.ClassDef) -> List[str]:
            return [_dump(s) for s in node.body if isinstance(s, ast.AnnAssign)]

        def names(node: ast.ClassDef) -> List[str]:
            return [_dump(s) for s in node.body if _assigned_name(s) is not None]

        def slots(node: ast.ClassDef) -> List[str]:
            return [_dump(s) for s in node.body if _assigned_name(s) == "__slots__"]

        def where(select: Callable[[ast.stmt], bool]) -> int:
            """The line of the first such statement of ``new`` that ``old`` lacks (the
            field gained or changed), else the ``class`` line (one was removed)."""
            before = {_dump(s) for s in old.body if select(s)}
            changed = [s.lineno for s in new.body if select(s) and _dump(s) not in before]
            return changed[0] if changed else new.lineno

        kind = _layout_kind(cls)
        if kind and fields(old) != fields(new):
            line = where(lambda s: isinstance(s, ast.AnnAssign))
            before = {_field_name(s) for s in old.body if isinstance(s, ast.AnnAssign)}
            after = {_field_name(s) for s in new.body if isinstance(s, ast.AnnAssign)}
            what = (
                "gained a field" if after - before else "lost a field" if before - after
                else "changed a field"
            )  # fmt: skip
            raise Refused(self.path, line, "%s %s %s" % (kind, cls.__name__, what))
        if kind == "Enum" and names(old) != names(new):
            line = where(lambda s: _assigned_name(s) is not None)
            raise Refused(self.path, line, "Enum %s changed its members" % cls.__name__)
        if slots(old) != slots(new):
            line = where(lambda s: _assigned_name(s) == "__slots__")
            raise Refused(self.path, line, "the __slots__ of %s changed" % cls.__name__)

    def _change_in_class(
        self,
        cls: type,
        old: ast.stmt,
        new: ast.stmt,
        compiled: Dict[Tuple[str, int], types.CodeType],
        line: int,
    ) -> None:
        key = _key(new)
        if key[0] == "def":
            attribute, role = _method_target(new)
            function = _method_function(cls.__dict__.get(attribute), role, key[1])
            if function is None:
                raise Refused(
                    self.path,
                    line,
                    "cannot find method %s.%s behind its decorators" % (cls.__name__, key[1]),
                )
            self._patch_function(function, old, new, compiled, self.module.__dict__)
            self.plan.note(self.name, "method", "%s.%s" % (cls.__name__, key[1]), "changed")
        elif key[0] == "class":
            self._patch_class(cls.__dict__.get(key[1]), Statement(old), Statement(new), compiled)
        elif key[0] == "name":
            value_node = new.value  # type: ignore[attr-defined]
            if not _pure(value_node):
                raise Refused(
                    self.path,
                    line,
                    "%s.%s = ... is computed by a call" % (cls.__name__, key[1]),
                )
            value = self._evaluate(value_node, dict(self.module.__dict__, **dict(cls.__dict__)))
            before = cls.__dict__.get(key[1])
            self.plan.step(
                lambda: setattr(cls, key[1], value), lambda: setattr(cls, key[1], before)
            )
            self.plan.note(self.name, "constant", "%s.%s" % (cls.__name__, key[1]), "rebound")
        elif not _inert(new):
            raise Refused(
                self.path,
                line,
                "code in the body of class %s changed" % cls.__name__,
            )

    def _add_to_class(
        self, cls: type, node: ast.stmt, compiled: Dict[Tuple[str, int], types.CodeType],
        line: int,
    ) -> None:  # fmt: skip
        key = _key(node)
        if key[0] != "def":
            if key[0] == "name" and _pure(node.value):  # type: ignore[attr-defined]
                constant = self._evaluate(node.value, dict(self.module.__dict__))  # type: ignore[attr-defined]
                self.plan.step(lambda: setattr(cls, key[1], constant),
                               lambda: delattr(cls, key[1]))  # fmt: skip
                self.plan.note(self.name, "constant", "%s.%s" % (cls.__name__, key[1]), "added")
                return
            if _inert(node):
                return
            raise Refused(
                self.path,
                line,
                "code added to the body of class %s" % cls.__name__,  # fmt: skip
            )
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        code = compiled.get((node.name, line)) or compiled.get((node.name, node.lineno))
        if code is None:  # pragma: no cover
            raise Refused(self.path, line, "no code was compiled for %s" % node.name)
        closure = tuple(types.CellType(cls) if v == "__class__" else types.CellType()
                        for v in code.co_freevars)  # fmt: skip
        defaults, kwdefaults = self._defaults(node, line, self.module.__dict__)
        function = types.FunctionType(code, self.module.__dict__, node.name, defaults, closure)
        function.__kwdefaults__ = kwdefaults
        function.__qualname__ = "%s.%s" % (cls.__qualname__, node.name)
        function.__doc__ = ast.get_docstring(node, clean=False)
        value: Any = function
        namespace = dict(self.module.__dict__)
        namespace.update(cls.__dict__)
        for decorator in reversed(node.decorator_list):
            value = eval(compile(ast.Expression(body=decorator), self.path, "eval"), namespace)(
                value
            )
        attribute = node.name
        had = attribute in cls.__dict__
        before = cls.__dict__.get(attribute)

        def undo() -> None:
            if had:
                setattr(cls, attribute, before)
            else:
                delattr(cls, attribute)

        self.plan.step(lambda: setattr(cls, attribute, value), undo)
        self.plan.note(self.name, "method", "%s.%s" % (cls.__name__, node.name), "added")

    def _remove_from_class(self, cls: type, node: ast.stmt, line: int) -> None:
        key = _key(node)
        attribute, role = _method_target(node) if key[0] == "def" else (key[1], "function")
        if role != "function":  # a property's setter or deleter: the property stays
            prop = cls.__dict__.get(attribute)
            if isinstance(prop, property):
                parts: Dict[str, Any] = {"fget": prop.fget, "fset": prop.fset, "fdel": prop.fdel}
                parts[role] = None
                smaller = property(parts["fget"], parts["fset"], parts["fdel"], prop.__doc__)
                self.plan.step(lambda: setattr(cls, attribute, smaller),
                               lambda: setattr(cls, attribute, prop))  # fmt: skip
                self.plan.note(self.name, "method", "%s.%s" % (cls.__name__, _member_key(node)[1]),
                               "removed")  # fmt: skip
            return
        if key[0] in ("def", "class", "name"):
            if key[1] not in cls.__dict__:
                return
            before = cls.__dict__[key[1]]
            self.plan.step(lambda: delattr(cls, key[1]), lambda: setattr(cls, key[1], before))
            kind = "method" if key[0] == "def" else "constant" if key[0] == "name" else "class"
            self.plan.note(self.name, kind, "%s.%s" % (cls.__name__, key[1]), "removed")
        elif not _inert(node):
            raise Refused(
                self.path,
                line,
                "code removed from the body of class %s" % cls.__name__,  # fmt: skip
            )

    # -- the rest of the program -----------------------------------------------------------
    def _holders(self, value: Any, name: str, why: str) -> List[Tuple[types.ModuleType, str]]:
        """Loaded modules that took ``value`` with ``from <this module> import name`` and
        still hold it (the same object: they did not rebind it since)."""
        found = []
        for holder in self.loaded:
            if holder is self.module:
                continue
            imported = _imports_of(holder).get((self.name, name))
            if imported is None:
                continue
            local, line = imported
            if local in holder.__dict__ and holder.__dict__[local] is value:
                found.append((holder, local))
                if why:
                    self.plan.stale.append(
                        {
                            "path": getattr(holder, "__file__", "") or "",
                            "line": line,
                            "holder": holder.__name__,
                            "name": "%s.%s" % (self.name, name),
                            "why": why,
                        }
                    )
        return found

    def _computed_from(self, name: str) -> None:
        """Values that a module's import computed from ``name`` (``X = RATE * 2`` here,
        ``from m import RATE`` or ``import m`` then ``m.RATE`` elsewhere): now stale."""
        for holder in self.loaded:
            if holder is self.module:
                tree: Optional[ast.Module] = ast.Module(
                    body=[s.node for s in self.snapshot.statements], type_ignores=[]
                )
                values, modules = {name}, set()  # type: Set[str], Set[str]
            else:
                tree = _tree_of(holder)
                imports = _imports_of(holder)
                values = {imports[(self.name, name)][0]} if (self.name, name) in imports else set()
                modules = {
                    local
                    for (source, imported), (local, _) in imports.items()
                    if (source + "." + imported if imported else source) == self.name
                }
            if tree is None or not (values or modules):
                continue
            for node in tree.body:
                target = _assigned_name(node)
                if not target or target == name and holder is self.module:
                    continue
                if any(
                    (isinstance(n, ast.Name) and n.id in values)
                    or (
                        isinstance(n, ast.Attribute)
                        and n.attr == name
                        and isinstance(n.value, ast.Name)
                        and n.value.id in modules
                    )
                    for n in ast.walk(node.value)  # type: ignore[attr-defined]
                ):
                    self.plan.stale.append(
                        {
                            "path": getattr(holder, "__file__", "") or "",
                            "line": node.lineno,
                            "holder": holder.__name__,
                            "name": "%s.%s" % (holder.__name__, target),
                            "why": "computed from %s.%s at import" % (self.name, name),
                        }
                    )

    def _shift_code(self, statements: List[Statement], delta: int) -> None:
        """Functions below the edit moved by ``delta`` lines: their tracebacks follow."""
        namespace = self.module.__dict__
        for statement in statements:
            if statement.key[0] not in ("def", "class"):
                continue
            value = namespace.get(statement.key[1])
            for function in _functions_of(value, statement.key[1]):
                code = function.__code__
                if code.co_filename != self.path:
                    continue
                moved = _moved(code, delta)
                self.plan.step(
                    lambda f=function, c=moved: setattr(f, "__code__", c),  # type: ignore[misc]
                    lambda f=function, c=code: setattr(f, "__code__", c),  # type: ignore[misc]
                )


def _plan_rerun(
    snapshot: Snapshot, source: str, loaded: Sequence[types.ModuleType], result: Plan
) -> None:
    """Opt-in: run the module's new code again in its namespace, then give the old
    functions and classes the new code so that references to them follow."""
    module = snapshot.module
    namespace = module.__dict__
    code = compile(source, snapshot.path, "exec", dont_inherit=True)
    before = dict(namespace)
    tree = ast.parse(source, snapshot.path)
    bound = {n for node in tree.body for n in _bound_names(node)}
    unbound = {n for s in snapshot.statements for n in _bound_names(s.node)} - bound

    def do() -> None:
        exec(code, namespace)
        for name in unbound:  # as a fresh import of the new source would not have them
            namespace.pop(name, None)
        for name, new in list(namespace.items()):
            old = before.get(name)
            if old is new or old is None:
                continue
            if isinstance(old, types.FunctionType) and isinstance(new, types.FunctionType):
                if old.__code__.co_freevars == new.__code__.co_freevars:
                    old.__code__, old.__defaults__ = new.__code__, new.__defaults__
                    namespace[name] = old
            elif isinstance(old, type) and isinstance(new, type) and old.__bases__ == new.__bases__:
                for attribute, value in list(new.__dict__.items()):
                    if attribute not in ("__dict__", "__weakref__"):
                        try:
                            setattr(old, attribute, value)
                        except (AttributeError, TypeError):
                            pass
                namespace[name] = old

    def undo() -> None:
        namespace.clear()
        namespace.update(before)

    result.step(do, undo)
    result.note(module.__name__, "module", module.__name__, "re-run")
    result.snapshots.append((snapshot, source, [Statement(node) for node in tree.body]))


# -- helpers -----------------------------------------------------------------------------


# Code flags (``inspect.CO_*``) of functions whose calls can be suspended mid-body.
_SUSPENDABLE = 0x20 | 0x80 | 0x200  # generator, coroutine, async generator


def running(replaced: Set[types.CodeType]) -> List[str]:
    """Functions among ``replaced`` that some thread is running now, or whose
    generators or coroutines are suspended mid-body: their frames keep the old
    code (a new call, a new generator, runs the new)."""
    found = []
    for frame in sys._current_frames().values():
        current: Optional[types.FrameType] = frame
        while current is not None:
            if current.f_code in replaced:
                found.append(_qualname(current.f_code))
            current = current.f_back
    if any(code.co_flags & _SUSPENDABLE for code in replaced):
        # Suspended ones are on no thread's stack; the collector tracks them all.
        # Only paid when a generator or coroutine function changed.
        import gc

        for obj in gc.get_objects():
            if isinstance(obj, types.GeneratorType):
                code, held = obj.gi_code, obj.gi_frame
            elif isinstance(obj, types.CoroutineType):
                code, held = obj.cr_code, obj.cr_frame
            elif isinstance(obj, types.AsyncGeneratorType):
                code, held = obj.ag_code, obj.ag_frame
            else:
                continue
            if held is not None and code in replaced:  # not finished
                found.append(_qualname(code))
    return sorted(set(found))


def _qualname(code: types.CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


def _unwrap(value: Any, name: str, depth: int = 0) -> Optional[types.FunctionType]:
    """The function named ``name`` inside ``value`` (a function, or a decorator's
    wrapper: ``__wrapped__``, ``__func__``, or a closure cell)."""
    if depth > 8 or value is None:
        return None
    if isinstance(value, types.FunctionType) and value.__code__.co_name == name:
        return value
    for attribute in ("__wrapped__", "__func__", "func", "fget"):
        inner = getattr(value, attribute, None)
        if inner is not None and inner is not value:
            found = _unwrap(inner, name, depth + 1)
            if found is not None:
                return found
    if isinstance(value, types.FunctionType):
        for cell in value.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:
                continue
            found = _unwrap(contents, name, depth + 1)
            if found is not None:
                return found
    return None


def _member_key(node: ast.stmt) -> Tuple[str, str]:
    """``_key`` for a class body: a property's getter, setter and deleter share its
    name, so each is told apart by its role."""
    key = _key(node)
    if key[0] == "def":
        attribute, role = _method_target(node)
        if role != "function":
            return ("def", "%s.%s" % (attribute, role))
    return key


def _method_target(node: ast.stmt) -> Tuple[str, str]:
    """Where a method's function lives in its class: (attribute, role)."""
    roles = {"setter": "fset", "getter": "fget", "deleter": "fdel"}
    for decorator in getattr(node, "decorator_list", []):
        if (
            isinstance(decorator, ast.Attribute)
            and decorator.attr in roles
            and isinstance(decorator.value, ast.Name)
        ):
            return decorator.value.id, roles[decorator.attr]
    return node.name, "function"  # type: ignore[attr-defined]


def _method_function(value: Any, role: str, name: str) -> Optional[types.FunctionType]:
    if isinstance(value, property):
        return _unwrap(getattr(value, role if role != "function" else "fget"), name)
    return _unwrap(value, name)


def _functions_of(value: Any, name: str) -> Iterator[types.FunctionType]:
    """Every function a top-level definition made: the function, or a class's methods."""
    if isinstance(value, type):
        for attribute in list(vars(value).values()):
            for role in ("fget", "fset", "fdel"):
                inner = getattr(attribute, role, None) if isinstance(attribute, property) else None
                if isinstance(inner, types.FunctionType):
                    yield inner
            found = _unwrap(attribute, getattr(attribute, "__name__", ""))
            if found is not None:
                yield found
        return
    found = _unwrap(value, name)
    if found is not None:
        yield found


def _moved(code: types.CodeType, delta: int) -> types.CodeType:
    consts = tuple(_moved(c, delta) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + delta, co_consts=consts)


def _pure(node: Optional[ast.AST]) -> bool:
    """An expression that computes a value and runs no code of the program's (no call,
    no lambda, no comprehension): safe to evaluate again."""
    return node is not None and all(isinstance(n, _PURE_NODES) for n in ast.walk(node))


def _inert(node: ast.stmt) -> bool:
    """A statement that does nothing when the module is imported: a docstring, ``pass``,
    or an ``if __name__ == "__main__":`` block."""
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return isinstance(node.value.value, str)
    if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
        left, comparators = node.test.left, node.test.comparators
        return (
            isinstance(left, ast.Name)
            and left.id == "__name__"
            and len(comparators) == 1
            and isinstance(comparators[0], ast.Constant)
            and comparators[0].value == "__main__"
        )
    return False


def _describe(node: ast.stmt) -> str:
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return "a call"
    kinds = {ast.For: "a loop", ast.While: "a loop", ast.With: "a with block",
             ast.Try: "a try block", ast.If: "an if block"}  # fmt: skip
    return kinds.get(type(node), "a statement")


def _bound_names(node: ast.stmt) -> List[str]:
    if isinstance(node, _DEFINITIONS):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
    name = _assigned_name(node)
    return [name] if name else []


def _kind(value: Any) -> str:
    if isinstance(value, type):
        return "class"
    if callable(value):
        return "function"
    return "constant"


def _layout_kind(cls: type) -> str:
    if "__dataclass_fields__" in cls.__dict__:
        return "dataclass"
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return "NamedTuple"
    for base in cls.__mro__:
        if base.__name__ == "Enum" and base.__module__ == "enum":
            return "Enum"
    return ""


def _field_name(node: ast.AnnAssign) -> str:
    return node.target.id if isinstance(node.target, ast.Name) else ast.dump(node.target)


def _dump(node: ast.AST) -> str:
    return ast.dump(node, include_attributes=False)


def _dump_all(nodes: Sequence[ast.AST]) -> List[str]:
    return [_dump(n) for n in nodes]


_trees: Dict[str, Tuple[float, Optional[ast.Module]]] = {}


def _tree_of(module: types.ModuleType) -> Optional[ast.Module]:
    """A loaded module's source, parsed (kept while its file is unchanged)."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return None
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        return None
    cached = _trees.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        with open(path, encoding="utf-8") as f:
            tree: Optional[ast.Module] = ast.parse(f.read(), path)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        tree = None
    _trees[path] = (stamp, tree)
    return tree


def _imports_of(module: types.ModuleType) -> Dict[Tuple[str, str], Tuple[str, int]]:
    """Top-level imports: ``from m import name as local`` is (m, name) -> (local, line),
    ``import m as local`` is (m, "") -> (local, line)."""
    tree = _tree_of(module)
    found: Dict[Tuple[str, str], Tuple[str, int]] = {}
    if tree is None:
        return found
    package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.Import):  # ``import m as x``: (m, "") -> x
            for alias in node.names:
                if alias.asname or "." not in alias.name:
                    found[(alias.name, "")] = (alias.asname or alias.name, node.lineno)
            continue
        if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
            continue
        source = node.module or ""
        if node.level:
            parts = package.split(".")
            base = parts[: len(parts) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        for alias in node.names:
            found[(source, alias.name)] = (alias.asname or alias.name, node.lineno)
    return found
