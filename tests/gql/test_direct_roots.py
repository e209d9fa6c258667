"""Direct roots (gql/execution.py): ``responsibleFor`` resolved without strawberry's resolver
wrapper answers exactly as the regular resolver does — inside a grid, on a boundary, outside
every grid, in every input crs, with nested relations and resolver fields below it, with
aliases and fragments; ``asOf``/``plan`` go through the regular resolver, and bad input is
reported as the regular resolver reports it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from jurisgrid.config import ApiSettings
from jurisgrid.gql import execution

FIELDS = ("onBoundary distanceToBoundaryM grid { code name zone { code } } zone { code } "
          "station { code name sector { code } } community { code } township { code } "
          "sector { code } officers { role person { code name phone } } "
          "nearest { distanceM grid { code } } __typename")
ONE = ("query($lon: Float!, $lat: Float!, $crs: Crs) { responsibleFor(lon: $lon, lat: $lat, "
       "crs: $crs) { " + FIELDS + " } }")

# direct roots are part of the fast path; with it off (the second pass of .ci/run) there is nothing
# to compare
pytestmark = pytest.mark.skipif(not ApiSettings().fast_execution,
                                reason="JURISGRID_FAST_EXECUTION=false")


@pytest.fixture(scope="module")
def points(engine) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Inside points, boundary vertices (shared by two grids), and points outside every grid."""
    with engine.connect() as conn:
        inside = conn.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid "
            "ORDER BY code LIMIT 12) s")).all()
        vertices = conn.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 2) AS p "
            "FROM grid ORDER BY code LIMIT 8) s")).all()
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                                "FROM (SELECT ST_Extent(geom) AS e FROM grid) s")).one()
    x0, y0, x1, y1 = (float(v) for v in box)
    outside = [(x0 - 0.01, y0 - 0.01), (x1 + 0.02, (y0 + y1) / 2), ((x0 + x1) / 2, y1 + 0.005)]
    return [(float(x), float(y)) for x, y in [*inside, *vertices]] + outside


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each direct call answered (True) or left the field to the resolver (False)."""
    seen: list[bool] = []
    real = execution.DIRECT_ROOTS["responsibleFor"]

    async def spy(context: Any, args: dict[str, Any]) -> Any:
        try:
            value = await real(context, args)
        except Exception:
            seen.append(False)
            raise
        seen.append(True)
        return value

    monkeypatch.setitem(execution.DIRECT_ROOTS, "responsibleFor", spy)
    return seen


def _both(client, monkeypatch, query: str, variables: dict | None = None) -> tuple[Any, Any]:
    def send() -> Any:
        r = client.post("/graphql", json={"query": query, "variables": variables})
        assert r.status_code == 200, r.text
        return r.json()

    direct = send()
    with monkeypatch.context() as m:
        m.delitem(execution.DIRECT_ROOTS, "responsibleFor")
        regular = send()
    return direct, regular


def test_points_answer_as_the_resolver(client, monkeypatch, points, used) -> None:
    kinds = set()
    for lon, lat in points:
        direct, regular = _both(client, monkeypatch, ONE, {"lon": lon, "lat": lat})
        assert direct == regular, (lon, lat)
        a = direct["data"]["responsibleFor"]
        kinds.add("outside" if a["grid"] is None else "boundary" if a["onBoundary"] else "inside")
    assert kinds == {"inside", "boundary", "outside"}, kinds  # every case was covered
    assert used == [True] * len(points)


@pytest.mark.parametrize("crs", ["WGS84", "CGCS2000", "GCJ02", "BD09"])
def test_every_crs(client, monkeypatch, points, used, crs: str) -> None:
    lon, lat = points[0]
    direct, regular = _both(client, monkeypatch, ONE, {"lon": lon, "lat": lat, "crs": crs})
    assert direct == regular and "errors" not in direct
    assert used == [True]


def test_aliases_fragments_and_resolver_fields(client, monkeypatch, points, used) -> None:
    (ax, ay), (bx, by) = points[0], points[-1]
    q = ("fragment R on Responsibility { grid { code stats { population } } neighbours(withinM: 50) "
         "{ distanceM grid { code } } } "
         f"{{ a: responsibleFor(lon: {ax}, lat: {ay}) {{ ...R onBoundary }} "
         f"b: responsibleFor(lon: {bx}, lat: {by}, crs: WGS84) {{ ...R nearest {{ distanceM }} }} }}")
    direct, regular = _both(client, monkeypatch, q)
    assert direct == regular and "errors" not in direct
    assert used == [True, True]


def test_as_of_and_bad_input_go_through_the_resolver(client, monkeypatch, points, used) -> None:
    lon, lat = points[0]
    q = ("query($t: DateTime) { responsibleFor(lon: " + repr(lon) + ", lat: " + repr(lat)
         + ", asOf: $t) { grid { code } } }")
    direct, regular = _both(client, monkeypatch, q, {"t": "2026-01-01T00:00:00+08:00"})
    assert direct == regular and used == [False]
    for bad in ({"lon": 500.0, "lat": 30.0}, {"lon": lon, "lat": 91.0}):
        direct, regular = _both(client, monkeypatch, ONE, bad)
        assert direct == regular
        (err,) = direct["errors"]
        assert err["extensions"]["code"] == "BAD_USER_INPUT" and err["path"] == ["responsibleFor"]
