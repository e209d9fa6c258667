"""Tabular lists as bureaus keep them: a CSV of 110 incidents in BD-09 (Baidu) with Chinese
headers and local category names, and an Excel personnel list (generated here with openpyxl).
Every incident lands in the grid a Shapely oracle finds for its original WGS 84 point; unknown
categories are listed (mapped or added per the manifest), never dropped; a bad row anywhere
writes nothing."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
import shapely
from sqlalchemy import Engine, text

from jurisgrid.geo.crs import Crs, from_wgs84
from jurisgrid.onboard.pipeline import LoadRefused, load_jurisdiction
from tests.onboard.conftest import counts, write_set

CATS = ["刑事", "PUBLIC_ORDER", "噪音扰民", "电诈", "纠纷"]


def _points(demo: Any, n: int, seed: int = 5) -> tuple[np.ndarray, list[str]]:
    """``n`` WGS 84 points well inside grids (≥ 1e-5° from any edge), with their grid codes."""
    rng = np.random.default_rng(seed)
    out: list[tuple[float, float]] = []
    codes: list[str] = []
    while len(out) < n:
        g = demo.grids[int(rng.integers(len(demo.grids)))]
        x0, y0, x1, y1 = g.geom.bounds
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if g.geom.contains(p) and g.geom.boundary.distance(p) > 1e-5:
            out.append((p.x, p.y))
            codes.append(g.code)
    return np.array(out), codes


def _incidents_csv(path: Path, pts: np.ndarray, *, extra: list[list[str]] | None = None) -> None:
    bx, by = from_wgs84(Crs.BD09, pts[:, 0], pts[:, 1])
    with path.open("w", newline="", encoding="utf-8-sig") as f:  # Excel's UTF-8 CSV: with BOM
        w = csv.writer(f)
        w.writerow(["警情编号", "报警时间", "警情类别", "经度", "纬度"])
        for k in range(len(pts)):
            w.writerow(
                [
                    f"J2024{k:05d}",
                    f"2024/05/{1 + k % 28:02d} 08:{k % 60:02d}:00",
                    CATS[k % len(CATS)],
                    repr(float(bx[k])),
                    repr(float(by[k])),
                ]
            )
        for row in extra or []:
            w.writerow(row)


def _personnel_xlsx(path: Path, demo: Any, *, bad_role: bool = False) -> list[tuple[str, str, str]]:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "民警名单"
    ws.append(["示例派出所民警名单（2025年）"])  # a title row above the header, as sheets have
    ws.merge_cells("A1:G1")
    ws.append(["序号", "警号", "姓名", "职务", "所属派出所", "警务区", "联系电话"])
    people = []
    zones = {z.code: z for z in demo.zones if any(g.zone_code == z.code for g in demo.grids)}
    for k, s in enumerate(demo.stations[:5]):
        zone = next(z for z in zones.values() if z.station_code == s.code)
        people.append((f"0{51000 + 2 * k}", "所长", s.code, None))
        people.append(
            (f"0{51001 + 2 * k}", "社区民警" if not (bad_role and k == 2) else "队长", s.code, zone.code)
        )
        ws.append([2 * k + 1, people[-2][0], f"张{k}", "所长", s.name, None, 13800000000 + k])
        ws.append([2 * k + 2, people[-1][0], f"李{k}", people[-1][1], s.name, zone.code, 13900000000 + k])
    wb.save(path)
    return [(p[0], p[2], p[3] or "") for p in people]


MANIFEST = """
[incidents]
crs = "BD09"
categories = { "噪音扰民" = "PUBLIC_ORDER" }
"""


def test_bd09_incidents_and_excel_personnel(empty_engine: Engine, demo, tmp_path: Path) -> None:
    root = write_set(demo, tmp_path / "qu", crs="WGS84", ext="geojson")
    pts, want = _points(demo, 120)
    _incidents_csv(root / "警情.csv", pts)
    people = _personnel_xlsx(root / "人员.xlsx", demo)
    (root / "manifest.toml").write_text(MANIFEST, encoding="utf-8")

    report = load_jurisdiction(empty_engine, root)
    assert report.written and report.bad == []
    assert report.columns["incidents"] == {
        "code": "警情编号",
        "category": "警情类别",
        "occurred": "报警时间",
        "lon": "经度",
        "lat": "纬度",
    }
    assert report.crs["incidents"] == "BD09"
    # unknown categories: 噪音扰民 is mapped by the manifest (not unknown); 电诈 is added and listed
    assert [(u["category"], u["count"], u["action"]) for u in report.unknown_categories] == [
        ("电诈", 24, "added as category 电诈")
    ]
    with empty_engine.connect() as conn:
        got: dict[str, str] = dict(
            conn.execute(
                text("SELECT i.code, g.code FROM incident i LEFT JOIN grid g ON g.id = i.grid_id")
            ).all()
        )
        cats: dict[str, int] = dict(
            conn.execute(text("SELECT category, count(*) FROM incident GROUP BY 1")).all()
        )
        stale = conn.execute(
            text(  # membership as the SQL boundary rule has it
                "SELECT count(*) FROM incident WHERE grid_id IS DISTINCT FROM jg_grid_at(geom)"
            )
        ).scalar_one()
        occurred = conn.execute(
            text(
                "SELECT to_char(occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') "
                "FROM incident WHERE code = 'J202400007'"
            )
        ).scalar_one()
        staff = {
            r[0]: (r[1], r[2], r[3] or "")
            for r in conn.execute(
                text(
                    "SELECT p.code, a.role, s.code, z.code FROM person p "
                    "JOIN assignment a ON a.person_id = p.id JOIN station s ON s.id = a.station_id "
                    "LEFT JOIN zone z ON z.id = a.zone_id"
                )
            )
        }
    assert [got[f"J2024{k:05d}"] for k in range(len(pts))] == want  # the oracle's grids
    assert stale == 0
    assert cats == {"CRIMINAL": 24, "PUBLIC_ORDER": 48, "电诈": 24, "DISPUTE": 24}
    assert occurred == "2024-05-08 08:07"  # naive time = Beijing time
    assert {k: (v[1], v[2]) for k, v in staff.items()} == {p[0]: (p[1], p[2]) for p in people}
    assert {v[0] for v in staff.values()} == {"chief", "community_officer"}
    assert counts(empty_engine)["person"] == 10


def test_bad_rows_write_nothing(empty_engine: Engine, demo, tmp_path: Path) -> None:
    root = write_set(demo, tmp_path / "qu", crs="WGS84", ext="gpkg")
    pts, _ = _points(demo, 20)
    _incidents_csv(
        root / "incidents.csv",
        pts,
        extra=[
            ["JBAD1", "2024-05-01 08:00", "刑事", "116.40", "39.90"],  # Beijing: outside the county
            ["JBAD2", "yesterday", "刑事", repr(float(pts[0, 0])), repr(float(pts[0, 1]))],
        ],
    )
    _personnel_xlsx(root / "personnel.xlsx", demo, bad_role=True)
    (root / "manifest.toml").write_text(
        MANIFEST.replace('categories = { "噪音扰民" = "PUBLIC_ORDER" }', 'unknown_categories = "refuse"'),
        encoding="utf-8",
    )
    with pytest.raises(LoadRefused) as err:
        load_jurisdiction(empty_engine, root)
    bad = {(b["file"], b["index"], b["field"]): b["reason"] for b in err.value.details}
    assert "outside the county" in bad[("incidents.csv", 20, "geometry")]
    assert "not a date-time" in bad[("incidents.csv", 21, "occurred")]
    assert "'队长'" in bad[("personnel.xlsx", 5, "role")]  # 0-based data row
    refused_cats = {b["code"] for b in err.value.details if b["field"] == "category"}
    assert len(refused_cats) == 8 and all(
        "unknown incident category" in b["reason"] for b in err.value.details if b["field"] == "category"
    )
    assert {u["category"] for u in err.value.report.unknown_categories} == {"噪音扰民", "电诈"}
    assert set(counts(empty_engine).values()) == {0}  # nothing was written
