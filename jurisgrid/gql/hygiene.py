"""Input hygiene at the GraphQL boundary: the lengths of strings and lists and the characters of
strings, in literal arguments and in variable values alike, before any resolver runs.

Why one boundary: a NUL byte reached psycopg2 from eight resolvers (``search``, ``code``,
``grid(code:)``, ``newCodes``, ``name``, ``address``, …) and came back as a masked
INTERNAL_SERVER_ERROR; a 3 MB ``search`` held a PostgreSQL backend for the statement timeout.
Checking each resolver would miss the next one; here every ``String`` argument is checked by the
name of its argument:

- free text (:data:`FREE_TEXT`: ``reason``, ``address``): at most ``max_text_chars``; tabs and
  line breaks allowed, no other control character;
- every other string (codes, names, ``search``, cursors, …): at most ``max_name_chars`` and no
  control character at all;
- lists: at most ``max_list_items`` items;
- ``JSON`` values (the sizing policy's changes): every string in them as free text;
- ``GeoJSON`` given as WKT text: no control character (its size is the vertex cap's business);
- ``Coordinates`` (numbers only, parsed strictly by their scalar) are left to their point cap.

NUL is never allowed (PostgreSQL text cannot hold it), nor are unpaired surrogates (they cannot
be encoded for the database). Errors are ``BAD_USER_INPUT`` and name the argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    ListValueNode,
    ObjectValueNode,
    StringValueNode,
    VariableNode,
)

BAD_USER_INPUT = "BAD_USER_INPUT"
FREE_TEXT = frozenset({"reason", "address"})
TEXT_SCALARS = frozenset({"String", "ID", "DateTime"})

# C0 and C1 controls, DEL and unpaired surrogates; free text may hold tabs and line breaks
_NOT_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class InputLimits:
    max_name_chars: int
    max_text_chars: int
    max_list_items: int


@dataclass(frozen=True)
class Use:
    """Where a variable is used: the argument's label, and whether it is free text."""

    label: str
    free_text: bool


def _error(label: str, what: str) -> GraphQLError:
    return GraphQLError(f"argument {label}: {what}", extensions={"code": BAD_USER_INPUT,
                                                                  "argument": label})


def check_string(value: str, label: str, free_text: bool, limits: InputLimits,
                 *, max_chars: int | None = -1) -> GraphQLError | None:
    """None if ``value`` may be used as the argument ``label``, else the error.
    ``max_chars``: -1 for the limit of its kind, None for no length limit."""
    if max_chars == -1:
        max_chars = limits.max_text_chars if free_text else limits.max_name_chars
    if max_chars is not None and len(value) > max_chars:  # before the scan: a 3 MB string stops here
        return _error(label, f"at most {max_chars} characters are allowed (got {len(value)})")
    bad = (_NOT_IN_TEXT if free_text else _NOT_IN_NAMES).search(value)
    if bad is not None:
        return _error(label, f"control character U+{ord(bad.group()):04X} at position"
                             f" {bad.start()} is not allowed")
    return None


def _unwrap(t: Any) -> Any:
    while isinstance(t, GraphQLNonNull):
        t = t.of_type
    return t


def check_json(value: Any, label: str, limits: InputLimits, errors: list[GraphQLError]) -> None:
    """Every string (and key) of a JSON value as free text; lists by length."""
    stack = [value]
    while stack and not errors:
        v = stack.pop()
        if isinstance(v, str):
            if (e := check_string(v, label, True, limits)) is not None:
                errors.append(e)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            if len(v) > limits.max_list_items:
                errors.append(_error(label, f"at most {limits.max_list_items} items are allowed"
                                            f" in a list (got {len(v)})"))
            stack.extend(v)


def check_value(value: Any, type_: GraphQLInputType, label: str, free_text: bool,
                limits: InputLimits, errors: list[GraphQLError]) -> None:
    """A variable's value (already JSON-decoded) against its declared type."""
    if value is None or errors:
        return
    t = _unwrap(type_)
    if isinstance(t, GraphQLList):
        items = value if isinstance(value, (list, tuple)) else [value]  # a single item coerces
        if len(items) > limits.max_list_items:
            errors.append(_error(label, f"at most {limits.max_list_items} items are allowed"
                                        f" (got {len(items)})"))
            return
        for item in items:
            check_value(item, t.of_type, label, free_text, limits, errors)
            if errors:
                return
    elif isinstance(t, GraphQLInputObjectType):
        if isinstance(value, dict):
            for key, v in value.items():
                field = t.fields.get(key)
                if field is not None:
                    check_value(v, field.type, f"{label}.{key}", key in FREE_TEXT, limits, errors)
    elif isinstance(t, GraphQLScalarType):
        if t.name in TEXT_SCALARS:
            if isinstance(value, str) and (e := check_string(value, label, free_text, limits)):
                errors.append(e)
        elif t.name == "JSON":
            check_json(value, label, limits, errors)
        elif t.name == "GeoJSON" and isinstance(value, str) and (  # WKT text
                e := check_string(value, label, True, limits, max_chars=None)) is not None:
            errors.append(e)


class LiteralChecker:
    """Checks the literal arguments met by the cost pass (gql/cost.py), and notes where each
    variable is used — its value is checked per request by :func:`check_variables`."""

    def __init__(self, limits: InputLimits) -> None:
        self.limits = limits
        self.errors: list[GraphQLError] = []
        self.uses: dict[str, list[Use]] = {}

    def __call__(self, definition: GraphQLField, arg: Any) -> None:
        name = arg.name.value
        argdef = definition.args.get(name)
        if argdef is None:  # unknown argument: the standard rules report it
            return
        self.literal(arg.value, argdef.type, name, name in FREE_TEXT)

    def literal(self, node: Any, type_: Any, label: str, free_text: bool) -> None:
        if self.errors:
            return
        t = _unwrap(type_)
        if isinstance(node, VariableNode):
            self.uses.setdefault(node.name.value, []).append(Use(label, free_text))
        elif isinstance(node, ListValueNode):
            if len(node.values) > self.limits.max_list_items:
                self.errors.append(_error(label, f"at most {self.limits.max_list_items} items"
                                                 f" are allowed (got {len(node.values)})"))
                return
            item_type = t.of_type if isinstance(t, GraphQLList) else t
            for item in node.values:
                self.literal(item, item_type, label, free_text)
        elif isinstance(node, ObjectValueNode):
            for f in node.fields:
                key = f.name.value
                if isinstance(t, GraphQLInputObjectType) and key in t.fields:
                    self.literal(f.value, t.fields[key].type, f"{label}.{key}", key in FREE_TEXT)
                else:  # a JSON object literal: its strings as free text
                    self.literal(f.value, t, label, True)
        elif isinstance(node, StringValueNode):
            max_chars: int | None = -1
            if isinstance(t, GraphQLScalarType) and t.name not in TEXT_SCALARS:
                if t.name != "JSON":  # WKT and other scalar text: characters only
                    max_chars = None
                free_text = True
            if (e := check_string(node.value, label, free_text, self.limits,
                                  max_chars=max_chars)) is not None:
                self.errors.append(e)


def _may_hold_text(type_: Any, seen: frozenset[str] = frozenset()) -> bool:
    t = _unwrap(type_)
    while isinstance(t, GraphQLList):
        t = _unwrap(t.of_type)
    if isinstance(t, GraphQLScalarType):
        return t.name in TEXT_SCALARS or t.name in ("JSON", "GeoJSON")
    if isinstance(t, GraphQLInputObjectType):
        if t.name in seen:
            return False
        return any(_may_hold_text(f.type, seen | {t.name}) for f in t.fields.values())
    return False  # enums


@dataclass(frozen=True)
class VariableCheck:
    name: str
    type: GraphQLInputType
    label: str
    free_text: bool


def variable_checks(variable_types: Mapping[str, GraphQLInputType],
                    uses: Mapping[str, list[Use]]) -> tuple[VariableCheck, ...]:
    """What to check of each variable's value: the strictest of its uses (a name if any use
    is a name), labelled by the first use."""
    out = []
    for name, type_ in variable_types.items():
        if not _may_hold_text(type_):  # Float, Int, Boolean, enums, Coordinates: nothing to check
            continue
        used = uses.get(name) or [Use(f"${name}", False)]
        free = all(u.free_text for u in used)
        out.append(VariableCheck(name, type_, f"{used[0].label} (${name})", free))
    return tuple(out)


def check_variables(checks: tuple[VariableCheck, ...], variables: Mapping[str, Any] | None,
                    limits: InputLimits) -> list[GraphQLError]:
    errors: list[GraphQLError] = []
    if not variables:
        return errors
    for c in checks:
        value = variables.get(c.name)
        if value is not None:
            check_value(value, c.type, c.label, c.free_text, limits, errors)
            if errors:
                break
    return errors
