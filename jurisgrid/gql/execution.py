"""Execution that completes plain-attribute subtrees in one step.

graphql-core completes a result field by field: for every field it builds a resolve-info
object, calls the resolver, checks for awaitables, and dispatches on the field's type — about
twenty Python calls per field. For ``responsibleFor`` (≈ 30 fields, all plain attributes of
objects the resolver built) that machinery was half of a request's CPU.

:class:`PlainSubtreeExecutor` compiles, once per selection (the parsed documents are cached,
gql/documents.py), a *plan* for an object whose selected fields are all strawberry "basic"
fields — no resolver, no arguments, no permission or field extensions — of object, list,
scalar or enum types, recursively, without directives (so the plan does not depend on
variables). A plan reads the attributes and serializes the leaves with the very scalar and
enum serializers graphql-core would call, building the same dict. Anything a plan does not
cover — a field with a resolver, an abstract type, a directive, a field-level middleware — is
not compiled: graphql-core executes that object as always (and compiles the plain objects
below it). Anything unusual at run time — a null in a non-null field, a value a serializer
refuses, an awaitable, an object of an unexpected type — makes the plan give up and the object
is completed by graphql-core from the start — as is one where reading an attribute raised —
so errors and their paths are exactly graphql-core's (a plan only reads attributes: running
it twice changes nothing).
tests/gql/test_execution.py checks plans against graphql-core result for result.

Direct roots: a root query field registered in :data:`DIRECT_ROOTS` (``responsibleFor``, the
question every patrol phone asks) is resolved by calling its function with the context and
graphql-core's argument values — without strawberry's resolver wrapper (an ``Info`` object,
argument conversion, the field-extension chain: a tenth of a single-point request). The
function raises :class:`NotDirect` when the arguments need the regular resolver (and graphql-core
may refuse an argument): then the field is executed the regular way from the start. Any other
error is reported as graphql-core reports a resolver's error — a bug of the direct path shows,
rather than every request quietly running twice.
tests/gql/test_direct_roots.py compares the two result for result.
"""

from __future__ import annotations

import operator
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    get_argument_values,
    is_enum_type,
    is_scalar_type,
)
from graphql.pyutils import is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

Plan = Callable[[Any], dict[str, Any]]
DirectRoot = Callable[[Any, dict[str, Any]], Awaitable[Any]]


class NotDirect(Exception):
    """The arguments need the field's regular resolver."""


# root query field name -> (context, argument values) -> the field's value; registered where
# the field is defined (gql/query.py)
DIRECT_ROOTS: dict[str, DirectRoot] = {}


class _GiveUp(Exception):
    """The value is not what a plan completes: graphql-core completes the object instead."""


_GIVE_UP = _GiveUp()
_NO_VALUE = object()
_MAX_PLANS = 4096
# (object type, id of each field node) -> (the plan or None when not compilable, the nodes: kept
# alive so that their ids are not reused while the entry exists)
_plans: dict[tuple[Any, ...], tuple[Plan | None, Any]] = {}
_plans_lock = threading.Lock()


class PlainSubtreeExecutor(StrawberryGraphQLCoreExecutionContext):
    def complete_object_value(self, return_type: GraphQLObjectType, field_details_list: Any,
                              info: Any, path: Any, result: Any, position_context: Any) -> Any:
        # a connection already written as JSON text (``orjson.Fragment``, gql/json_lists.py) is
        # its completed value as it is: orjson writes it verbatim into the response. Checked
        # here, where object values are completed, not in complete_value, which every scalar
        # of every answer passes through.
        if type(result) is orjson.Fragment:
            return result
        key = (return_type, *(id(fd.node) for fd in field_details_list))
        found = _plans.get(key)
        if found is None:
            plan = self._compile_object(return_type, field_details_list)
            with _plans_lock:
                if len(_plans) >= _MAX_PLANS:
                    _plans.clear()
                _plans[key] = (plan, field_details_list)
        else:
            plan = found[0]
        if plan is not None:
            try:
                return plan(result)
            except Exception:  # _GiveUp, or an attribute's error: graphql-core reports it
                pass
        return super().complete_object_value(return_type, field_details_list, info, path, result,
                                             position_context)

    def execute_field(self, parent_type: GraphQLObjectType, source: Any, field_details_list: Any,
                      path: Any, position_context: Any) -> Any:
        if path.prev is None and parent_type is self.schema.query_type:
            direct = DIRECT_ROOTS.get(field_details_list[0].node.name.value)
            if direct is not None and not (self.middleware_manager is not None
                                           and self.middleware_manager.middlewares):
                return self._execute_direct(direct, parent_type, source, field_details_list,
                                            path, position_context)
        return super().execute_field(parent_type, source, field_details_list, path,
                                     position_context)

    async def _execute_direct(self, direct: DirectRoot, parent_type: GraphQLObjectType,
                              source: Any, field_details_list: Any, path: Any,
                              position_context: Any) -> Any:
        details = field_details_list[0]
        field_def = parent_type.fields[details.node.name.value]
        return_type = field_def.type
        value: Any = _NO_VALUE
        if details.fragment_variable_values is None:
            try:
                args = get_argument_values(field_def, details.node, self.variable_values,
                                           None, self.hide_suggestions)
                value = await direct(self.context_value, args)
            except (NotDirect, GraphQLError):  # for the resolver (arguments graphql-core refuses)
                value = _NO_VALUE
            except Exception as raw_error:  # the resolver's own error, reported as graphql-core
                self.handle_field_error(raw_error, return_type, field_details_list, path)
                return None
        if value is _NO_VALUE:
            regular = super().execute_field(parent_type, source, field_details_list, path,
                                            position_context)
            return await regular if self.is_awaitable(regular) else regular
        # completed as graphql-core's execute_field completes a resolved value
        try:
            info = self.build_resolve_info(field_def, [d.node for d in field_details_list],
                                           parent_type, path)
            completed = self.complete_value(return_type, field_details_list, info, path, value,
                                            position_context)
            return await completed if self.is_awaitable(completed) else completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    # -- compiling ---------------------------------------------------------------------------
    def _compile_object(self, object_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None  # field middleware must see every field
        if not all(fd.defer_usage is None and fd.fragment_variable_values is None
                   and _static(fd.node.selection_set, self.fragments, set())
                   for fd in field_details_list):
            return None
        grouped, new_defer_usages, forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages or forbidden:
            return None
        is_type_of: Callable[[Any, Any], Any] | None = object_type.is_type_of
        fields: list[tuple[str, Callable[..., Any] | None, Callable[[Any], Any] | str]] = []
        for response_key, fds in grouped.items():
            name = fds[0].node.name.value
            if name == "__typename":
                fields.append((response_key, None, object_type.name))
                continue
            field_def = object_type.fields.get(name)
            if (field_def is None or field_def.args or any(fd.node.arguments for fd in fds)
                    or not getattr(field_def.resolve, "_is_default", False)):
                return None
            complete = self._compile_value(field_def.type, fds)
            if complete is None:
                return None
            fields.append((response_key, _reader(field_def), complete))

        def plan(source: Any) -> dict[str, Any]:
            if is_type_of is not None and is_type_of(source, None) is not True:
                raise _GIVE_UP
            out: dict[str, Any] = {}
            for key, resolve, complete in fields:
                if resolve is None:
                    out[key] = complete
                else:
                    out[key] = complete(resolve(source))  # type: ignore[operator]
            return out

        return plan

    def _compile_value(self, t: GraphQLOutputType, fds: Any) -> Callable[[Any], Any] | None:
        """A completer of values of type ``t``, or None when ``t`` is not plainly completable."""
        if isinstance(t, GraphQLNonNull):
            found = self._compile_nullable(t.of_type, fds)
            if found is None:
                return None
            inner: Callable[[Any], Any] = found

            def non_null(value: Any) -> Any:
                if value is None or value is Undefined:
                    raise _GIVE_UP
                return inner(value)

            return non_null
        found = self._compile_nullable(t, fds)
        if found is None:
            return None
        complete: Callable[[Any], Any] = found

        def nullable(value: Any) -> Any:
            return None if value is None or value is Undefined else complete(value)

        return nullable

    def _compile_nullable(self, t: Any, fds: Any) -> Callable[[Any], Any] | None:
        """A completer of non-null values of the nullable type ``t``."""
        if isinstance(t, GraphQLList):
            item = self._compile_value(t.of_type, fds)
            if item is None:
                return None

            def list_of(value: Any) -> list[Any]:
                if not is_iterable(value):
                    raise _GIVE_UP
                return [item(v) for v in value]

            return list_of
        if is_scalar_type(t) or is_enum_type(t):
            coerce = t.coerce_output_value

            def leaf(value: Any) -> Any:
                if isinstance(value, Exception):
                    raise _GIVE_UP
                try:
                    out = coerce(value)
                except Exception:
                    raise _GIVE_UP from None
                if out is None or out is Undefined:
                    raise _GIVE_UP
                return out

            return leaf
        if isinstance(t, GraphQLObjectType):
            return self._compile_object(t, fds)
        return None  # interfaces and unions: graphql-core resolves their runtime type


def _reader(field_def: Any) -> Callable[[Any], Any]:
    """What a basic field's resolver does: strawberry's default resolver (``getattr`` unless
    configured otherwise) on the field's Python name — called directly."""
    field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if field is not None and field.default_resolver is getattr:
        return operator.attrgetter(field.python_name)
    resolve = field_def.resolve
    return lambda source: resolve(source, None)


def _static(selection_set: SelectionSetNode | None, fragments: dict[str, Any], seen: set[str]) -> bool:
    """Whether a selection set (with its fragments) has no directives anywhere, so the fields
    it selects do not depend on variables."""
    if selection_set is None:
        return True
    for sel in selection_set.selections:
        if sel.directives:
            return False
        if isinstance(sel, FieldNode | InlineFragmentNode):
            if not _static(sel.selection_set, fragments, seen):
                return False
        elif isinstance(sel, FragmentSpreadNode):
            name = sel.name.value
            if name in seen:
                continue
            seen.add(name)
            details = fragments.get(name)
            if details is None or details.definition.directives or not _static(
                    details.definition.selection_set, fragments, seen):
                return False
    return True
