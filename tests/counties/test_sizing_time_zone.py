"""Month and week series in each county's own calendar (issue 11: a time zone per county).

达川区 is put in America/Los_Angeles, 通川区 stays in Asia/Shanghai, and an incident at 20:00 UTC
on 31 December is added to each: 1 January (04:00) in Shanghai, 31 December (12:00) in Los
Angeles. Every unit's series is checked against a pandas recomputation in its county's zone —
zones (the zone rollup serves the Shanghai county, the incidents themselves the other), stations,
townships and the counties, months and ISO weeks; and the two grids of the added incidents.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.counties.conftest import COUNTIES

A, B = COUNTIES
TZ = {A: "Asia/Shanghai", B: "America/Los_Angeles"}
AT = "2025-12-31T20:00:00+00:00"

# level → (GraphQL list, SQL: incident id → the unit's code and its county's code)
LEVELS = {
    "zone": ("zones", "z.code, substr(s.code, 1, 6)"),
    "station": ("stations", "s.code, substr(s.code, 1, 6)"),
    "township": ("townships", "t.code, substr(t.code, 1, 6)"),
    "county": ("counties", "substr(t.code, 1, 6), substr(t.code, 1, 6)"),
}


@pytest.fixture(scope="module")
def two_calendars(pref_engine: Engine, pref_demos: list[Any]) -> Iterator[dict[str, str]]:
    """达川区 on Los Angeles time, and one incident at AT in a grid of each county; undone after."""
    grids = {d.code: d.grids[len(d.grids) // 2] for d in pref_demos}
    with pref_engine.begin() as conn:
        conn.execute(text("UPDATE county SET time_zone = :tz WHERE code = :c"), {"tz": TZ[B], "c": B})
        for c, g in grids.items():
            p = g.geom.representative_point()
            conn.execute(text("INSERT INTO incident (code, category, occurred_at, geom) VALUES "
                              "(:code, 'OTHER', :t, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                         {"code": f"JQTZ{c}", "t": AT, "x": p.x, "y": p.y})
    try:
        yield {c: g.code for c, g in grids.items()}
    finally:
        with pref_engine.begin() as conn:
            conn.execute(text("DELETE FROM incident WHERE code LIKE 'JQTZ%'"))
            conn.execute(text("UPDATE county SET time_zone = 'Asia/Shanghai' WHERE code = :c"),
                         {"c": B})


def _oracle(pref_engine: Engine, level: str, freq: str, zones: dict[str, str]) -> dict[str, list]:
    """Unit code → [(period start as a UTC instant, count)] by pandas, each unit in the time
    zone ``zones`` gives its county."""
    cols = LEVELS[level][1]
    with pref_engine.connect() as conn:
        df = pd.DataFrame(conn.execute(text(
            f"SELECT i.occurred_at, {cols} FROM incident i JOIN grid g ON g.id = i.grid_id "
            "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id "
            "JOIN community c ON c.id = g.community_id JOIN township t ON t.id = c.township_id"
        )).all(), columns=["t", "unit", "county"])
    out: dict[str, list] = {}
    for (unit, county), part in df.groupby(["unit", "county"]):
        tz = zones[county]
        local = pd.to_datetime(part["t"], utc=True).dt.tz_convert(tz).dt.tz_localize(None)
        start = local.dt.to_period("M" if freq == "MONTH" else "W-SUN").dt.start_time
        counts = start.dt.tz_localize(tz).dt.tz_convert("UTC").value_counts().sort_index()
        out[unit] = [(t.to_pydatetime(), int(n)) for t, n in counts.items()]
    return out


def _series(pref_gql, level: str, freq: str) -> dict[str, list]:
    field = LEVELS[level][0]
    q = (f"{{ {field}(first: 1000) {{ edges {{ node {{ code stats {{ incidents {{ "
         f"series(interval: {freq}) {{ start count }} }} }} }} }} }} }}")
    out = pref_gql(q)
    assert "errors" not in out, out
    return {e["node"]["code"]: [(datetime.fromisoformat(p["start"]).astimezone(), p["count"])
                                for p in e["node"]["stats"]["incidents"]["series"]]
            for e in out["data"][field]["edges"]}


def _utc(rows: list) -> list:
    return [(t.timestamp(), n) for t, n in rows]


@pytest.mark.parametrize("freq", ["MONTH", "WEEK"])
@pytest.mark.parametrize("level", list(LEVELS))
def test_series_in_each_countys_calendar(pref_gql, pref_engine: Engine, two_calendars,
                                         level: str, freq: str) -> None:
    want = _oracle(pref_engine, level, freq, TZ)
    got = _series(pref_gql, level, freq)
    assert {u for u, s in got.items() if s} == set(want)
    for unit, rows in want.items():
        assert _utc(got[unit]) == _utc(rows), unit
    # the rule matters here: in one calendar for both, 达川区's units would be counted otherwise
    one = _oracle(pref_engine, level, freq, {A: TZ[A], B: TZ[A]})
    assert any(_utc(one[u]) != _utc(want[u]) for u in want if u[:6] == B or level == "county")


def test_the_midnight_incident_falls_in_each_countys_own_month(pref_gql, two_calendars) -> None:
    q = """query($c: String!) { grid(code: $c) { stats { incidents {
      series(interval: MONTH) { start count } } } } }"""
    starts = {}
    for county, grid in two_calendars.items():
        s = pref_gql(q, {"c": grid})["data"]["grid"]["stats"]["incidents"]["series"]
        starts[county] = {datetime.fromisoformat(p["start"]) for p in s}
    # the local month starts: 1 January in Shanghai, 1 December in Los Angeles
    assert datetime.fromisoformat("2026-01-01T00:00:00+08:00") in starts[A]
    assert datetime.fromisoformat("2025-12-01T00:00:00-08:00") in starts[B]
    assert datetime.fromisoformat("2026-01-01T00:00:00-08:00") not in starts[B]


def test_policy_time_zone_is_the_fallback(pref_engine: Engine, two_calendars) -> None:
    from jurisgrid.models import aggregates as agg

    with pref_engine.connect() as conn:
        ids = {c: conn.execute(text("SELECT id FROM county WHERE code = :c"), {"c": c}).scalar_one()
               for c in COUNTIES}
        assert agg.unit_time_zones(conn, "county", ids.values()) == {ids[A]: TZ[A], ids[B]: TZ[B]}
        assert agg.unit_time_zones(conn, "zone", [-1]) == {}  # no such unit: the policy's then
        with pytest.raises(agg.InvalidInput, match="unknown level"):
            agg.unit_time_zones(conn, "planet", [1])


def test_series_under_a_plan_use_the_countys_calendar(pref_engine: Engine, pref_demos: list[Any],
                                                      two_calendars) -> None:
    """Under a plan (its units read through the plan's overlay) the calendar is the same."""
    from jurisgrid.editing.revisions import current_revision
    from jurisgrid.models import aggregates as agg
    from jurisgrid.models import plans as store
    from jurisgrid.models.plan_source import PlanSource

    with pref_engine.begin() as conn:
        pid = store.create_plan(conn, name="tz", description=None,
                                scope=store.Scope("station", pref_demos[1].stations[0].code),
                                actor="t", base_revision=current_revision(conn))
    try:
        with pref_engine.connect() as conn:
            ids = [i for (i,) in conn.execute(text("SELECT id FROM zone"))]
            live = agg.incident_series(conn, "zone", ids, interval="month",
                                       time_zone="Asia/Shanghai")
            planned = agg.incident_series(conn, "zone", ids, interval="month",
                                          time_zone="Asia/Shanghai", source=PlanSource(pid))
            assert planned == live
            assert set(agg.unit_time_zones(conn, "zone", ids, source=PlanSource(pid)).values()) \
                == {TZ[A], TZ[B]}
    finally:
        with pref_engine.begin() as conn:
            conn.execute(text("DELETE FROM plan WHERE id = :p"), {"p": pid})
