"""Schema-driven fuzzing of GraphQL reads (issue 16): hypothesis-graphql builds valid queries
from the committed schema — with arbitrary strings, numbers, lists and enum values in the
arguments — and sends them anonymously and with an admin token. No answer may be an HTTP 5xx
or carry ``INTERNAL_SERVER_ERROR``: bad input is a typed error, never a masked crash.

In-process (the ASGI app through a TestClient) rather than over a socket: the same app and
middleware, a fraction of the time. A fixed seed and a bounded number of examples keep it
reproducible and quick.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import (
    BooleanValueNode,
    FloatValueNode,
    ListValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    StringValueNode,
    build_schema,
)
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from tests.auth.conftest import MakeToken

# the committed SDL (a test keeps it equal to the served schema), parsed once
SCHEMA = build_schema((Path(__file__).resolve().parents[2] / "jurisgrid" / "schema.graphql").read_text())
EXAMPLES = 100
LON, LAT = st.floats(105.5, 108.5), st.floats(29.5, 32.0)


def _float(v: float) -> FloatValueNode:
    return FloatValueNode(value=repr(v))


def _pair() -> st.SearchStrategy[ListValueNode]:
    return st.tuples(LON, LAT).map(lambda p: ListValueNode(values=(_float(p[0]), _float(p[1]))))


def _geojson() -> st.SearchStrategy[Any]:
    """GeoJSON as the API takes it (an object literal): points and boxes near the county,
    plus odd shapes and types the server must refuse cleanly."""
    def obj(kind: str, coords: Any) -> ObjectValueNode:
        return ObjectValueNode(fields=(
            ObjectFieldNode(name=_name("type"), value=StringValueNode(value=kind)),
            ObjectFieldNode(name=_name("coordinates"), value=coords)))

    ring = st.lists(_pair(), min_size=0, max_size=6).map(lambda ps: ListValueNode(values=tuple(ps)))
    return st.one_of(
        _pair().map(lambda p: obj("Point", p)),
        ring.map(lambda r: obj("Polygon", ListValueNode(values=(r,)))),
        ring.map(lambda r: obj("LineString", r)),
        st.text(max_size=8).map(lambda t: obj(t, ListValueNode(values=()))),
        st.text(max_size=20).map(lambda t: StringValueNode(value=t)),
    )


def _name(value: str) -> Any:
    from graphql import NameNode

    return NameNode(value=value)


CUSTOM_SCALARS = {
    "DateTime": st.one_of(
        st.datetimes().map(lambda d: StringValueNode(value=d.isoformat() + "Z")),
        st.text(max_size=30).map(lambda t: StringValueNode(value=t))),
    "GeoJSON": _geojson(),
    "JSON": _geojson(),
    "Coordinates": st.lists(_pair(), max_size=5).map(lambda ps: ListValueNode(values=tuple(ps))),
    "StringColumn": st.lists(st.text(max_size=5), max_size=3).map(
        lambda xs: ListValueNode(values=tuple(StringValueNode(value=x) for x in xs))),
    "FloatColumn": st.lists(st.floats(-1e6, 1e6), max_size=3).map(
        lambda xs: ListValueNode(values=tuple(_float(x) for x in xs))),
    "BooleanColumn": st.lists(st.booleans(), max_size=3).map(
        lambda xs: ListValueNode(values=tuple(BooleanValueNode(value=x) for x in xs))),
}


def _fails(res: Any) -> str | None:
    """Why an answer breaks the rule, or None."""
    if res.status_code >= 500:
        return f"HTTP {res.status_code}: {res.text[:300]}"
    try:
        body = res.json()
    except json.JSONDecodeError:
        return f"not JSON (HTTP {res.status_code}): {res.text[:300]}"
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    if "INTERNAL_SERVER_ERROR" in codes or None in codes:
        return f"errors {sorted(map(str, codes))}: {json.dumps(body.get('errors'))[:400]}"
    return None


def _known_elsewhere(query: str, problem: str) -> bool:
    """Failures owned by the request-limits work in gql/documents.py (issue 16, part 3: NUL
    and control characters reaching the driver). Filtered only when the query holds a NUL and
    the answer is the masked internal error; remove once that boundary refuses NULs."""
    return "\\u0000" in query and "INTERNAL_SERVER_ERROR" in problem


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_fuzzed_queries_never_crash(client: TestClient, make_token: MakeToken, who: str) -> None:
    headers = {"Authorization": f"Bearer {make_token('admin').secret}"} if who == "admin" else {}
    problems: list[tuple[str, str]] = []
    filtered: list[str] = []
    slow: list[tuple[float, str]] = []

    @seed(20261201)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(query=queries(SCHEMA, custom_scalars=CUSTOM_SCALARS))
    def run(query: str) -> None:
        t0 = time.perf_counter()
        res = client.post("/graphql", json={"query": query}, headers=headers)
        slow.append((time.perf_counter() - t0, query))
        problem = _fails(res)
        if problem is not None and _known_elsewhere(query, problem):
            filtered.append(query)
        elif problem is not None:
            problems.append((query, problem))
        assert problem is None or _known_elsewhere(query, problem), (query, problem)

    run()
    slow.sort(reverse=True)
    print(f"\n{who}: {len(slow)} queries in {sum(t for t, _ in slow):.1f} s, slowest "
          f"{slow[0][0]:.2f} s; {len(filtered)} NUL-byte INTERNAL_SERVER_ERRORs filtered")
    assert not problems
