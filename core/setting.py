"""One declaration per setting, on the dataclass field that holds it.

A setting is a field made with :func:`setting`: its rule (what values it
accepts, worded for error messages), its default, a description for people,
and the camelCase name editors send (derived from the field name unless
declared).  :func:`declared` lists a dataclass's settings; validation, the
server's editor-name mapping, the docs tables and the VS Code manifest are all
derived from, or checked against, these declarations.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_METADATA_KEY = "hotmod.setting"


@dataclass(frozen=True)
class Rule:
    """What values a setting accepts, said once for checks, messages and schemas."""

    kind: str  # its JSON type: "number", "integer", "boolean", "string", "array", "object"
    expected: str  # completes "<key> must be ...": "a positive number of seconds"
    above: float | None = None  # exclusive lower bound
    at_least: float | None = None  # inclusive lower bound
    choices: tuple[str, ...] = ()
    at_most: float | None = None  # inclusive upper bound

    def accepts(self, value: object) -> bool:
        if isinstance(value, bool):  # a bool is an int to Python, never a number here
            return self.kind == "boolean"
        if self.kind in ("number", "integer"):
            if not isinstance(value, int if self.kind == "integer" else (int, float)):
                return False
            if self.above is not None and not value > self.above:
                return False
            if self.at_most is not None and not value <= self.at_most:
                return False  # also infinity: no timer takes it
            return self.at_least is None or value >= self.at_least
        if self.kind == "string":
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if self.kind == "array":
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        if self.kind == "object":
            return isinstance(value, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            )
        return False


def _bounded(
    kind: str,
    noun: str,
    above: float | None,
    at_least: float | None,
    unit: str,
    at_most: float | None = None,
) -> Rule:
    if above == 0:
        expected = f"a positive {noun}"
    elif at_least == 0:
        expected = f"a non-negative {noun}"
    elif above is not None:
        expected = f"a {noun} greater than {_number(above)}"
    elif at_least is not None:
        expected = f"a {noun} of at least {_number(at_least)}"
    else:
        expected = f"a {noun}"
    expected += f" of {unit}" if unit else ""
    if at_most is not None:
        expected += f", at most {_number(at_most)}"
    return Rule(kind, expected, above, at_least, at_most=at_most)


def number(
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    unit: str = "",
) -> Rule:
    """An int or float (never a bool), bounded when asked."""
    return _bounded("number", "number", above, at_least, unit, at_most)


def whole_number(
    *, above: float | None = None, at_least: float | None = None, unit: str = ""
) -> Rule:
    return _bounded("integer", "whole number", above, at_least, unit)


def boolean() -> Rule:
    return Rule("boolean", "true or false")


def text(expected: str) -> Rule:
    """Any string; ``expected`` says what it should be (``"a path to ..."``)."""
    return Rule("string", expected)


def one_of(*choices: str) -> Rule:
    quoted = [f'"{c}"' for c in choices]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
    return Rule("string", f"one of {listed}", choices=choices)


def string_list(items: str) -> Rule:
    """A list of strings; ``items`` names them (``"glob patterns"``)."""
    return Rule("array", f"a list of {items}")


def string_table() -> Rule:
    return Rule("object", "a table of string values")


class _Derived:
    """The client name is the field name in camelCase."""


DERIVED = _Derived()


@dataclass(frozen=True)
class _Declaration:
    rule: Rule
    description: str
    default_text: str | None
    client: str | _Derived | None
    initialization_only: bool


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the field that holds it declares it."""

    key: str  # the field name: also the [tool.hotmod] key of an engine setting
    client: str | None  # the camelCase name editors send; None: editors cannot set it
    rule: Rule
    description: str  # for people: the manifest's description, the docs
    default: Any  # dataclasses.MISSING when worked out at run time (see default_text)
    default_text: str  # the default as the docs say it
    initialization_only: bool  # read from initializationOptions only, never a setting

    def problem(self, value: object, source: str, name: str | None = None) -> str | None:
        """Why ``value`` is refused (naming ``source`` and the key), or None."""
        if self.rule.accepts(value):
            return None
        return f"{source}: {name or self.key} must be {self.rule.expected}, got {_describe(value)}"


def setting(
    rule: Rule,
    description: str,
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Callable[[], Any] = dataclasses.MISSING,  # type: ignore[assignment]
    default_text: str | None = None,
    client: str | _Derived | None = DERIVED,
    initialization_only: bool = False,
) -> Any:
    """A dataclass field that declares a setting (see the module docstring).

    ``default_text`` says the default where the field's own default is not
    what users see (computed at run time, or added to a built-in list).
    ``client=None``: editors cannot set it.
    """
    declaration = _Declaration(rule, description, default_text, client, initialization_only)
    return dataclasses.field(
        default=default,
        default_factory=default_factory,
        metadata={_METADATA_KEY: declaration},
    )


def declared(cls: type) -> tuple[Setting, ...]:
    """The settings ``cls`` declares, in field order."""
    found: list[Setting] = []
    for f in dataclasses.fields(cls):
        declaration = f.metadata.get(_METADATA_KEY)
        if not isinstance(declaration, _Declaration):
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        client = declaration.client
        found.append(
            Setting(
                key=f.name,
                client=camel_case(f.name) if isinstance(client, _Derived) else client,
                rule=declaration.rule,
                description=declaration.description,
                default=default,
                default_text=declaration.default_text or _literal(default),
                initialization_only=declaration.initialization_only,
            )
        )
    return tuple(found)


def camel_case(key: str) -> str:
    """``import_timeout_s`` -> ``importTimeoutS``."""
    first, *rest = key.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def _describe(value: object) -> str:
    """A value as error messages show it: its type and a short repr."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _literal(value: Any) -> str:
    """A default as TOML and JSON both write it, in backticks: ``10``, ``true``, ``"warn"``."""
    if value is dataclasses.MISSING:
        raise ValueError("a setting without a default needs default_text")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Mapping):
        value = dict(value)
    return f"`{json.dumps(value)}`"
