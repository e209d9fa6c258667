"""Plain-subtree plans (gql/execution.py) give graphql-core's results, errors and paths exactly:
the same queries run with the plans and with strawberry's default executor, compared whole."""

from __future__ import annotations

import asyncio
import enum
import math
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from jurisgrid.config import ApiSettings
from jurisgrid.gql import execution
from jurisgrid.gql.execution import PlainSubtreeExecutor


@strawberry.enum
class Kind(enum.Enum):
    URBAN = "urban"
    RURAL = "rural"


@strawberry.type
class Person:
    name: str
    phone: str | None


@strawberry.type
class Officer:
    person: Person
    role: str
    kind: Kind


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Place(Named):
    code: str
    score: float
    tags: list[str]
    maybe_tags: list[str | None] | None
    officers: list[Officer]

    @strawberry.field
    def shout(self, times: int = 1) -> str:  # a resolver: graphql-core's business
        return self.code.upper() * times


@strawberry.type
class Answer:
    on_boundary: bool
    distance_m: float | None
    place: Place | None
    named: Named | None
    officers: list[Officer]


def _answer(*, bad: str | None = None) -> Answer:
    alice = Person(name="Alice", phone=None)
    officers = [Officer(person=alice, role="民警", kind=Kind.URBAN),
                Officer(person=Person(name="Bob", phone="110"), role="辅警", kind=Kind.RURAL)]
    place = Place(name="渠江", code="511725001", score=1.5, tags=["a", "b"], maybe_tags=["x", None],
                  officers=officers)
    if bad == "null_in_non_null":
        officers[1].person.name = None  # type: ignore[assignment]
    elif bad == "nan":
        place.score = math.nan
    elif bad == "wrong_type":
        place.officers = [alice]  # type: ignore[list-item]
    elif bad == "not_a_list":
        place.tags = 5  # type: ignore[assignment]
    return Answer(on_boundary=True, distance_m=None if bad == "null_ok" else 0.25, place=place,
                  named=place, officers=officers)


@strawberry.type
class Query:
    @strawberry.field
    async def answer(self, bad: str | None = None) -> Answer:
        return _answer(bad=bad)

    @strawberry.field
    def answers(self) -> list[Answer]:
        return [_answer(), _answer(bad="null_ok")]


PLANNED = strawberry.Schema(query=Query, execution_context_class=PlainSubtreeExecutor)
DEFAULT = strawberry.Schema(query=Query, execution_context_class=StrawberryGraphQLCoreExecutionContext)

FIELDS = ("onBoundary distanceM officers { role kind person { name phone } } "
          "place { code name score tags maybeTags officers { kind person { name } } }")
QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("{ answer { " + FIELDS + " } }", {}),
    ("{ answers { " + FIELDS + " } }", {}),
    ("{ answer { __typename b: onBoundary d: distanceM place { __typename c: code n: code } } }", {}),
    ("{ answer { ...A place { ... on Place { code officers { ...O } } } } } "
     "fragment A on Answer { onBoundary officers { ...O } } "
     "fragment O on Officer { role person { name } }", {}),
    # directives: not planned, the same answers
    ("query($x: Boolean!) { answer { onBoundary place @include(if: $x) { code } } }", {"x": True}),
    ("query($x: Boolean!) { answer { onBoundary place @include(if: $x) { code } } }", {"x": False}),
    ("query($x: Boolean!) { answer { officers { role ... @skip(if: $x) { kind } } } }", {"x": True}),
    # resolvers, arguments and abstract types inside: graphql-core for that object, plans below
    ("{ answer { place { code shout(times: 2) officers { role person { name } } } } }", {}),
    ("{ answer { named { name ... on Place { code officers { role } } } } }", {}),
    # abnormal values: graphql-core's own errors, paths and null propagation
    ("{ answer(bad: \"null_in_non_null\") { officers { person { name } } place { code } } }", {}),
    ("{ answer(bad: \"nan\") { onBoundary place { code score } } }", {}),
    ("{ answer(bad: \"wrong_type\") { place { officers { role } } } }", {}),
    ("{ answer(bad: \"not_a_list\") { place { code tags } } }", {}),
]


def _run(schema: strawberry.Schema, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = asyncio.run(schema.execute(query, variable_values=variables))
    errors = [(e.message, e.path) for e in result.errors or []]
    return {"data": result.data, "errors": sorted(errors, key=repr)}


@pytest.mark.parametrize(("query", "variables"), QUERIES)
def test_plans_answer_exactly_as_graphql_core(query: str, variables: dict[str, Any]) -> None:
    want = _run(DEFAULT, query, variables)
    got = _run(PLANNED, query, variables)
    assert got == want
    assert got == _run(PLANNED, query, variables)  # again, with the plan cached


def test_plain_selections_are_planned_and_the_others_are_not() -> None:
    execution._plans.clear()
    _run(PLANNED, "{ answer { onBoundary place { code officers { role } } } }", {})
    planned = {t.name: plan is not None for (t, *_), (plan, _) in execution._plans.items()}
    assert planned == {"Answer": True}  # the whole subtree in one plan
    execution._plans.clear()
    _run(PLANNED, "{ answer { place { shout officers { role } } } }", {})
    planned = {t.name: plan is not None for (t, *_), (plan, _) in execution._plans.items()}
    assert planned == {"Answer": False, "Place": False, "Officer": True}
    execution._plans.clear()
    _run(PLANNED, "query($x: Boolean!) { answer { place @include(if: $x) { code } } }", {"x": True})
    planned = {t.name: plan is not None for (t, *_), (plan, _) in execution._plans.items()}
    assert planned == {"Answer": False, "Place": True}


def test_the_app_schema_plans_responsible_for(gql) -> None:  # type: ignore[no-untyped-def]
    if not ApiSettings().fast_execution:
        pytest.skip("JURISGRID_FAST_EXECUTION=false: the app executes with graphql-core's own")
    execution._plans.clear()
    body = gql("{ responsibleFor(lon: 106.973, lat: 30.8366) { onBoundary grid { code } "
               "station { code name } officers { role person { name } } } }")
    assert body["data"]["responsibleFor"]["grid"]["code"]
    assert any(t.name == "Responsibility" and plan is not None
               for (t, *_), (plan, _) in execution._plans.items())
