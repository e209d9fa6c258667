"""Address points and incidents: export → import round-trips (every format), changes are
upserted by code with their grid set by the trigger (checked with Shapely), and a file with bad
features is refused whole — every bad feature named — with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.geo.crs import Crs
from jurisgrid.io.transfer import ImportRefused, export_layer, import_file
from tests.io.conftest import snapshot

FORMATS = ["geojson", "gpkg", "shp", "csv"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["addresses", "incidents"])
def test_export_import_round_trip(io_engine: Engine, tmp_path: Path, fmt: str, kind: str) -> None:
    table = "address_point" if kind == "addresses" else "incident"
    before = snapshot(io_engine, table)
    path = tmp_path / f"{kind}.{fmt}"
    n = export_layer(io_engine, kind, path, crs=Crs.GCJ02 if fmt == "gpkg" else Crs.WGS84)
    with io_engine.connect() as conn:
        assert n == conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() > 0
    report = import_file(io_engine, kind, path, crs=Crs.GCJ02 if fmt == "gpkg" else Crs.WGS84)
    assert report.problems == [] and report.result is not None
    if fmt == "gpkg":   # through GCJ-02 and back: within 1e-9° (0.1 mm), so rows may be rewritten
        assert report.result.inserted == 0
        with io_engine.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == n
    else:
        assert (report.result.inserted, report.result.updated, report.result.unchanged) == (0, 0, n)
        assert snapshot(io_engine, table) == before


def _write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def _pt(lon: float, lat: float, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _grid_oracle(engine: Engine, lon: float, lat: float) -> str | None:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsBinary(geom) FROM grid")).all()
    p = shapely.Point(lon, lat)
    hits = sorted(code for code, wkb in rows if shapely.from_wkb(bytes(wkb)).covers(p))
    return hits[0] if hits else None


def _inside_point(engine: Engine) -> tuple[float, float]:
    with engine.connect() as conn:
        x, y = conn.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p "
                                 "FROM grid ORDER BY code LIMIT 1 OFFSET 5) s")).one()
    return float(x), float(y)


def test_upsert_sets_the_grid(io_engine: Engine, tmp_path: Path) -> None:
    x, y = _inside_point(io_engine)
    with io_engine.connect() as conn:
        old = conn.execute(text("SELECT code, address, ST_X(geom), ST_Y(geom) FROM address_point "
                                "ORDER BY code LIMIT 1")).one()
    path = _write_geojson(tmp_path / "a.geojson", [
        _pt(x, y, code="IO-NEW-1", address="渠县渠江街道新建路1号", households=3, population=7),
        _pt(old[2], old[3], code=old[0], address=old[1], households=99, population=300, houses=1, units=2),
    ])
    r = import_file(io_engine, "addresses", path).result
    assert r is not None and (r.inserted, r.updated, r.unchanged) == (1, 1, 0)
    with io_engine.connect() as conn:
        got = conn.execute(text("SELECT a.population, a.houses, a.units, g.code FROM address_point a "
                                "LEFT JOIN grid g ON g.id = a.grid_id WHERE a.code = 'IO-NEW-1'")).one()
        upd = conn.execute(text("SELECT households, population FROM address_point WHERE code = :c"),
                           {"c": old[0]}).one()
    assert got == (7, 0, 0, _grid_oracle(io_engine, x, y)) and got[3] is not None
    assert tuple(upd) == (99, 300)


def test_bad_features_are_all_reported_and_nothing_is_written(io_engine: Engine, tmp_path: Path) -> None:
    x, y = _inside_point(io_engine)
    feats = [
        _pt(x, y, code="IO-OK-1", category="CRIMINAL", occurred="2024-05-01T08:30:00+08:00"),
        _pt(x, y, code="IO-BAD-1", category="ALIENS", occurred="2024-05-01T08:30:00"),
        _pt(y, x, code="IO-BAD-2", category="刑事", occurred="2024-05-01T08:30:00"),            # swapped
        _pt(x, y, code="IO-BAD-3", category="FIRE", occurred="yesterday"),
        _pt(x, y, category="FIRE", occurred="2024-05-01"),                                      # no code
        _pt(x, y, code="IO-OK-1", category="FIRE", occurred="2024-05-01"),                      # duplicate
        _pt(x + 5, y, code="IO-BAD-4", category="FIRE", occurred="2024-05-01"),                 # outside
        {"type": "Feature", "properties": {"code": "IO-BAD-5", "category": "FIRE", "occurred": "2024-05-01"},
         "geometry": {"type": "LineString", "coordinates": [[x, y], [x + 1e-4, y]]}},
    ]
    path = _write_geojson(tmp_path / "i.geojson", feats)
    before = snapshot(io_engine, "incident")
    with pytest.raises(ImportRefused, match="7 of 8 features are bad; nothing was imported") as exc:
        import_file(io_engine, "incidents", path)
    by_index: dict[int, list[str]] = {}
    for d in exc.value.details:
        by_index.setdefault(d["index"], []).append(d["reason"])
    assert sorted(by_index) == [1, 2, 3, 4, 5, 6, 7]
    assert "unknown incident category 'ALIENS'" in by_index[1][0]
    assert "out of range" in by_index[2][0] and "swapped" in by_index[2][0]
    assert "not an ISO 8601" in by_index[3][0]
    assert by_index[4] == ["code is missing"]
    assert "duplicate code IO-OK-1 (also feature 0)" in by_index[5][0]
    assert "outside the county" in by_index[6][0]
    assert "expected a Point, got LineString" in by_index[7][0]
    assert snapshot(io_engine, "incident") == before

    # --partial loads the one good feature; a Chinese category name and a naive time are accepted
    report = import_file(io_engine, "incidents", path, partial=True)
    assert report.skipped == 7 and report.result is not None and report.result.inserted == 1
    with io_engine.connect() as conn:
        cat, when = conn.execute(text("SELECT category, occurred_at AT TIME ZONE 'UTC' FROM incident "
                                      "WHERE code = 'IO-OK-1'")).one()
    assert cat == "CRIMINAL" and when.isoformat() == "2024-05-01T00:30:00"


def test_csv_with_missing_fields(io_engine: Engine, tmp_path: Path) -> None:
    x, y = _inside_point(io_engine)
    path = tmp_path / "a.csv"
    path.write_text(f"code,address,households,population,lon,lat\nIO-C1,路1号,2,-1,{x},{y}\n"
                    f"IO-C2,,2,3,{x},{y}\nIO-C3,路3号,2.5,3,{x},{y}\n", encoding="utf-8")
    before = snapshot(io_engine, "address_point")
    with pytest.raises(ImportRefused) as exc:
        import_file(io_engine, "addresses", path)
    reasons = {(d["index"], d["field"]): d["reason"] for d in exc.value.details}
    assert reasons == {(0, "population"): "population '-1' must be a whole number ≥ 0",
                       (1, "address"): "address is missing",
                       (2, "households"): "households '2.5' must be a whole number ≥ 0"}
    assert snapshot(io_engine, "address_point") == before


def test_dry_run_writes_nothing(io_engine: Engine, tmp_path: Path) -> None:
    x, y = _inside_point(io_engine)
    path = _write_geojson(tmp_path / "a.geojson", [_pt(x, y, code="IO-DRY", address="a", households=1,
                                                       population=1)])
    before = snapshot(io_engine, "address_point")
    r = import_file(io_engine, "addresses", path, dry_run=True).result
    assert r is not None and r.inserted == 1
    assert snapshot(io_engine, "address_point") == before


def test_a_nul_or_control_character_is_a_bad_feature(io_engine: Engine, tmp_path: Path) -> None:
    """A NUL byte in a name or code (PostgreSQL cannot store it) is reported by index and field,
    and nothing is written — it used to reach the database."""
    x, y = _inside_point(io_engine)
    feats = [
        _pt(x, y, code="IO-NUL-OK", address="南坝路 1号", households=1, population=2),
        _pt(x, y, code="IO-NUL-1", address="南坝路\x002号", households=1, population=2),
        _pt(x, y, code="IO-NUL\x1b-2", address="南坝路 3号", households=1, population=2),
    ]
    path = _write_geojson(tmp_path / "a.geojson", feats)
    before = snapshot(io_engine, "address_point")
    with pytest.raises(ImportRefused, match="2 of 3 features are bad; nothing was imported") as exc:
        import_file(io_engine, "addresses", path)
    reasons = {d["index"]: d["reason"] for d in exc.value.details}
    assert "U+0000" in reasons[1] and "address" in reasons[1]
    assert "U+001B" in reasons[2] and "code" in reasons[2]
    assert snapshot(io_engine, "address_point") == before
