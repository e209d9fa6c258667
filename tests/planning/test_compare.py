"""Plan reports on the small test county against independent recomputations: today's plan against
the app's own sizing report and compliance (other statements, other code), a what-if against
pandas over plain rows, networkx for pieces and Shapely's minimum bounding circle for Reock."""

from __future__ import annotations

import math

import networkx as nx
import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.analytics import compliance as compliance_a
from jurisgrid.analytics import report
from jurisgrid.analytics.sizing import ZoneFigures, size_zone
from jurisgrid.errors import InvalidInput
from jurisgrid.planning.compare import (
    CSV_COLUMNS,
    Context,
    compare,
    comparison_csv,
    evaluate,
    with_moves,
)
from jurisgrid.planning.source import read_context
from tests.planning import oracle


@pytest.fixture(scope="module")
def station(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text(
            "SELECT st.code FROM station st JOIN zone z ON z.station_id = st.id "
            "GROUP BY st.code HAVING count(*) >= 3 ORDER BY st.code LIMIT 1")).scalar_one())


@pytest.fixture(scope="module")
def ctx(engine: Engine, station: str) -> Context:
    with engine.connect() as conn:
        return read_context(conn, station)


def _border_moves(ctx: Context, n: int) -> dict[str, str]:
    """``n`` grids each given to a neighbouring zone (a plausible what-if)."""
    live = ctx.base.assignment
    out: dict[str, str] = {}
    for i, j in ctx.adjacency.edges.tolist():
        a, b = ctx.units.codes[i], ctx.units.codes[j]
        if live[a] != live[b] and a not in out and b not in out:
            out[a] = live[b]
            if len(out) == n:
                break
    assert len(out) == n
    return out


def test_live_matches_sizing_report_and_compliance(engine: Engine, ctx: Context, station: str) -> None:
    r = evaluate(ctx, ctx.base)
    with engine.connect() as conn:
        version, window, rows = report.sizing_report(conn, scope="station", code=station)
        _, breaches = compliance_a.compliance(conn, station=station)
    assert version == ctx.policy_version and window.since == ctx.since and window.until == ctx.until
    assert [z.code for z in rows] == [str(d.district) for d in r.metrics.districts]
    for z in rows:
        d, s, info = r.zone(z.code)
        assert (d.totals["population"], d.totals["households"], d.totals["incidents"]) == \
            (z.population, z.households, z.incidents)
        assert d.totals["workload"] == pytest.approx(z.sizing.workload)
        assert s.sizing.zone_class == z.sizing.zone_class
        assert s.sizing.recommended_officers == z.sizing.recommended_officers
        assert s.sizing.workload == pytest.approx(z.sizing.workload)
        assert s.assigned_officers == z.community_officers
        assert s.officer_gap == z.community_officers - z.sizing.recommended_officers
        assert (info.kind, info.has_office, info.station) == (z.kind, z.has_office, station)
    want = sorted((b.rule, b.code) for b in breaches if b.rule != "COMMUNITY_WITHOUT_AUXILIARY")
    assert sorted((b.rule, b.code) for b in r.breaches) == want
    assert r.metrics.moves is not None and r.metrics.moves.units == 0
    assert {c.rule: c.passed for c in r.rules}["STATION_BOUNDARIES"]


def _frames(engine: Engine, station: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    with engine.connect() as conn:
        grids = pd.read_sql_query(text(
            "SELECT g.id, g.code, ST_AsText(g.geom) AS wkt, c.code AS village, z.code AS zone "
            "FROM grid g JOIN zone z ON z.id = g.zone_id JOIN station st ON st.id = z.station_id "
            "JOIN community c ON c.id = g.community_id WHERE st.code = :s"), conn, params={"s": station})
        addr = pd.read_sql_query(text("SELECT grid_id, population, households FROM address_point"), conn)
        inc = pd.read_sql_query(text("SELECT grid_id, category, occurred_at FROM incident"), conn)
    grids = grids.merge(addr.groupby("grid_id").sum(), left_on="id", right_index=True, how="left").fillna(0)
    return grids, inc


def test_what_if_against_pandas(engine: Engine, ctx: Context, station: str) -> None:
    moves = _border_moves(ctx, 4)
    alt = with_moves(ctx.base, moves, key="what-if", name="four grids moved")
    r = evaluate(ctx, alt)
    grids, inc = _frames(engine, station)
    grids["plan"] = grids.code.map(lambda c: alt.assignment[c])
    inc = inc[(inc.occurred_at >= pd.Timestamp(ctx.since)) & (inc.occurred_at < pd.Timestamp(ctx.until))]
    inc = inc.merge(grids[["id", "plan"]], left_on="grid_id", right_on="id")
    k = len(alt.zones)
    pop = grids.groupby("plan").population.sum().reindex(sorted(alt.zones), fill_value=0)
    hh = grids.groupby("plan").households.sum().reindex(sorted(alt.zones), fill_value=0)
    n_inc = inc.groupby("plan").size().reindex(sorted(alt.zones), fill_value=0)
    g = oracle.rook_graph(shapely.from_wkt(grids.wkt.to_numpy()))
    for z in sorted(alt.zones):
        d, s, info = r.zone(z)
        assert d.totals["population"] == pop[z] and d.totals["households"] == hh[z]
        assert d.totals["incidents"] == n_inc[z]
        assert d.deviation["population"] == pytest.approx((pop[z] - pop.sum() / k) / (pop.sum() / k))
        cats = inc[inc.plan == z].groupby("category").size().to_dict()
        assert s.incidents_by_category == cats
        want = size_zone(ctx.policy, ZoneFigures(info.kind, info.has_office, int(pop[z]), cats,
                                                 ctx.window_days, info.community_officers))
        assert s.sizing.zone_class == want.zone_class
        assert s.sizing.recommended_officers == want.recommended_officers
        assert d.totals["workload"] == pytest.approx(want.workload)
        idx = [i for i, p in enumerate(grids.plan) if p == z]
        assert d.pieces == nx.number_connected_components(g.subgraph(idx))
        if idx:
            union = shapely.union_all(shapely.from_wkt(grids.wkt.to_numpy()[idx]))
            local = oracle.aeqd(union)
            circle = shapely.minimum_bounding_circle(local)
            radius = shapely.minimum_bounding_radius(local)
            assert circle.area == pytest.approx(math.pi * radius**2, rel=1e-2)  # a 32-gon per quarter
            assert d.reock == pytest.approx(local.area / (math.pi * radius**2), rel=1e-2)
    assert r.metrics.measures["population"].worst == pytest.approx(
        (pop - pop.sum() / k).abs().max() / (pop.sum() / k))
    moved = grids[grids.plan != grids.zone]
    assert r.metrics.moves is not None
    assert set(r.metrics.moves.codes) == set(moved.code) == set(moves)
    assert r.metrics.moves.moved["population"] == pytest.approx(moved.population.sum())
    assert r.metrics.moves.parent_changes == 0  # within one station


def test_compare_lines_plans_up(ctx: Context) -> None:
    moves = _border_moves(ctx, 3)
    alt = with_moves(ctx.base, moves, key="p1", name="three moved")
    c = compare(ctx, [ctx.base, alt])
    assert [r.alternative.key for r in c.reports] == ["live", "p1"]
    assert {g.grid for g in c.changed} == set(moves)
    for g in c.changed:
        assert g.zones == (ctx.base.assignment[g.grid], moves[g.grid])
    text_ = comparison_csv(c)
    rows = list(pd.read_csv(pd.io.common.StringIO(text_), dtype={"zone": str}).itertuples())
    assert list(pd.read_csv(pd.io.common.StringIO(text_)).columns) == list(CSV_COLUMNS)
    assert len(rows) == 2 * len(c.zones) + 2
    summary = [r for r in rows if r.zone == "*"]
    assert [int(s.grids) for s in summary] == [0, 3]


def test_station_change_breaks_the_rule(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = read_context(conn, None)
    live = ctx.base.assignment
    for i, j in ctx.adjacency.edges.tolist():
        a, b = ctx.units.codes[i], ctx.units.codes[j]
        if ctx.base.zones[live[a]].station != ctx.base.zones[live[b]].station:
            break
    else:
        pytest.skip("no two stations share a border")
    r = evaluate(ctx, with_moves(ctx.base, {a: live[b]}))
    assert [b_.code for b_ in r.breaches if b_.rule == "STATION_BOUNDARIES"] == [a]
    assert not {c.rule: c.passed for c in r.rules}["STATION_BOUNDARIES"]
    assert r.metrics.moves is not None and r.metrics.moves.parent_changed == (a,)


def test_bad_what_if_is_refused(ctx: Context) -> None:
    with pytest.raises(InvalidInput, match="not in the scope"):
        with_moves(ctx.base, {"NOPE": next(iter(ctx.base.zones))})
    with pytest.raises(InvalidInput, match="zone"):
        with_moves(ctx.base, {ctx.units.codes[0]: "NOPE"})
    with pytest.raises(InvalidInput, match="once"):
        compare(ctx, [ctx.base, ctx.base])
