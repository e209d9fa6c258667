"""`responsibleFor { neighbours(withinM) }`: the grids just across a nearby boundary, checked
against Shapely distances in local metres at edge midpoints, vertices and random points."""

from __future__ import annotations

import json
import math
import random

import shapely
from sqlalchemy import Engine, text

Q = """query($lon: Float!, $lat: Float!, $m: Float!) { responsibleFor(lon: $lon, lat: $lat) {
  grid { code } neighbours(withinM: $m) { distanceM grid { code zone { code station { code } } } } } }"""
M = 111_320.0


def _grids(engine: Engine) -> dict[str, shapely.Geometry]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsGeoJSON(geom, 15) FROM grid")).all()
    return {c: shapely.geometry.shape(json.loads(g)) for c, g in rows}


def _metres(geom: shapely.Geometry, lon: float, lat: float) -> float:
    """Distance in metres, in the point's local equirectangular frame (independent of PostGIS)."""
    k = math.cos(math.radians(lat))
    local = shapely.transform(geom, lambda xy: (xy - [lon, lat]) * [M * k, M])
    return float(local.distance(shapely.Point(0, 0)))


def test_neighbours_agree_with_shapely(gql, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    grids = _grids(engine)
    rng = random.Random(11)
    points: list[tuple[float, float]] = []
    for code in rng.sample(sorted(grids), 12):
        ring = list(grids[code].geoms[0].exterior.coords if hasattr(grids[code], "geoms")
                    else grids[code].exterior.coords)
        i = rng.randrange(len(ring) - 1)
        (x1, y1), (x2, y2) = ring[i][:2], ring[i + 1][:2]
        points += [((x1 + x2) / 2, (y1 + y2) / 2), (x1, y1), ((x1 + x2) / 2 + 2e-5, (y1 + y2) / 2)]
    minx, miny, maxx, maxy = shapely.union_all(list(grids.values())).bounds
    points += [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(10)]
    within = 5.0
    checked_near = 0
    for lon, lat in points:
        out = gql(Q, {"lon": lon, "lat": lat, "m": within})
        assert "errors" not in out, out
        r = out["data"]["responsibleFor"]
        own = r["grid"]["code"] if r["grid"] else None
        got = {n["grid"]["code"]: n["distanceM"] for n in r["neighbours"]}
        dist = {c: _metres(g, lon, lat) for c, g in grids.items() if c != own}
        sure_in = {c for c, d in dist.items() if d <= within * 0.99}
        sure_out = {c for c, d in dist.items() if d > within * 1.01}
        assert sure_in <= set(got), (lon, lat, sure_in, got)
        assert not (sure_out & set(got)), (lon, lat, got)
        for c, d in got.items():
            assert abs(d - dist[c]) <= 0.01 * max(d, 1.0) + 0.02, (c, d, dist[c])
        assert list(got.values()) == sorted(got.values())
        checked_near += bool(got)
    assert checked_near >= 12  # the boundary points do have neighbours


def test_neighbours_refuses_a_silly_distance(gql) -> None:  # type: ignore[no-untyped-def]
    out = gql(Q, {"lon": 106.973, "lat": 30.8366, "m": 50_000})
    assert out["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "withinM" in out["errors"][0]["message"]
