"""A GeoPackage (one file, a layer per kind) whose grids were digitised independently: one
grid reaches ~2 m into its neighbour, another was drawn ~1 m short of its neighbours. The load
repairs both by the stated rules and lists every repair; ``--strict`` refuses and writes
nothing. The stored grids are checked with Shapely: they tile every community."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.geo.crs import Crs
from jurisgrid.geo.validate import area_m2
from jurisgrid.onboard.pipeline import LoadRefused, load_jurisdiction
from tests.onboard.conftest import counts, zone_station


def write_layer(
    path: Path, *, columns: dict[str, list[Any]], geoms: list[Any], geometry_type: str, crs: Crs, layer: str
) -> None:
    """Add a layer to a GeoPackage (io.formats.write_layer replaces the file)."""
    data = [np.array(v, dtype=object) for v in columns.values()]
    pyogrio.raw.write(
        path,
        shapely.to_wkb(np.array(geoms, dtype=object)),
        data,
        list(columns),
        driver="GPKG",
        geometry_type=geometry_type,
        crs="EPSG:4326",
        layer=layer,
        append=path.exists(),
    )


def _messy_gpkg(demo: Any, path: Path) -> tuple[str, str, str, float]:
    """The demo's grids, but one is split in two halves (a, b) and a reaches ~2 m into b; another
    grid (d) is drawn ~1 m short all round. Returns a, b, d and the overlap in m²."""
    g = max(demo.grids, key=lambda g: g.geom.area)
    x0, y0, x1, y1 = g.geom.bounds
    cx = (x0 + x1) / 2
    left = g.geom.intersection(shapely.box(x0 - 1, y0 - 1, cx, y1 + 1))
    right = g.geom.intersection(shapely.box(cx, y0 - 1, x1 + 1, y1 + 1))
    a, b = g.code, f"{g.community_code}999"
    poke = right.intersection(left.buffer(2e-5))  # a strip of b, ~2 m wide, along a
    d = next(x for x in demo.grids if x.community_code != g.community_code)
    codes = [x.code for x in demo.grids if x.code != a] + [a, b]
    geoms = {x.code: x.geom for x in demo.grids}
    geoms[a], geoms[b] = shapely.union(left, poke), right
    geoms[d.code] = d.geom.buffer(-1e-5, join_style="mitre")  # ~1 m short all round
    zs = zone_station(demo)
    zone = {x.code: x.zone_code for x in demo.grids}
    zone[b] = zone[a]
    names = {x.code: x.name for x in demo.grids}
    names[b] = names[a] + "（二）"
    write_layer(
        path,
        columns={"code": [t.code for t in demo.townships], "name": [t.name for t in demo.townships]},
        geoms=[t.geom for t in demo.townships],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="乡镇",
    )
    write_layer(
        path,
        columns={"code": [c.code for c in demo.communities], "name": [c.name for c in demo.communities]},
        geoms=[c.geom for c in demo.communities],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="村社区",
    )
    write_layer(
        path,
        columns={"code": [s.code for s in demo.stations], "name": [s.name for s in demo.stations]},
        geoms=[s.seat for s in demo.stations],
        geometry_type="Point",
        crs=Crs.WGS84,
        layer="派出所",
    )
    write_layer(
        path,
        columns={
            "网格编码": codes,
            "网格名称": [names[c] for c in codes],
            "警务区": [zone[c] for c in codes],
            "派出所": [zs[zone[c]] for c in codes],
        },
        geoms=[shapely.MultiPolygon(shapely.get_parts(geoms[c])) for c in codes],
        geometry_type="MultiPolygon",
        crs=Crs.WGS84,
        layer="网格",
    )
    return a, b, d.code, area_m2(poke)


def test_overlaps_and_gaps_are_repaired_and_listed(empty_engine: Engine, demo, tmp_path: Path) -> None:
    path = tmp_path / "qu.gpkg"
    a, b, d, overlap = _messy_gpkg(demo, path)
    assert overlap > 50  # a real overlap, not noise
    report = load_jurisdiction(empty_engine, path)
    assert report.written and report.bad == []
    assert report.sources["grids"] == "qu.gpkg:网格"
    assert report.columns["grids"] == {
        "code": "网格编码",
        "name": "网格名称",
        "zone": "警务区",
        "station": "派出所",
    }
    kinds = {(r["kind"], tuple(r["units"])) for r in report.repairs}
    overlaps = [r for r in report.repairs if r["kind"] == "overlap_assigned"]
    assert overlaps and all(set(r["units"]) == {a, b} for r in overlaps), kinds
    assert sum(r["areaM2"] for r in overlaps) == pytest.approx(overlap, rel=0.05)
    assert any(r["kind"] in ("gap_filled", "hole_filled") and d in r["units"] for r in report.repairs), kinds
    # the oracle: stored grids tile each community (no overlap, no gap beyond 0.01 m²)
    with empty_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.code, ST_AsBinary(c.geom), array_agg(ST_AsBinary(g.geom)) "
                "FROM community c JOIN grid g ON g.community_id = c.id GROUP BY c.code, c.geom"
            )
        )
        for code, cgeom, grids in rows:
            c = shapely.from_wkb(bytes(cgeom))
            gs = [shapely.from_wkb(bytes(g)) for g in grids]
            u = shapely.union_all(gs)
            assert area_m2(shapely.symmetric_difference(u, c)) < 0.01, code
            assert sum(area_m2(g) for g in gs) - area_m2(u) < 0.01, code
    assert counts(empty_engine)["grid"] == len(demo.grids) + 1


def test_strict_refuses_and_writes_nothing(empty_engine: Engine, demo, tmp_path: Path) -> None:
    path = tmp_path / "qu.gpkg"
    a, _b, _d, _ = _messy_gpkg(demo, path)
    with pytest.raises(LoadRefused) as err:
        load_jurisdiction(empty_engine, path, strict=True)
    reasons = " | ".join(b_["reason"] for b_ in err.value.details)
    assert "overlap" in reasons and a in reasons and "gap" in reasons
    assert all(b_["file"] in ("qu.gpkg:网格", "grids") for b_ in err.value.details)
    assert set(counts(empty_engine).values()) == {0}
