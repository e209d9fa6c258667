"""Prepared queries (gql/prepared.py): a checked query runs straight on graphql-core, and every
answer — data, errors with their codes and paths, HTTP status — is the one strawberry's own path
gives. Each request below is sent with the prepared path on and off, and the two compared whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import strawberry

from jurisgrid.config import ApiSettings
from jurisgrid.gql import prepared as prepared_mod
from jurisgrid.gql import responsible

POINT = {"lon": 106.973, "lat": 30.8366}  # inside the demo county (渠江派出所)
ONE = ("query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) { "
       "onBoundary distanceToBoundaryM grid { code name } zone { code station { code name } } "
       "officers { role person { name } } } }")

# (query, variables, operationName): answered on the prepared path
PREPARED: list[tuple[str, dict[str, Any] | None, str | None]] = [
    (ONE, POINT, None),
    ("{ __typename currentRevision }", None, None),
    ("query Q($n: Int = 3) { grids(first: $n) { totalCount nodes { code zone { code } } "
     "pageInfo { hasNextPage endCursor } } }", None, None),
    ("query Q($n: Int = 3) { grids(first: $n) { nodes { code } } }", {"n": 2}, "Q"),
    ("query A { counties { nodes { code } } } query B { stations(first: 2) { nodes { code name } } }",
     None, "B"),
    ("fragment U on Unit { code name } { zones(first: 2) { nodes { ...U station { ...U } } } }",
     None, None),
    ("{ a: responsibleFor(lon: 106.973, lat: 30.8366) { grid { code } } "
     "b: responsibleFor(lon: 100.0, lat: 20.0) { grid { code } nearest { distanceM grid { code } } } }",
     None, None),
    # field errors: the domain error's code and path, the rest of the data kept
    ("query($lon: Float!, $lat: Float!) { currentRevision responsibleFor(lon: $lon, lat: $lat) "
     "{ grid { code } neighbours(withinM: 5000) { distanceM } } }", POINT, None),
    ("{ responsibleFor(lon: 500, lat: 30) { grid { code } } }", None, None),
    # variables graphql-core refuses while executing (on either path)
    (ONE, {"lon": "east", "lat": 30.8}, None),
    (ONE, {"lat": 30.8}, None),
]

# refused before execution, or not a query: strawberry's own path answers
REGULAR: list[tuple[str, dict[str, Any] | None, str | None]] = [
    ("{ grids { nodes { code } }", None, None),                       # does not parse
    ("{ grids { nodes { nope } } }", None, None),                     # does not validate
    ("query A { counties { nodes { code } } } query B { currentRevision }", None, None),  # which one?
    ("query A { counties { nodes { code } } }", None, "Nope"),                   # no such operation
    ("{ grids(first: 1000) { nodes { addressPoints(first: 1000) { code } } } }", None, None),  # cost
    ("mutation { revertRevision(revision: -1) { revision } }", None, None),  # a mutation
]

# prepared queries are part of the fast path; with it off (the second pass of .ci/run) there is nothing
# to compare
pytestmark = pytest.mark.skipif(not ApiSettings().fast_execution,
                                reason="JURISGRID_FAST_EXECUTION=false")


@pytest.fixture
def graphql(app) -> Any:  # type: ignore[no-untyped-def]
    return app.state.graphql


@pytest.fixture
def calls(graphql, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each request was answered on the prepared path (True) or left to strawberry."""
    seen: list[bool] = []
    real = prepared_mod.PreparedQueries.execute

    async def spy(self: Any, data: Any, context: Any, root: Any) -> Any:
        result = await real(self, data, context, root)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(prepared_mod.PreparedQueries, "execute", spy)
    yield seen


def _both(client, graphql, query: str, variables: dict | None, name: str | None,
          method: str = "POST") -> tuple[Any, Any]:
    def send() -> tuple[int, Any]:
        if method == "GET":
            params = {"query": query}
            if name:
                params["operationName"] = name
            r = client.get("/graphql", params=params)
        else:
            r = client.post("/graphql", json={"query": query, "variables": variables,
                                              "operationName": name})
        is_json = r.headers.get("content-type", "").startswith("application/json")
        return r.status_code, r.json() if is_json else r.text

    kept = graphql.prepared
    assert kept is not None, "the prepared path is on with the fast path (the default)"
    on = send()
    try:
        graphql.prepared = None
        off = send()
    finally:
        graphql.prepared = kept
    return on, off


@pytest.mark.parametrize("query,variables,name", PREPARED)
def test_prepared_answers_as_strawberry(client, graphql, calls, query, variables, name) -> None:
    on, off = _both(client, graphql, query, variables, name)
    assert calls == [True], "answered on the prepared path"
    assert on == off
    assert on[0] == 200 and "data" in on[1]


@pytest.mark.parametrize("query,variables,name", REGULAR)
def test_refusals_are_strawberrys_own(client, graphql, calls, query, variables, name) -> None:
    on, off = _both(client, graphql, query, variables, name)
    assert calls == [False], "left to strawberry before anything ran"
    assert on == off
    assert on[0] != 200 or on[1].get("errors"), on


def test_get_queries(client, graphql, calls) -> None:
    on, off = _both(client, graphql, "query Q { counties { nodes { code name } } }", None, "Q", method="GET")
    assert calls == [True] and on == off and on[0] == 200
    on, off = _both(client, graphql, "mutation { revertRevision(revision: -1) { revision } }",
                    None, None, method="GET")
    assert calls[-1] is False and on == off and on[0] != 200  # no mutation over GET


def test_unexpected_errors_are_masked_alike(client, graphql, calls, monkeypatch) -> None:
    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug, with a secret")

    monkeypatch.setattr(responsible, "responsible_for", broken)
    on, off = _both(client, graphql, ONE, POINT, None)
    assert calls == [True] and on == off
    (err,) = on[1]["errors"]
    assert err["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in err["message"] and err["path"] == ["responsibleFor"]


def test_budget_starts_on_the_prepared_path(client, graphql, calls, monkeypatch) -> None:
    """The time budget starts where the extension starts it (documents.per_request)."""
    from jurisgrid.gql import budget

    started: list[bool] = []
    real = budget.start
    monkeypatch.setattr(budget, "start", lambda: (started.append(True), real())[1])
    _both(client, graphql, "{ currentRevision }", None, None)
    assert calls == [True] and started == [True, True]


@strawberry.type
class _Q:
    x: int = 1


def test_needs_the_document_extension() -> None:
    with pytest.raises(ValueError, match="document-check extension"):
        prepared_mod.PreparedQueries(strawberry.Schema(query=_Q))
