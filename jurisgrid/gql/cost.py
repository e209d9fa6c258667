"""How much work a GraphQL document asks for: depth, aliases and cost, in one pass over it.

Why our own pass: strawberry's depth and alias limiters expand every fragment spread afresh, so
a document whose fragments each spread the next one twice (``fragment F0 on Query {...F1
...F1}`` … 40 levels, 1.6 KB) took time doubling per level and pinned a worker. Here each
fragment is measured once per document and its figures reused at every spread: the pass is
linear in the size of the text, whatever the fan-out.

The figures, per operation (fragments expanded):

- depth: nested field levels below the root, as strawberry's QueryDepthLimiter counts them (a
  leaf field adds none; introspection fields ``__…`` count none);
- aliases: aliased fields;
- cost: every field costs 1, and a field's selections cost once per item it may return —
  ``first`` (connections and other paged lists: the literal, the variable's value, or the
  default), the points of a batch (``responsibleForMany``: one per point, the columns being
  computed in one pass), and ``list_default`` for a list with no size argument (a station's
  zones). A connection's ``edges``/``nodes`` are already counted by its ``first``.

Sizes given by variables are unknown when the document is validated (and cached): the pass then
assumes the largest allowed (``first`` ≤ the page-size cap, a batch ≤ its point cap) — an upper
bound. A document over the cost limit only by those assumptions is measured again per request
with the variables' actual sizes (:func:`variable_sizes`).

The pass tolerates invalid documents (unknown fields or fragments count 1, cycles stop): it runs
before the standard validation rules, so that an oversized document is refused before anything
costlier looks at it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
QUERY_TOO_LARGE = "QUERY_TOO_LARGE"

BATCH_ARGUMENT = "points"   # responsibleForMany(points: Coordinates!): one item per point
SIZE_ARGUMENT = "first"
BACKWARD_SIZE_ARGUMENT = "last"   # lists paged backwards (models/filters.py)


@dataclass(frozen=True)
class CostLimits:
    max_depth: int
    max_aliases: int
    max_cost: int
    page_size_default: int
    page_size_max: int
    batch_max_points: int
    list_default: int
    max_fields: int = 2_000  # field selections written in a document


@dataclass
class Figures:
    """What a selection set asks for. ``sized_by``: variables whose values set a size in it."""

    depth: int = 0
    aliases: int = 0
    cost: int = 0
    sized_by: frozenset[str] = frozenset()


@dataclass
class OperationFigures:
    name: str | None
    node: OperationDefinitionNode
    figures: Figures


# Called for each argument of each field met (once per fragment): the field's definition, the
# argument's node; the hygiene checks (gql/hygiene.py) of literal values and variable uses.
ArgumentVisitor = Callable[[GraphQLField, Any], None]


@dataclass
class _Pass:
    schema: GraphQLSchema
    limits: CostLimits
    fragments: dict[str, FragmentDefinitionNode]
    sizes: Mapping[str, int | None]
    visit_argument: ArgumentVisitor | None
    memo: dict[str, Figures] = field(default_factory=dict)
    in_progress: set[str] = field(default_factory=set)
    fields_written: int = 0  # field nodes met (each once: fragments are measured once)

    def fragment(self, name: str) -> Figures:
        found = self.memo.get(name)
        if found is not None:
            return found
        node = self.fragments.get(name)
        if node is None or name in self.in_progress:  # unknown or cyclic: the rules report it
            return Figures()
        self.in_progress.add(name)
        parent = self.schema.get_type(node.type_condition.name.value)
        figures = self.selections(node.selection_set, parent)
        self.in_progress.discard(name)
        self.memo[name] = figures
        return figures

    def selections(self, selection_set: SelectionSetNode | None,
                   parent: GraphQLNamedType | None) -> Figures:
        out = Figures()
        if selection_set is None:
            return out
        sized: set[str] = set()
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                f = self.field(sel, parent)
                depth = f.depth
            elif isinstance(sel, FragmentSpreadNode):
                f = self.fragment(sel.name.value)
                depth = f.depth
            elif isinstance(sel, InlineFragmentNode):
                cond = (self.schema.get_type(sel.type_condition.name.value)
                        if sel.type_condition else parent)
                f = self.selections(sel.selection_set, cond)
                depth = f.depth
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            out.depth = max(out.depth, depth)
            out.aliases += f.aliases
            out.cost += f.cost
            sized |= f.sized_by
        out.sized_by = frozenset(sized)
        return out

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Figures:
        self.fields_written += 1
        name = node.name.value
        definition = _field_definition(self.schema, parent, name)
        if definition is not None and self.visit_argument is not None:
            for arg in node.arguments or ():
                self.visit_argument(definition, arg)
        child_type = get_named_type(definition.type) if definition is not None else None
        inner = self.selections(node.selection_set, child_type)
        multiplier, extra, sized = self.sizes_of(node, definition, parent)
        depth = 0 if name.startswith("__") or node.selection_set is None else 1 + inner.depth
        return Figures(
            depth=depth,
            aliases=(1 if node.alias is not None else 0) + inner.aliases,
            cost=1 + extra + multiplier * inner.cost,
            sized_by=inner.sized_by | sized,
        )

    def sizes_of(self, node: FieldNode, definition: GraphQLField | None,
                 parent: GraphQLNamedType | None) -> tuple[int, int, frozenset[str]]:
        """(items the selections are paid for, extra cost of the field, variables used)."""
        if definition is None:
            return 1, 0, frozenset()
        args = {a.name.value: a.value for a in node.arguments or ()}
        lim = self.limits
        if SIZE_ARGUMENT in definition.args:
            arg = definition.args[SIZE_ARGUMENT]
            default = arg.default_value if isinstance(arg.default_value, int) else lim.page_size_default
            size, used = self.size(args.get(SIZE_ARGUMENT), default, lim.page_size_max)
            if BACKWARD_SIZE_ARGUMENT in args:  # paging backwards: as many items as `last`
                back, used_back = self.size(args[BACKWARD_SIZE_ARGUMENT], default,
                                            lim.page_size_max)
                size, used = max(size, back), used | used_back
            return max(0, min(size, lim.page_size_max)), 0, used
        if BATCH_ARGUMENT in definition.args:
            size, used = self.size(args.get(BATCH_ARGUMENT), lim.batch_max_points,
                                   lim.batch_max_points)
            return 1, max(0, min(size, lim.batch_max_points)), used
        if _is_list(definition.type):
            connection = parent is not None and parent.name.endswith("Connection")
            return (1 if connection else lim.list_default), 0, frozenset()
        return 1, 0, frozenset()

    def size(self, value: Any, default: int, unknown: int) -> tuple[int, frozenset[str]]:
        if value is None:
            return default, frozenset()
        if isinstance(value, IntValueNode):
            return int(value.value), frozenset()
        if isinstance(value, ListValueNode):
            return len(value.values), frozenset()
        if isinstance(value, VariableNode):
            name = value.name.value
            given = self.sizes.get(name)
            return (unknown if given is None else given), frozenset((name,))
        return default, frozenset()


def _is_list(t: Any) -> bool:
    while isinstance(t, GraphQLNonNull):
        t = t.of_type
    return isinstance(t, GraphQLList)


def _field_definition(schema: GraphQLSchema, parent: GraphQLNamedType | None,
                      name: str) -> GraphQLField | None:
    if name == "__typename":
        return TypeNameMetaFieldDef
    if parent is schema.query_type:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        return parent.fields.get(name)
    return None


def _root(schema: GraphQLSchema, op: OperationDefinitionNode) -> GraphQLObjectType | None:
    kind = op.operation.value
    return {"query": schema.query_type, "mutation": schema.mutation_type,
            "subscription": schema.subscription_type}.get(kind)


def measure(schema: GraphQLSchema, document: DocumentNode, limits: CostLimits,
            sizes: Mapping[str, int | None] | None = None,
            visit_argument: ArgumentVisitor | None = None) -> list[OperationFigures]:
    """The figures of every operation in ``document``; ``sizes``: variable name → size (an int
    for ``first``, a list length for a batch) where known."""
    return measure_document(schema, document, limits, sizes, visit_argument)[0]


def measure_document(schema: GraphQLSchema, document: DocumentNode, limits: CostLimits,
                     sizes: Mapping[str, int | None] | None = None,
                     visit_argument: ArgumentVisitor | None = None,
                     ) -> tuple[list[OperationFigures], int]:
    """:func:`measure`, and the field selections written in the document (each once, not
    expanded) — what graphql-core's validation rules walk: 20,000 copies of one field fit the
    token limit and took them 0.6 s."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    walk = _Pass(schema, limits, fragments, sizes or {}, visit_argument)
    out = []
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            out.append(OperationFigures(d.name.value if d.name else None, d,
                                        walk.selections(d.selection_set, _root(schema, d))))
    # fragments no operation uses are measured too: their arguments are checked like any other
    for name in fragments:
        walk.fragment(name)
    return out, walk.fields_written


def fields_error(written: int, limit: int) -> GraphQLError:
    return GraphQLError(f"the document selects {written} fields; at most {limit} are allowed",
                        extensions={"code": QUERY_TOO_LARGE})


def limit_errors(op: OperationFigures, limits: CostLimits, *, cost: bool = True) -> list[GraphQLError]:
    """Errors for an operation over a limit (each with its ``extensions.code``)."""
    f, label = op.figures, f"'{op.name or 'anonymous'}'"
    errors = []
    if f.depth > limits.max_depth:
        errors.append(GraphQLError(
            f"{label} exceeds maximum operation depth of {limits.max_depth} (depth {f.depth})",
            op.node, extensions={"code": QUERY_TOO_DEEP}))
    if f.aliases > limits.max_aliases:
        errors.append(GraphQLError(
            f"{label} has {f.aliases} aliases (fragments expanded); at most"
            f" {limits.max_aliases} are allowed", op.node, extensions={"code": TOO_MANY_ALIASES}))
    if cost and f.cost > limits.max_cost:
        errors.append(cost_error(op, f.cost, limits))
    return errors


def cost_error(op: OperationFigures, cost: int, limits: CostLimits) -> GraphQLError:
    return GraphQLError(
        f"'{op.name or 'anonymous'}' would cost {cost} (fields times the items of the lists"
        f" they are under); at most {limits.max_cost} is allowed: ask for fewer items"
        " (first) or fewer nested lists", op.node,
        extensions={"code": QUERY_TOO_COSTLY, "cost": cost, "maxCost": limits.max_cost})


def variable_sizes(names: frozenset[str],
                   variables: Mapping[str, Any] | None) -> tuple[tuple[str, int | None], ...]:
    """The sizes the given variables set: an int as is, a list by its length; else unknown."""
    out = []
    for name in sorted(names):
        v = (variables or {}).get(name)
        if isinstance(v, bool):
            size = None
        elif isinstance(v, int):
            size = v
        elif isinstance(v, (list, tuple)):
            size = len(v)
        else:
            size = None
        out.append((name, size))
    return tuple(out)
