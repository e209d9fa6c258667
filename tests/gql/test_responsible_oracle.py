"""responsibleFor / responsibleForMany against the independent Shapely oracle (100% agreement)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from tests.oracle import export_grids, oracle, probe_points

BATCH = """query($p: Coordinates!) { responsibleForMany(points: $p) {
  count resolved gridCodes zoneCodes stationCodes onBoundary nearestGridCodes nearestDistanceM } }"""

SINGLE = """query($lon: Float!, $lat: Float!) { responsibleFor(lon: $lon, lat: $lat) {
  onBoundary distanceToBoundaryM grid { code } zone { code } station { code }
  nearest { grid { code } distanceM } } }"""


@pytest.fixture(scope="module")
def probe(engine):
    grids = export_grids(engine)
    pts = probe_points(grids, n_random=10_000, seed=1)
    codes, boundary = oracle(grids, pts[:, 0], pts[:, 1])
    return grids, pts, codes, boundary


def test_probe_covers_vertices_and_random_points(probe) -> None:
    _, pts, codes, boundary = probe
    assert len(pts) > 10_000
    assert sum(boundary) > 1_000          # vertices and midpoints are on boundaries
    assert codes.count(None) > 100        # the bbox also samples outside the county


def test_batch_agrees_with_oracle(gql, probe) -> None:
    _, pts, codes, boundary = probe
    got_codes: list = []
    got_boundary: list = []
    for start in range(0, len(pts), 100_000):
        chunk = pts[start:start + 100_000]
        out = gql(BATCH, {"p": chunk.tolist()})
        assert "errors" not in out, out
        b = out["data"]["responsibleForMany"]
        assert b["count"] == len(chunk)
        got_codes += b["gridCodes"]
        got_boundary += b["onBoundary"]
    mismatches = [i for i in range(len(pts)) if got_codes[i] != codes[i]]
    assert mismatches == [], f"{len(mismatches)} grid mismatches, first at {pts[mismatches[0]]}"
    bmis = [i for i in range(len(pts)) if codes[i] and got_boundary[i] != boundary[i]]
    assert bmis == [], f"{len(bmis)} boundary-flag mismatches, first at {pts[bmis[0]]}"


@pytest.mark.parametrize("at", [None, "now()"], ids=["live", "as-of-now"])
def test_sql_rule_agrees_with_oracle(engine, probe, at) -> None:
    """jg_grid_at() — the rule responsibleFor, the membership trigger, as-of reads, revert and
    the seed load use — on every probe, over the live grids and over the history's grids in
    force now (the same grids, read from the other source), with its on-boundary half."""
    _, pts, codes, boundary = probe
    arg = f", {at}" if at else ""
    with engine.connect() as conn:
        rows = conn.execute(text(f"""
            SELECT g.code, jg_on_boundary(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
            FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) WITH ORDINALITY AS p(x, y, i)
            LEFT JOIN grid g ON g.id = jg_grid_at(ST_SetSRID(ST_MakePoint(p.x, p.y), 4326){arg})
            ORDER BY p.i"""), {"x": pts[:, 0].tolist(), "y": pts[:, 1].tolist()}).all()
    mismatches = [i for i in range(len(pts)) if rows[i][0] != codes[i]]
    assert mismatches == [], f"{len(mismatches)} mismatches, first at {pts[mismatches[0]]}"
    bmis = [i for i in range(len(pts)) if codes[i] and rows[i][1] != boundary[i]]
    assert bmis == [], f"{len(bmis)} boundary-flag mismatches, first at {pts[bmis[0]]}"


def test_single_point_agrees_with_oracle(gql, probe) -> None:
    """responsibleFor over HTTP on a sample: boundary points, random inside, and outside."""
    _, pts, codes, boundary = probe
    rng = np.random.default_rng(3)
    on_b = [i for i in range(len(pts)) if boundary[i]]
    inside = [i for i in range(len(pts)) if codes[i] and not boundary[i]]
    outside = [i for i in range(len(pts)) if codes[i] is None]
    sample = (list(rng.choice(on_b, 120, replace=False)) + list(rng.choice(inside, 60, replace=False))
              + list(rng.choice(outside, 20, replace=False)))
    for i in sample:
        r = gql(SINGLE, {"lon": float(pts[i, 0]), "lat": float(pts[i, 1])})
        assert "errors" not in r, r
        a = r["data"]["responsibleFor"]
        if codes[i] is None:
            assert a["grid"] is None and a["zone"] is None and a["station"] is None
            assert a["nearest"]["grid"]["code"] and a["nearest"]["distanceM"] > 0
        else:
            assert a["grid"]["code"] == codes[i], pts[i]
            assert a["onBoundary"] == boundary[i], pts[i]
            assert a["nearest"] is None
            if boundary[i]:
                assert a["distanceToBoundaryM"] == 0
            else:
                assert a["distanceToBoundaryM"] > 0
