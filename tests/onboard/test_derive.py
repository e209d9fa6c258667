"""What is missing is derived: a bureau with only station jurisdiction polygons gets one zone per
station and grids cut as community ∩ zone (checked against Shapely); several counties load from
one file set; a manifest maps odd file and column names, and a bad manifest is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs
from jurisgrid.geo.validate import area_m2
from jurisgrid.io.formats import write_layer
from jurisgrid.onboard.pipeline import load_jurisdiction
from tests.onboard.conftest import counts, write_set, zone_station


def _station_polygons(demo) -> dict[str, shapely.Geometry]:
    zs = zone_station(demo)
    parts: dict[str, list[shapely.Geometry]] = {}
    for g in demo.grids:
        parts.setdefault(zs[g.zone_code], []).append(g.geom)
    return {s: shapely.union_all(p) for s, p in parts.items()}


def test_only_station_polygons_zones_and_grids_are_generated(
    empty_engine: Engine, demo, tmp_path: Path
) -> None:
    root = write_set(demo, tmp_path / "qu", kinds=("townships", "communities"))
    polys = _station_polygons(demo)
    codes = sorted(polys)
    names = {s.code: s.name for s in demo.stations}
    write_layer(
        root / "派出所.geojson",
        columns={"派出所代码": codes, "派出所名称": [names[c] for c in codes]},
        geoms=[polys[c] for c in codes],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="stations",
    )
    report = load_jurisdiction(empty_engine, root)
    assert report.written and report.bad == []
    assert any("one per station polygon" in d for d in report.derived)
    assert any("community ∩ zone" in d for d in report.derived)
    # the oracle: every (community, station) pair that overlaps by ≥ 1 m² is one grid
    want = {
        (c.code, s)
        for c in demo.communities
        for s in codes
        if area_m2(shapely.intersection(c.geom, polys[s])) >= 1.0
    }
    with empty_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT g.code, c.code, s.code, ST_AsBinary(g.geom) FROM grid g "
                "JOIN community c ON c.id = g.community_id "
                "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id"
            )
        ).all()
        n_zones = conn.execute(text("SELECT count(*) FROM zone")).scalar_one()
    assert n_zones == len(codes)
    assert {(r[1], r[2]) for r in rows} == want
    comm = {c.code: c.geom for c in demo.communities}
    for code, c, s, wkb in rows:
        g = shapely.from_wkb(bytes(wkb))
        assert code[:12] == c and len(code) == 15
        assert area_m2(g.difference(comm[c])) < 0.01 and area_m2(g.difference(polys[s])) < 1.0, code


def test_several_counties_from_one_file_set(empty_engine: Engine, demo, tmp_path: Path) -> None:
    root = write_set(demo, tmp_path / "two")
    towns = sorted(demo.townships, key=lambda t: t.code)
    half = {t.code for t in towns[: len(towns) // 2]}
    a = shapely.union_all([t.geom for t in towns if t.code in half])
    b = shapely.union_all([t.geom for t in towns if t.code not in half])
    write_layer(
        root / "counties.geojson",
        columns={"code": ["511725", "511799"], "name": ["渠县东", "渠县西"]},
        geoms=[a, b],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="counties",
    )
    write_layer(
        root / "townships.geojson",
        columns={
            "code": [t.code for t in towns],
            "name": [t.name for t in towns],
            "county": ["511725" if t.code in half else "渠县西" for t in towns],
        },
        geoms=[t.geom for t in towns],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="townships",
    )
    report = load_jurisdiction(empty_engine, root)
    assert report.written and report.bad == [], report.bad[:3]
    with empty_engine.connect() as conn:
        by_county: dict[str, int] = dict(
            conn.execute(
                text("SELECT c.code, count(*) FROM township t JOIN county c ON c.id = t.county_id GROUP BY 1")
            ).all()
        )
        sectors = conn.execute(text("SELECT count(*) FROM sector")).scalar_one()
    assert by_county == {"511725": len(half), "511799": len(towns) - len(half)}
    assert sectors == 2  # one default sector per county
    assert counts(empty_engine)["grid"] == len(demo.grids)


def test_manifest_maps_names_and_refuses_typos(empty_engine: Engine, demo, tmp_path: Path) -> None:
    root = write_set(demo, tmp_path / "odd", kinds=("townships", "communities", "stations"))
    zs = zone_station(demo)
    write_layer(
        root / "wg2024.shp",
        columns={
            "WGBM": [g.code for g in demo.grids],
            "WGMC": [g.name for g in demo.grids],
            "JWQ": [g.zone_code for g in demo.grids],
            "PCS": [zs[g.zone_code] for g in demo.grids],
        },
        geoms=[g.geom for g in demo.grids],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="wg",
    )
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        f'[county]\ncode = "511725"\nname = "渠县"\n\n[grids]\nfile = "{root.name}/wg2024.shp"\n'
        'columns = { code = "WGBM", name = "WGMC", zone = "JWQ", station = "PCS" }\n',
        encoding="utf-8",
    )
    report = load_jurisdiction(empty_engine, root, manifest_path=manifest, dry_run=True)
    assert report.counts["grids"] == len(demo.grids) and not report.written
    assert counts(empty_engine)["grid"] == 0  # dry run: rolled back
    manifest.write_text('[grids]\nfiel = "wg2024.shp"\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"unknown key.*fiel"):
        load_jurisdiction(empty_engine, root, manifest_path=manifest)
    manifest.write_text('[grids]\ncolumns = { cod = "WGBM" }\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"unknown field.*cod"):
        load_jurisdiction(empty_engine, root, manifest_path=manifest)


def test_tables_for_sectors_grid_zones_and_assignments(empty_engine: Engine, demo, tmp_path: Path) -> None:
    """Lists instead of columns: a sector list, a grid → zone table (the grid file has no zone
    column), zones as a plain list, staff and their assignments as separate CSVs."""
    import csv

    root = write_set(demo, tmp_path / "lists", kinds=("townships", "communities"))
    zs = zone_station(demo)
    write_layer(
        root / "网格.geojson",
        columns={"code": [g.code for g in demo.grids], "name": [g.name for g in demo.grids]},
        geoms=[g.geom for g in demo.grids],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="grids",
    )
    write_layer(
        root / "stations.geojson",
        columns={
            "code": [s.code for s in demo.stations],
            "name": [s.name for s in demo.stations],
            "sector": [s.sector_code for s in demo.stations],
        },
        geoms=[s.seat for s in demo.stations],
        geometry_type="Point",
        crs=Crs.WGS84,
        layer="stations",
    )

    def write_csv(name: str, header: list[str], rows: list[list[object]]) -> None:
        with (root / name).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)

    sectors = sorted({s.sector_code for s in demo.stations})
    write_csv("片区.csv", ["代码", "名称"], [[c, f"第{n + 1}片区"] for n, c in enumerate(sectors)])
    used = sorted({g.zone_code for g in demo.grids})
    write_csv("警务区.csv", ["警务区编码", "警务区名称", "派出所"], [[z, f"{z}警务区", zs[z]] for z in used])
    write_csv("网格警务区.csv", ["网格编码", "警务区编码"], [[g.code, g.zone_code] for g in demo.grids])
    write_csv("人员.csv", ["警号", "姓名"], [["P1", "甲"], ["P2", "乙"]])
    write_csv(
        "分工.csv",
        ["警号", "职务", "派出所", "警务区", "起始日期"],
        [
            ["P1", "所长", demo.stations[0].code, "", "2025-01-01"],
            ["P2", "社区民警", "", used[0], "2025-02-01"],
            ["P2", "网格员", "", used[0], ""],
        ],
    )
    report = load_jurisdiction(empty_engine, root)
    assert report.written and report.bad == [], report.bad[:3]
    assert report.sources["grid_zones"] == "网格警务区.csv" and report.sources["assignments"] == "分工.csv"
    with empty_engine.connect() as conn:
        zone_of: dict[str, str] = dict(
            conn.execute(text("SELECT g.code, z.code FROM grid g JOIN zone z ON z.id = g.zone_id")).all()
        )
        n_sectors = conn.execute(text("SELECT count(*) FROM sector")).scalar_one()
        assigned = conn.execute(
            text(
                "SELECT p.code, a.role, s.code, z.code, "
                "(a.valid_from AT TIME ZONE 'Asia/Shanghai')::date::text FROM assignment a "
                "JOIN person p ON p.id = a.person_id JOIN station s ON s.id = a.station_id "
                "LEFT JOIN zone z ON z.id = a.zone_id ORDER BY p.code, a.role"
            )
        ).all()
    assert zone_of == {g.code: g.zone_code for g in demo.grids}
    assert n_sectors == len(sectors)
    assert [tuple(r[:4]) for r in assigned] == [
        ("P1", "chief", demo.stations[0].code, None),
        ("P2", "community_officer", zs[used[0]], used[0]),
        ("P2", "grid_worker", zs[used[0]], used[0]),
    ]
    assert assigned[0][4] == "2025-01-01" and assigned[1][4] == "2025-02-01"


def test_shapefile_without_cpg_in_gbk(empty_engine: Engine, demo, tmp_path: Path) -> None:
    """A Shapefile written on a Chinese Windows machine: attributes in GBK and no .cpg. The
    manifest's ``encoding`` reads the names right."""
    import numpy as np
    import pyogrio.raw

    root = write_set(demo, tmp_path / "gbk", kinds=("townships", "stations", "grids"))
    path = root / "村社区.shp"
    pyogrio.raw.write(
        path,
        shapely.to_wkb(np.array([c.geom for c in demo.communities], dtype=object)),
        [
            np.array([c.code for c in demo.communities], dtype=object),
            np.array([c.name for c in demo.communities], dtype=object),
        ],
        ["code", "name"],
        driver="ESRI Shapefile",
        geometry_type="MultiPolygon",
        crs="EPSG:4326",
        encoding="GBK",
    )
    path.with_suffix(".cpg").unlink()
    (root / "manifest.toml").write_text('[communities]\nencoding = "GBK"\n', encoding="utf-8")
    report = load_jurisdiction(empty_engine, root)
    assert report.written and report.bad == []
    with empty_engine.connect() as conn:
        names: dict[str, str] = dict(conn.execute(text("SELECT code, name FROM community")).all())
    assert names == {c.code: c.name for c in demo.communities}
