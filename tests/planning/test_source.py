"""The database adapter on the small test county: every figure against pandas over plain rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.errors import InvalidInput, NotFound
from jurisgrid.planning.metrics import plan_metrics
from jurisgrid.planning.source import read_scope


def _frames(engine: Engine) -> dict[str, pd.DataFrame]:
    q = {
        "grid": "SELECT g.id, g.code, ST_AsText(g.geom) AS wkt, c.code AS community, z.code AS zone, "
                "s.code AS station FROM grid g JOIN community c ON c.id = g.community_id "
                "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id",
        "address": "SELECT grid_id, population, households FROM address_point",
        "incident": "SELECT grid_id, category, occurred_at FROM incident",
    }
    with engine.connect() as conn:
        return {k: pd.read_sql_query(text(v), conn) for k, v in q.items()}


def test_scope_of_a_station(engine: Engine) -> None:
    f = _frames(engine)
    station = sorted(f["grid"].station.unique())[0]
    with engine.connect() as conn:
        scope = read_scope(conn, station)
    grids = f["grid"][f["grid"].station == station].sort_values("code")
    assert list(scope.units.codes) == list(grids.code)
    assert list(scope.zone) == list(grids.zone) and set(scope.station) == {station}
    assert list(scope.units.village or ()) == list(grids.community)
    addr = f["address"].groupby("grid_id")[["population", "households"]].sum()
    want = grids.set_index("id").join(addr).fillna(0)
    assert list(scope.units.measures["population"]) == list(want.population)
    assert list(scope.units.measures["households"]) == list(want.households)
    inc = f["incident"].merge(grids[["id", "code"]], left_on="grid_id", right_on="id")
    per = inc.groupby("code").size().reindex(grids.code, fill_value=0)
    assert list(scope.units.measures["incidents"]) == list(per)
    for cat, n in inc.groupby(["code", "category"]).size().items():
        assert scope.units.measures[f"incidents.{cat[1]}"][scope.units.index[cat[0]]] == n
    for code, wkt in zip(grids.code, grids.wkt, strict=True):
        assert scope.units.geoms[scope.units.index[code]].equals(shapely.from_wkt(wkt))
    assert set(scope.zone_seats()) == set(grids.zone)
    # today's zones as an assignment: the metrics run on what the adapter read
    m = plan_metrics(scope.units, scope.zone, seats=scope.zone_seats())
    assert sum(d.totals["population"] for d in m.districts) == want.population.sum()


def test_window_and_whole_county(engine: Engine) -> None:
    f = _frames(engine)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.connect() as conn:
        scope = read_scope(conn, None, since=since)
    assert len(scope.units) == len(f["grid"])
    later = (f["incident"].occurred_at >= pd.Timestamp(since)).sum()
    assert 0 < later < len(f["incident"])
    assert scope.units.measures["incidents"].sum() == later


def test_unknown_station_and_bad_window(engine: Engine) -> None:
    with engine.connect() as conn:
        with pytest.raises(NotFound):
            read_scope(conn, "NO-SUCH-STATION")
        with pytest.raises(InvalidInput):
            read_scope(conn, None, since=datetime(2026, 2, 1, tzinfo=UTC),
                       until=datetime(2026, 1, 1, tzinfo=UTC))
