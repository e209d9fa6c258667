"""Writes ``sample/``: a tiny made-up county as a bureau would hand it over (README's worked example).

示例县 (code 990101, not a real county) is a 2 km square near 渠县, surveyed in the CGCS2000 3°
Gauss–Krüger zone EPSG:4545 (Shapefiles with .prj): two townships, four communities digitised
independently (one reaches 0.3 m into its neighbour, another stops 0.4 m short of its), two police
stations given only as jurisdiction polygons — no zones, no grids. Address points are a CSV in
WGS 84, incidents a 110 export in BD-09 (Baidu) with local category names, the staff an Excel
list. Run from the repository root: ``.venv/bin/python tests/data/onboard/make_sample.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import openpyxl
import pyproj
import shapely

from jurisgrid.geo.crs import Crs, from_wgs84, parse_file_crs
from jurisgrid.io.formats import write_layer

OUT = Path(__file__).resolve().parent / "sample"
GK = parse_file_crs("EPSG:4545")
X0, Y0 = 400_000.0, 3_411_000.0  # metres, EPSG:4545 (false easting 500 km, CM 108°E)


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle in metres from the corner, with a vertex every 25 m like a surveyed boundary."""
    return shapely.segmentize(shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1), 25.0)


def to_wgs84(g: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(g, GK.to_wgs84_array)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for f in OUT.iterdir():
        f.unlink()
    shp = {"geometry_type": "MultiPolygon", "crs": GK}
    write_layer(
        OUT / "乡镇.shp",
        columns={"代码": ["990101001", "990101002"], "名称": ["东城街道", "清溪镇"]},
        geoms=[to_wgs84(box(0, 0, 1000, 2000)), to_wgs84(box(1000, 0, 2000, 2000))],
        layer="乡镇",
        **shp,
    )
    comms = {  # digitised one by one: 柳树村 overlaps 和平社区 by 0.3 m, 高桥村 stops 0.4 m short of 新华社区
        "990101001001": ("和平社区", box(0, 0, 1000, 1000)),
        "990101001002": ("新华社区", box(0, 1000, 1000, 2000)),
        "990101002001": ("柳树村", box(999.7, 0, 2000, 1000)),
        "990101002002": ("高桥村", box(1000.4, 1000, 2000, 2000)),
    }
    write_layer(
        OUT / "村社区.shp",
        columns={"代码": list(comms), "名称": [n for n, _ in comms.values()]},
        geoms=[to_wgs84(g) for _, g in comms.values()],
        layer="村社区",
        **shp,
    )
    write_layer(
        OUT / "派出所.shp",
        columns={
            "代码": ["990101PS01", "990101PS02"],
            "名称": ["示例县公安局城关派出所", "示例县公安局清溪派出所"],
            "性质": ["城区", "农村"],
            "电话": ["0818-0000001", "0818-0000002"],
        },
        geoms=[to_wgs84(box(0, 0, 1500, 2000)), to_wgs84(box(1500, 0, 2000, 2000))],
        layer="派出所",
        **shp,
    )
    rng = np.random.default_rng(1)
    tr = pyproj.Transformer.from_crs(4545, 4326, always_xy=True)
    with (OUT / "标准地址.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["地址编码", "标准地址", "户数", "人口", "经度", "纬度"])
        for k in range(8):
            lon, lat = tr.transform(X0 + 100 + 250 * k, Y0 + 300 + 200 * (k % 4))
            w.writerow(
                [
                    f"A99010100{k + 1:02d}",
                    f"示例县示例路{k + 1}号",
                    1 + k % 3,
                    2 + k % 5,
                    f"{lon:.7f}",
                    f"{lat:.7f}",
                ]
            )
    cats = ["盗窃", "纠纷", "噪音扰民", "交通"]
    with (OUT / "警情.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["警情编号", "报警时间", "警情类别", "经度", "纬度"])
        for k in range(12):
            lon, lat = tr.transform(X0 + rng.uniform(50, 1950), Y0 + rng.uniform(50, 1950))
            blon, blat = from_wgs84(Crs.BD09, lon, lat)
            w.writerow(
                [
                    f"J2025{k + 1:04d}",
                    f"2025-03-{1 + k:02d} {8 + k % 12:02d}:15:00",
                    cats[k % 4],
                    f"{blon:.7f}",
                    f"{blat:.7f}",
                ]
            )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "民警"
    ws.append(["警号", "姓名", "职务", "所属派出所", "警务区", "联系电话"])
    ws.append(["099001", "王一", "所长", "示例县公安局城关派出所", None, "13800000001"])
    ws.append(["099002", "李二", "社区民警", "示例县公安局城关派出所", "990101PS01Z01", "13800000002"])
    ws.append(["099003", "张三", "所长", "示例县公安局清溪派出所", None, "13800000003"])
    ws.append(["099004", "赵四", "辅警", "示例县公安局清溪派出所", "990101PS02Z01", "13800000004"])
    wb.save(OUT / "人员.xlsx")
    (OUT / "manifest.toml").write_text(
        "# 示例县: the names the files do not carry, and the 110 export's coordinate system\n"
        '[county]\ncode = "990101"\nname = "示例县"\n\n'
        '[incidents]\ncrs = "BD09"                                  # Baidu coordinates\n'
        'categories = { "盗窃" = "CRIMINAL" }             # local name → our category\n'
        'unknown_categories = "add"                      # others (噪音扰民) are added and listed\n',
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
