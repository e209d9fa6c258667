"""Importing a surveyed grid layer: one revision (history, invariants, NOTIFY), checked against
an independent Shapely computation; a layer that would leave a gap or an overlap is refused and
nothing changes."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import Engine, text

from jurisgrid.errors import InvalidGeometry
from jurisgrid.geo.crs import Crs, parse_file_crs
from jurisgrid.io.transfer import ImportRefused, export_layer, import_file
from jurisgrid.live.listener import ChangeListener
from tests.io.conftest import snapshot

G = 1e-7  # the precision grid of stored grid geometry


def _grids(engine: Engine) -> dict[str, tuple[shapely.Geometry, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT g.code, ST_AsBinary(g.geom), z.code, c.code FROM grid g "
                                 "JOIN zone z ON z.id = g.zone_id JOIN community c ON c.id = g.community_id"))
        return {code: (shapely.from_wkb(bytes(wkb)), zone, comm) for code, wkb, zone, comm in rows}


def _state(engine: Engine) -> tuple[str, str, str, int]:
    with engine.connect() as conn:
        revs = conn.execute(text("SELECT count(*) FROM revision")).scalar_one()
    return snapshot(engine, "grid"), snapshot(engine, "zone"), snapshot(engine, "address_point"), revs


def _neighbours(engine: Engine) -> tuple[str, str]:
    with engine.connect() as conn:
        return tuple(conn.execute(text(  # type: ignore[return-value]
            "SELECT a.code, b.code FROM grid a JOIN grid b "
            "ON a.code < b.code AND ST_Relate(a.geom, b.geom, '****1****') "
            "ORDER BY ST_Length(ST_Intersection(a.geom, b.geom)) DESC LIMIT 1")).one())


def _piece(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    edge = shapely.intersection(a.boundary, b.boundary)
    mid = shapely.line_interpolate_point(shapely.line_merge(edge) if edge.geom_type == "MultiLineString"
                                         else edge, 0.5, normalized=True)
    r = min(edge.length * 0.3, 5e-4)
    return shapely.intersection(a, shapely.box(mid.x - r, mid.y - r, mid.x + r, mid.y + r), grid_size=G)


def _file(path: Path, grids: dict[str, tuple[shapely.Geometry, str, str]], names: dict[str, str]) -> Path:
    feats = [{"type": "Feature", "properties": {"code": c, "name": names.get(c, f"网格{c[-3:]}"),
                                                "zone": z, "community": comm},
              "geometry": mapping(g)} for c, (g, z, comm) in grids.items()]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False))
    return path


def _names(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT code, name FROM grid")).all())  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt,crs", [("geojson", Crs.WGS84), ("gpkg", Crs.GCJ02), ("shp", Crs.CGCS2000),
                                     ("csv", Crs.BD09), ("shp", "EPSG:4545"), ("gpkg", "EPSG:32648")])
def test_export_import_round_trip(io_engine: Engine, tmp_path: Path, fmt: str, crs: Any) -> None:
    crs = parse_file_crs(crs)       # Gauss–Krüger (CGCS2000, CM 108°E) and UTM 48N through pyproj
    before = _state(io_engine)
    path = tmp_path / f"grids.{fmt}"
    n = export_layer(io_engine, "grids", path, crs=crs)
    report = import_file(io_engine, "grids", path, crs=crs)
    assert report.nothing_changed and report.total == n and report.problems == []
    assert _state(io_engine) == before     # not even an empty revision


def _import_live(engine: Engine, path: Path, **kw: Any) -> tuple[Any, list[Any]]:
    """Import while a LISTEN subscriber waits: the report and the change events received."""
    listener = ChangeListener(engine)
    events: list[Any] = []
    ready = threading.Event()

    async def listen() -> None:
        async with listener.subscribe() as changes:
            ready.set()
            events.append(await asyncio.wait_for(anext(changes), 60))

    t = threading.Thread(target=lambda: asyncio.run(listen()))
    t.start()
    assert ready.wait(20)
    try:
        report = import_file(engine, "grids", path, **kw)
    finally:
        t.join(60)
        listener.stop()
    return report, events


def _check_database_holds(engine: Engine, new: dict[str, tuple[shapely.Geometry, str, str]]) -> None:
    """The grids are exactly the file's, tile the county, and zone outlines and point
    memberships follow (an independent Shapely computation)."""
    after = _grids(engine)
    assert set(after) == set(new)
    for code, (g, zone, comm) in new.items():
        got, gz, gc = after[code]
        assert (gz, gc) == (zone, comm), code
        assert shapely.symmetric_difference(got, g).area < 1e-14, code
    geoms = [g for g, _, _ in after.values()]
    union = shapely.union_all(geoms)
    assert abs(sum(g.area for g in geoms) - union.area) < 1e-12                     # no overlap
    with engine.connect() as conn:
        county = shapely.from_wkb(bytes(conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM county")).scalar_one()))
        zones = {z: shapely.from_wkb(bytes(w)) for z, w in conn.execute(text(
            "SELECT code, ST_AsBinary(geom) FROM zone WHERE geom IS NOT NULL"))}
        wrong = conn.execute(text("SELECT count(*) FROM address_point a "
                                  "WHERE a.grid_id IS DISTINCT FROM jg_grid_at(a.geom)")).scalar_one()
    assert shapely.symmetric_difference(union, county).area < 1e-10                   # no gap
    for z in {zone for _, zone, _ in new.values()}:
        zone_union = shapely.union_all([g for g, zz, _ in after.values() if zz == z])
        assert shapely.symmetric_difference(zones[z], zone_union).area < 1e-12, z
    assert wrong == 0


def test_split_reassign_then_reshape(io_engine: Engine, tmp_path: Path) -> None:
    grids, names = _grids(io_engine), _names(io_engine)
    codes = sorted(grids)
    # 1. split one grid in two (the west half keeps the code, the east half is a new grid) and
    #    move another grid to a zone of another station — one file, one revision
    # d: a convex grid, cut along a chord between two of its own vertices (new edges use only
    # existing vertices, so nothing leaves the 1e-7° grid or the community)
    d = next(k for k in codes if grids[k][0].geom_type == "MultiPolygon" and len(grids[k][0].geoms) == 1
             and grids[k][0].convex_hull.area - grids[k][0].area < 1e-15
             and len(grids[k][0].geoms[0].exterior.coords) >= 7)
    c = next(k for k in codes if k != d and grids[k][2] != grids[d][2])
    with io_engine.connect() as conn:
        other_zone = conn.execute(text(
            "SELECT z2.code FROM grid g JOIN zone z ON z.id = g.zone_id JOIN zone z2 ON z2.station_id "
            "<> z.station_id WHERE g.code = :c ORDER BY z2.code LIMIT 1"), {"c": c}).scalar_one()
    v = list(grids[d][0].geoms[0].exterior.coords)[:-1]
    k = len(v) // 2
    west = shapely.MultiPolygon([shapely.Polygon(v[:k + 1])])
    east = shapely.MultiPolygon([shapely.Polygon(v[k:] + v[:1])])
    seq = max(int(x[-3:]) for x in grids if x[:12] == grids[d][2]) + 1
    n_code = f"{grids[d][2]}{seq:03d}"
    new = dict(grids)
    new[d] = (west, grids[d][1], grids[d][2])
    new[n_code] = (east, grids[d][1], grids[d][2])
    new[c] = (grids[c][0], other_zone, grids[c][2])
    report, events = _import_live(io_engine, _file(tmp_path / "survey1.geojson", new, names),
                                  actor="survey-2024", reason="surveyed layer")
    r = report.result
    assert r is not None and r.revision is not None
    assert (r.inserted, r.updated, r.unchanged) == (1, 2, len(grids) - 2)
    _check_database_holds(io_engine, new)
    with io_engine.connect() as conn:
        rev = conn.execute(text("SELECT actor, kind, reason FROM revision WHERE id = :r"),
                           {"r": r.revision}).one()
    assert tuple(rev) == ("survey-2024", "importGrids", "surveyed layer")
    assert len(events) == 1 and events[0].revision == r.revision          # the change went out live
    assert {c, d, n_code} <= set(events[0].codes["grid"]) and events[0].bbox is not None

    # 2. move the triangle (v0, v1, vk) from one half to the other (neighbours in one community)
    new2 = dict(new)
    new2[d] = (shapely.MultiPolygon([shapely.Polygon(v[1:k + 1])]), new[d][1], new[d][2])
    new2[n_code] = (shapely.MultiPolygon([shapely.Polygon(v[k:] + v[:2])]), new[d][1], new[d][2])
    report2, _ = _import_live(io_engine, _file(tmp_path / "survey2.geojson", new2, names))
    assert report2.result is not None and (report2.result.inserted, report2.result.updated) == (0, 2)
    assert report2.result.revision == r.revision + 1
    _check_database_holds(io_engine, new2)


@pytest.mark.parametrize("mistake", ["gap", "overlap"])
def test_gap_or_overlap_refuses_the_import(io_engine: Engine, tmp_path: Path, mistake: str) -> None:
    grids, names = _grids(io_engine), _names(io_engine)
    a, b = _neighbours(io_engine)
    piece = _piece(grids[a][0], grids[b][0])
    new = dict(grids)
    if mistake == "gap":
        new[a] = (shapely.difference(grids[a][0], piece, grid_size=G), grids[a][1], grids[a][2])
    else:
        new[b] = (shapely.union(grids[b][0], piece, grid_size=G), grids[b][1], grids[b][2])
    before = _state(io_engine)
    with pytest.raises(InvalidGeometry) as exc:
        import_file(io_engine, "grids", _file(tmp_path / "bad.geojson", new, names))
    assert mistake.upper() in {d["problem"] for d in exc.value.details}
    assert _state(io_engine) == before


def test_bad_grid_features_are_all_reported(io_engine: Engine, tmp_path: Path) -> None:
    grids = _grids(io_engine)
    codes = sorted(grids)
    g0 = grids[codes[0]][0]
    bowtie = {"type": "Polygon", "coordinates": [[[106.9, 30.8], [106.91, 30.81], [106.91, 30.8],
                                                  [106.9, 30.81], [106.9, 30.8]]]}
    feats = [
        {"code": codes[0], "name": "ok", "zone": grids[codes[0]][1], "geometry": mapping(g0)},
        {"code": codes[1], "name": "x", "zone": "NO-SUCH-ZONE", "geometry": mapping(grids[codes[1]][0])},
        {"code": "12345", "name": "x", "zone": grids[codes[0]][1], "geometry": mapping(g0)},
        {"code": codes[2], "name": "x", "zone": grids[codes[2]][1], "geometry": bowtie},
        {"code": codes[3], "name": "x", "zone": grids[codes[3]][1], "community": "999999999999",
         "geometry": mapping(grids[codes[3]][0])},
        {"code": codes[4], "name": "", "zone": grids[codes[4]][1],
         "geometry": mapping(shapely.affinity.translate(grids[codes[4]][0], 3.0))},
        {"code": codes[5], "name": "x", "zone": grids[codes[5]][1],
         "geometry": {"type": "Point", "coordinates": [106.9, 30.8]}},
    ]
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {k: v for k, v in f.items() if k != "geometry"},
         "geometry": f["geometry"]} for f in feats]}))
    before = _state(io_engine)
    with pytest.raises(ImportRefused) as exc:
        import_file(io_engine, "grids", path)
    reasons: dict[int, list[str]] = {}
    for d in exc.value.details:
        reasons.setdefault(d["index"], []).append(d["reason"])
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6]
    assert reasons[1] == ["unknown zone NO-SUCH-ZONE"]
    assert "does not have the format" in reasons[2][0]
    assert "invalid geometry" in reasons[3][0] and "Self-intersection" in reasons[3][0]
    assert "does not match the grid code" in reasons[4][0]
    assert "name is missing" in reasons[5] and any("outside the county" in x for x in reasons[5])
    assert "expected Polygon or MultiPolygon" in reasons[6][0]
    assert _state(io_engine) == before
    assert shape(feats[0]["geometry"]).equals(g0)
    with pytest.raises(Exception, match="--partial is not available for grids"):
        import_file(io_engine, "grids", path, partial=True)
