"""Live reload's semantics (hotmod.live.patch): each row of docs/live.md's table.

Modules are loaded into this test process from a temporary folder, changed on
disk, and the change is planned and applied as the agent does it; what the
program's objects do afterwards is the assertion.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import threading
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hotmod.live.agent import Agent, digest
from hotmod.live.patch import Plan, Snapshot, plan, running


class Program:
    """Modules of a package loaded in this process, as a running program has them."""

    def __init__(self, root: Path, package: str) -> None:
        self.root = root
        self.package = package
        self.snapshots: dict[str, Snapshot] = {}

    def load(self, files: dict[str, str]) -> None:
        for name, source in files.items():
            path = self.root / self.package / f"{name}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        (self.root / self.package / "__init__.py").touch()
        for name in files:
            module = importlib.import_module(f"{self.package}.{name}")
            path = str(self.root / self.package / f"{name}.py")
            self.snapshots[name] = Snapshot(module, path, Path(path).read_text())

    def module(self, name: str) -> Any:
        return sys.modules[f"{self.package}.{name}"]

    def change(self, files: dict[str, str], rerun: bool = False) -> Plan:
        """Plan the change of these modules (all or nothing) and apply it if allowed."""
        result = Plan()
        loaded = [self.module(n) for n in self.snapshots]
        sources = {name: textwrap.dedent(source) for name, source in files.items()}
        for name, source in sources.items():  # a save's files are all on disk first
            (self.root / self.package / f"{name}.py").write_text(source)
        for name, source in sources.items():
            plan(self.snapshots[name], source, loaded, rerun, into=result)
        if not result.refused:
            result.apply()
        return result


_counter = iter(range(10**6))


@pytest.fixture
def program(tmp_path: Path) -> Iterator[Program]:
    package = f"live_program_{next(_counter)}"
    sys.path.insert(0, str(tmp_path))
    try:
        yield Program(tmp_path, package)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]


def applied(result: Plan) -> Plan:
    assert not result.refused, result.refused
    return result


# -- functions ----------------------------------------------------------------------------


def test_a_changed_body_runs_through_every_reference_taken_before(program: Program) -> None:
    program.load(
        {
            "prices": "def total(x):\n    return x * 2\n",
            "cart": "from .prices import total\nCALLBACKS = [total]\n",
        }
    )
    prices, cart = program.module("prices"), program.module("cart")
    reference = prices.total
    result = applied(program.change({"prices": "def total(x):\n    return x * 3\n"}))
    assert reference(2) == 6 and cart.total(2) == 6 and cart.CALLBACKS[0](2) == 6
    assert prices.total is reference  # the same function object
    assert result.summary() == "1 function changed"


def test_a_decorated_function_keeps_its_wrapper_and_its_one_registration(
    program: Program,
) -> None:
    source = """\
        import functools
        REGISTRY = []

        def register(function):
            @functools.wraps(function)
            def wrapper(*args):
                return ("wrapped", function(*args))
            REGISTRY.append(wrapper)
            return wrapper

        @register
        def handler(x):
            return x + 1
        """
    program.load({"routes": source})
    routes = program.module("routes")
    wrapper = routes.handler
    applied(program.change({"routes": source.replace("x + 1", "x + 100")}))
    assert routes.handler is wrapper
    assert len(routes.REGISTRY) == 1 and routes.REGISTRY[0] is wrapper  # not registered twice
    assert wrapper(1) == ("wrapped", 101)


def test_a_decorator_without_wraps_is_seen_through_its_closure(program: Program) -> None:
    source = """\
        def logged(function):
            def inner(*args):
                return function(*args)
            return inner

        @logged
        def area(r):
            return 3 * r * r
        """
    program.load({"shapes": source})
    shapes = program.module("shapes")
    applied(program.change({"shapes": source.replace("3 * r * r", "4 * r * r")}))
    assert shapes.area(1) == 4


def test_changed_defaults_and_docstrings_follow(program: Program) -> None:
    program.load({"m": 'def f(x, y=1, *, z=2):\n    "old"\n    return x + y + z\n'})
    m = program.module("m")
    applied(program.change({"m": 'def f(x, y=10, *, z=20):\n    "new"\n    return x + y + z\n'}))
    assert m.f(1) == 31 and m.f.__doc__ == "new"


def test_functions_below_an_edit_keep_right_line_numbers(program: Program) -> None:
    source = "def top():\n    return 1\n\n\ndef below():\n    raise ValueError('here')\n"
    program.load({"m": source})
    m = program.module("m")
    applied(program.change({"m": source.replace("return 1\n", "x = 1\n    return x\n")}))
    with pytest.raises(ValueError) as info:
        m.below()
    line = traceback.extract_tb(info.value.__traceback__)[-1].lineno
    assert line == 7  # the raise moved from line 6 to 7


def test_a_changed_closure_needs_a_restart(program: Program) -> None:
    source = """\
        class Base:
            def hello(self):
                return "base"

        class Child(Base):
            def hello(self):
                return "child"
        """
    program.load({"m": source})
    m = program.module("m")
    result = program.change({"m": source.replace('return "child"', "return super().hello()")})
    assert (
        result.refused
        and "now uses other variables of its enclosing scope" in (result.refused[0]["reason"])
    )
    assert m.Child().hello() == "child"  # untouched


def test_a_changed_decorator_needs_a_restart(program: Program) -> None:
    source = """\
        import functools

        def logged(function):
            return function

        @logged
        def area(r):
            return 3 * r * r
        """
    program.load({"shapes": source})
    shapes = program.module("shapes")
    result = program.change({"shapes": source.replace("@logged\n", "@functools.lru_cache\n")})
    [refusal] = result.refused
    assert "the decorators of area changed" in refusal["reason"] and refusal["line"] == 6
    assert shapes.area(1) == 3 and not hasattr(shapes.area, "cache_info")  # untouched


def test_a_nested_function_follows_its_enclosing_function(program: Program) -> None:
    """jurigged #51: a function added above, then the body of one with a nested
    function changed; each save runs the new body through the old reference."""
    first = "def fn(i):\n    def sub(j):\n        return j\n    return (i, 'v1', sub(i))\n"
    second = "def sub3(j):\n    return j\n\n\n" + first.replace("'v1'", "'v2'")
    program.load({"m": first})
    fn = program.module("m").fn
    applied(program.change({"m": second}))
    assert fn(1) == (1, "v2", 1)
    third = second.replace("'v2'", "'v3'").replace("        return j\n", "        return j * 2\n")
    applied(program.change({"m": third}))
    assert fn(1) == (1, "v3", 2)  # the nested function's new body too


# -- classes ------------------------------------------------------------------------------

CART = """\
class Cart:
    TAX = 0.2

    def __init__(self):
        self.items = []

    def add(self, price):
        self.items.append(price)
        return self

    @property
    def total(self):
        return sum(self.items)

    @classmethod
    def empty(cls):
        return cls()

    @staticmethod
    def currency():
        return "EUR"
"""


def test_existing_instances_run_the_new_methods(program: Program) -> None:
    program.load({"cart": CART})
    cart = program.module("cart")
    instance = cart.Cart().add(10)
    new = (
        CART.replace("return sum(self.items)", "return sum(self.items) * 2")
        .replace('return "EUR"', 'return "USD"')
        .replace("self.items.append(price)", "self.items.append(price + 1)")
        .replace("return cls()", "return cls().add(0)")
    )
    result = applied(program.change({"cart": new}))
    assert instance.total == 20  # property
    assert instance.add(1).items == [10, 2]  # method; the state survived
    assert cart.Cart.currency() == "USD" and cart.Cart.empty().items == [1]
    assert result.summary() == "4 functions changed"


def test_methods_added_and_removed(program: Program) -> None:
    program.load({"cart": CART})
    cart = program.module("cart")
    instance = cart.Cart()
    new = CART.replace(
        '    @staticmethod\n    def currency():\n        return "EUR"\n',
        "    def count(self):\n        return len(self.items)\n\n"
        "    def greet(self):\n        return super().__repr__()[:1]\n",
    )
    applied(program.change({"cart": new}))
    assert instance.count() == 0 and instance.greet() == "<"  # super() works in an added method
    assert not hasattr(cart.Cart, "currency")


def test_class_layout_changes_need_a_restart(program: Program) -> None:
    source = """\
        import dataclasses, enum, typing

        @dataclasses.dataclass
        class Order:
            id: int
            total: float = 0.0

        class Point(typing.NamedTuple):
            x: int
            y: int

        class Color(enum.Enum):
            RED = 1

        class Slotted:
            __slots__ = ("a",)

        class Plain:
            pass
        """
    program.load({"m": source})
    cases = {
        "    total: float = 0.0\n": ("    total: float = 0.0\n    note: str = ''\n",
                                     "dataclass Order gained a field"),
        "    y: int\n": ("", "NamedTuple Point lost a field"),
        "    RED = 1\n": ("    RED = 1\n    BLUE = 2\n", "Enum Color changed its members"),
        '    __slots__ = ("a",)\n': ('    __slots__ = ("a", "b")\n', "__slots__ of Slotted"),
        "class Plain:\n": ("class Plain(dict):\n", "the bases of class Plain changed"),
    }  # fmt: skip
    for old, (new, reason) in cases.items():
        result = program.change({"m": textwrap.dedent(source).replace(old, new)})
        assert result.refused and reason in result.refused[0]["reason"], (reason, result.refused)


def test_bound_methods_taken_before_run_the_new_body(program: Program) -> None:
    program.load({"cart": CART})
    instance = program.module("cart").Cart()
    add = instance.add  # e.g. a callback handed to a scheduler before the edit
    applied(
        program.change(
            {"cart": CART.replace("self.items.append(price)", "self.items.append(price * 10)")}
        )
    )
    add(1)
    assert instance.items == [10]


def test_a_property_setter_runs_the_new_body(program: Program) -> None:
    source = """\
        class Account:
            def __init__(self):
                self._balance = 0

            @property
            def balance(self):
                return self._balance

            @balance.setter
            def balance(self, value):
                self._balance = value
        """
    program.load({"bank": source})
    account = program.module("bank").Account()
    result = applied(
        program.change(
            {"bank": source.replace("self._balance = value", "self._balance = value * 2")}
        )
    )
    account.balance = 5
    assert account.balance == 10
    assert result.summary() == "1 function changed"


def test_a_dataclass_method_changes_while_its_fields_stay(program: Program) -> None:
    source = """\
        import dataclasses

        @dataclasses.dataclass
        class Order:
            total: float = 0.0

            def doubled(self):
                return self.total * 2
        """
    program.load({"orders": source})
    order = program.module("orders").Order(2.0)
    applied(program.change({"orders": source.replace("* 2", "* 3")}))
    assert order.doubled() == 6.0 and order.total == 2.0


def test_a_class_s_metaclass_and_decorators_need_a_restart(program: Program) -> None:
    source = """\
        class Meta(type):
            pass

        class Other(type):
            pass

        def tag(cls):
            return cls

        def label(cls):
            return cls

        class Model(metaclass=Meta):
            pass

        @tag
        class View:
            pass
        """
    program.load({"m": source})
    m = program.module("m")
    model = m.Model
    cases = {
        "metaclass=Meta": ("metaclass=Other", "the metaclass or class keywords of class Model"),
        "@tag\n": ("@label\n", "the decorators of class View changed"),
    }
    for old, (new, reason) in cases.items():
        result = program.change({"m": textwrap.dedent(source).replace(old, new)})
        assert result.refused and reason in result.refused[0]["reason"], (reason, result.refused)
    assert m.Model is model and type(m.Model) is m.Meta


# -- names and constants --------------------------------------------------------------------


def test_added_functions_classes_and_constants_are_available(program: Program) -> None:
    program.load({"m": "A = 1\n"})
    m = program.module("m")
    result = applied(
        program.change(
            {"m": "A = 1\nB = A + 1\n\n\ndef f():\n    return B\n\n\nclass C:\n    pass\n"}
        )
    )
    assert m.f() == 2 and isinstance(m.C(), m.C)
    assert {c["name"] for c in result.changes} == {"B", "f", "C"}


def test_a_removed_name_is_removed_and_its_holders_reported(program: Program) -> None:
    program.load(
        {
            "prices": "def discount(x):\n    return x\n\n\ndef total(x):\n    return x\n",
            "views": "from .prices import total\nfrom .prices import discount\n",
        }
    )
    prices = program.module("prices")
    result = applied(program.change({"prices": "def total(x):\n    return x\n"}))
    assert not hasattr(prices, "discount")
    [stale] = result.stale
    assert stale["holder"].endswith(".views") and stale["line"] == 2
    assert stale["name"].endswith("prices.discount") and stale["why"] == "removed"


def test_a_changed_constant_is_rebound_where_imported_and_derived_values_reported(
    program: Program,
) -> None:
    program.load(
        {
            "config": "RATE = 0.2\nNAMES = ('a',)\n",
            "tax": "from .config import RATE, NAMES\nDOUBLE = RATE * 2\n\n\ndef tax(x):\n"
            "    return x * RATE\n",
        }
    )
    config, tax = program.module("config"), program.module("tax")
    result = applied(program.change({"config": "RATE = 0.5\nNAMES = ('a',)\n"}))
    assert config.RATE == 0.5 and tax.RATE == 0.5 and tax.tax(10) == 5.0
    [stale] = result.stale
    assert stale["name"].endswith("tax.DOUBLE") and "computed from" in stale["why"]
    assert stale["line"] == 2


def test_a_constant_computed_by_a_call_needs_a_restart(program: Program) -> None:
    program.load({"m": "import os\nHOME = os.getcwd()\n"})
    result = program.change({"m": "import os\nHOME = os.getcwd() + '/x'\n"})
    assert "computed by a call" in result.refused[0]["reason"]


def test_a_changed_class_constant_is_rebound_for_existing_instances(program: Program) -> None:
    program.load({"cart": CART})
    instance = program.module("cart").Cart()
    result = applied(program.change({"cart": CART.replace("TAX = 0.2", "TAX = 0.25")}))
    assert instance.TAX == 0.25
    assert result.summary() == "1 constant rebound"


# -- top-level code -----------------------------------------------------------------------


def test_a_module_that_registers_itself_is_not_registered_twice(program: Program) -> None:
    program.load(
        {
            "registry": "PLUGINS = {}\n",
            "plugin": "from .registry import PLUGINS\n\n\ndef run():\n    return 1\n\n\n"
            "PLUGINS['plugin'] = run\n",
        }
    )
    registry = program.module("registry")
    before = dict(registry.PLUGINS)
    applied(
        program.change(
            {
                "plugin": "from .registry import PLUGINS\n\n\ndef run():\n    return 2\n\n\n"
                "PLUGINS['plugin'] = run\n"
            }
        )
    )
    plugins = registry.PLUGINS
    assert plugins == before and plugins["plugin"]() == 2


def test_changed_top_level_code_refuses_the_whole_change(program: Program) -> None:
    program.load(
        {
            "a": "def f():\n    return 1\n",
            "b": "EVENTS = []\nEVENTS.append('started')\n",
        }
    )
    a = program.module("a")
    result = program.change(
        {"a": "def f():\n    return 2\n", "b": "EVENTS = []\nEVENTS.append('begun')\n"}
    )
    [refusal] = result.refused
    assert "top-level code changed at line 2 (a call)" in refusal["reason"]
    assert refusal["line"] == 2 and refusal["path"].endswith("b.py")
    assert a.f() == 1  # all or nothing: a's change was not applied either


def test_rerun_applies_top_level_code_and_keeps_references(program: Program) -> None:
    program.load({"b": "EVENTS = []\nEVENTS.append('started')\n\n\ndef f():\n    return 1\n"})
    b = program.module("b")
    f = b.f
    result = applied(
        program.change(
            {"b": "EVENTS = []\nEVENTS.append('begun')\n\n\ndef f():\n    return 2\n"},
            rerun=True,
        )
    )
    assert b.EVENTS == ["begun"] and f() == 2 and b.f is f
    assert result.changes[0]["action"] == "re-run"


def test_rerun_leaves_a_module_whose_source_is_unchanged_alone(program: Program) -> None:
    program.load({"r": "EVENTS = []\n", "p": "from .r import EVENTS\n\nEVENTS.append('p')\n"})
    r = program.module("r")
    result = applied(
        program.change(
            {"r": "EVENTS = []\n", "p": "from .r import EVENTS\n\nEVENTS.append('q')\n"},
            rerun=True,
        )
    )
    assert r.EVENTS == ["p", "q"]  # r was not run again: its list and contents are kept
    assert [c["module"] for c in result.changes] == [program.module("p").__name__]


def test_the_main_block_and_docstrings_are_not_code_to_re_run(program: Program) -> None:
    program.load({"m": '"""Old."""\nif __name__ == "__main__":\n    print(1)\n'})
    m = program.module("m")
    applied(program.change({"m": '"""New."""\nif __name__ == "__main__":\n    print(2)\n'}))
    assert m.__doc__ == "Old."  # the module's docstring object is not code: harmless to keep


def test_a_failing_step_undoes_the_steps_before_it(program: Program) -> None:
    program.load({"m": "def f():\n    return 1\n\n\ndef g():\n    return 1\n"})
    m = program.module("m")
    result = Plan()
    source = "def f():\n    return 2\n\n\ndef g():\n    return 2\n"
    plan(program.snapshots["m"], source, [m], into=result)

    def broken() -> None:
        raise RuntimeError("a step failed")

    result.step(broken, lambda: None)
    with pytest.raises(RuntimeError):
        result.apply()
    assert m.f() == 1 and m.g() == 1


def test_code_running_now_is_reported(program: Program) -> None:
    program.load(
        {
            "job": "import threading\nGO = threading.Event()\n\n\ndef loop():\n"
            "    GO.wait(10)\n    return 'old'\n"
        }
    )
    job = program.module("job")
    thread = threading.Thread(target=job.loop)
    thread.start()
    try:
        result = applied(
            program.change(
                {
                    "job": "import threading\nGO = threading.Event()\n\n\ndef loop():\n"
                    "    GO.wait(10)\n    return 'new'\n"
                }
            )
        )
        assert running(result.replaced) == ["loop"]
    finally:
        job.GO.set()
        thread.join()
    assert job.loop() == "new"  # its next call


def test_suspended_generators_and_coroutines_are_reported_and_keep_their_code(
    program: Program,
) -> None:
    def source(word: str) -> dict[str, str]:
        return {
            "feed": f"def lines():\n    yield '{word} 1'\n    yield '{word} 2'\n\n\n"
            f"async def fetch():\n    import asyncio\n    await asyncio.sleep(0)\n"
            f"    return '{word}'\n\n\ndef plain():\n    return '{word}'\n"
        }

    program.load(source("old"))
    feed = program.module("feed")
    in_flight = feed.lines()
    assert next(in_flight) == "old 1"
    not_started = feed.lines()
    coroutine = feed.fetch()
    coroutine.send(None)  # suspended at its await
    result = applied(program.change(source("new")))
    # Generators and coroutines made before the change, started or not, keep its code.
    assert running(result.replaced) == ["fetch", "lines"]
    assert next(in_flight) == "old 2"  # its frame keeps the old code
    assert next(not_started) == "old 1"  # made before: its frame too
    assert next(feed.lines()) == "new 1"  # a new one runs the new
    with pytest.raises(StopIteration) as stopped:
        coroutine.send(None)
    assert stopped.value.value == "old"
    in_flight.close()
    not_started.close()
    assert running(result.replaced) == []


def test_a_generator_in_flight_keeps_its_code_and_new_ones_run_the_new_code(
    program: Program,
) -> None:
    source = "def numbers():\n    yield 'old 1'\n    yield 'old 2'\n"
    program.load({"gen": source})
    gen = program.module("gen")
    in_flight = gen.numbers()
    assert next(in_flight) == "old 1"
    applied(program.change({"gen": source.replace("old", "new")}))
    assert next(in_flight) == "old 2"  # its frame runs the code it started with
    assert list(gen.numbers()) == ["new 1", "new 2"]


# -- what is never touched ----------------------------------------------------------------


def test_third_party_code_and_files_outside_the_workspace_are_not_project_files(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    files = {
        "app/views.py": True,
        ".venv/lib/python3.11/site-packages/requests/api.py": False,
        "vendor/lib/site-packages/six.py": False,
    }
    for name in files:
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("X = 1\n")
    (tmp_path / "elsewhere.py").write_text("X = 1\n")
    agent = Agent(str(workspace))
    try:
        assert {n: agent.inside(str(workspace / n)) for n in files} == files
        assert not agent.inside(str(tmp_path / "elsewhere.py"))
        assert not agent.inside(textwrap.__file__)  # the standard library
    finally:
        agent.close()


def test_an_extension_module_is_never_patched(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    library = workspace / "fast.cpython-311-x86_64-linux-gnu.so"
    library.write_bytes(b"\x7fELF old")
    name = f"live_extension_{next(_counter)}"
    module = types.ModuleType(name)
    module.__file__ = str(library)
    sys.modules[name] = module
    agent = Agent(str(workspace))
    try:
        agent.scan()
        assert name not in agent.snapshots and name not in agent.uncertain
        library.write_bytes(b"\x7fELF rebuilt")
        outcome = agent.apply([{"path": str(library), "digest": digest(library.read_bytes())}])
        assert outcome["files"] == [] and outcome["changes"] == []
        assert sys.modules[name] is module
    finally:
        agent.close()
        del sys.modules[name]


def test_future_annotations_stay_strings(program: Program) -> None:
    source = "from __future__ import annotations\n\n\ndef f(x: Undefined) -> int:\n    return 1\n"
    program.load({"m": source})
    m = program.module("m")
    applied(program.change({"m": source.replace("return 1", "return 2")}))
    assert m.f(0) == 2


def test_a_change_to_a_module_of_a_thousand_functions_compiles_only_what_changed(
    program: Program, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(1000))
    program.load({"big": source})
    big = program.module("big")
    assert program.snapshots["big"].statements  # parsed once, as the agent does while idle
    compiled: list[int] = []
    real = compile

    def counting(node: Any, *args: Any, **kwargs: Any) -> types.CodeType:
        if hasattr(node, "body"):
            compiled.append(len(node.body) if isinstance(node.body, list) else 1)
        return real(node, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr("builtins.compile", counting)
    applied(program.change({"big": source.replace("return x + 500\n", "return x - 500\n")}))
    assert big.f500(0) == -500 and big.f999(1) == 1000
    assert sum(compiled) <= 2  # the one changed function, not the thousand


def test_a_property_getter_beside_its_setter_runs_the_new_body(program: Program) -> None:
    source = """\
        class Box:
            def __init__(self):
                self._v = 1

            @property
            def v(self):
                return self._v

            @v.setter
            def v(self, value):
                self._v = value
        """
    program.load({"box": source})
    box = program.module("box").Box()
    result = applied(program.change({"box": source.replace("return self._v", "return -self._v")}))
    assert box.v == -1
    box.v = 3
    assert box.v == -3  # the setter is still there
    assert result.summary() == "1 function changed"


def test_a_removed_setter_leaves_the_property_read_only(program: Program) -> None:
    source = """\
        class Box:
            @property
            def v(self):
                return 1

            @v.setter
            def v(self, value):
                pass
        """
    program.load({"box": source})
    box = program.module("box").Box()
    cut = source[: source.index("            @v.setter")]
    applied(program.change({"box": cut}))
    assert box.v == 1
    with pytest.raises(AttributeError):
        box.v = 2


def test_a_name_that_changes_kind_is_kept(program: Program) -> None:
    program.load({"m": "def f():\n    return 1\n\n\nclass A:\n    pass\n"})
    m = program.module("m")
    applied(program.change({"m": "f = 1\n\n\ndef A():\n    return 'a'\n"}))
    assert m.f == 1 and m.A() == "a"


def test_rerun_is_used_only_for_top_level_code(program: Program) -> None:
    """With the opt-in, a body-only edit is still patched in place: a registration at
    top level does not run again for it."""
    source = "REGISTRY = []\nREGISTRY.append('x')\n\n\ndef f():\n    return 1\n"
    program.load({"r": source})
    r = program.module("r")
    result = applied(program.change({"r": source.replace("return 1", "return 2")}, rerun=True))
    assert r.REGISTRY == ["x"] and r.f() == 2
    assert [c["action"] for c in result.changes] == ["changed"]


def test_rerun_removes_the_names_the_new_code_no_longer_binds(program: Program) -> None:
    program.load({"r": "print('loaded')\nOLD = 1\nKEEP = 2\n"})
    r = program.module("r")
    applied(program.change({"r": "print('reloaded')\nKEEP = 3\n"}, rerun=True))
    assert r.KEEP == 3 and not hasattr(r, "OLD")


def test_a_rerun_that_raises_half_way_is_undone_whole(program: Program) -> None:
    program.load({"r": "print('loaded')\nA = 1\nB = 1\n"})
    r = program.module("r")
    with pytest.raises(RuntimeError, match="half"):
        program.change({"r": "print('again')\nA = 2\nraise RuntimeError('half')\nB = 2\n"},
                       rerun=True)  # fmt: skip
    assert (r.A, r.B) == (1, 1)


def test_a_holder_that_drops_the_removed_name_in_the_same_save_is_not_stale(
    program: Program,
) -> None:
    program.load(
        {
            "prices": "def discount():\n    return 1\n\n\ndef price(x):\n    return x\n",
            "views": "from .prices import discount, price\n\n\ndef show():\n    return price(1)\n",
            "report": "from .prices import discount\n",
        }
    )
    result = applied(
        program.change(
            {
                "prices": "def price(x):\n    return x\n",
                "views": "from .prices import price\n\n\ndef show():\n    return price(2)\n",
            }
        )
    )
    assert [s["holder"].rsplit(".", 1)[1] for s in result.stale] == ["report"]
    assert not hasattr(program.module("views"), "discount")


def test_values_computed_in_the_same_module_or_through_the_module_are_reported_stale(
    program: Program,
) -> None:
    program.load(
        {
            "rates": "RATE = 2\nDOUBLE = RATE * 2\n",
            "prices": f"import {program.package}.rates as rates\n\nTOTAL = rates.RATE + 1\n",
        }
    )
    result = applied(program.change({"rates": "RATE = 3\nDOUBLE = RATE * 2\n"}))
    assert program.module("rates").RATE == 3
    stale = sorted((s["name"].rsplit(".", 1)[1], s["line"]) for s in result.stale)
    assert stale == [("DOUBLE", 2), ("TOTAL", 3)]
    assert all(s["why"].endswith("rates.RATE at import") for s in result.stale)
