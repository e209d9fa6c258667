"""Which file holds which kind of unit, and which column holds which field — by name.

A bureau's files are named and headed in Chinese or English, by whoever made them. Without a
manifest, ``jurisgrid load`` finds a kind's file by its stem (``grids.shp``, ``网格.xlsx``, a
``grids`` layer of a GeoPackage) and each field by its column header (``代码``/``编码``/``code``,
``名称``/``name``, ``人口``/``population`` …). Headers are compared after lower-casing and
removing spaces, underscores and hyphens; the first synonym found wins. A manifest can name
files, layers and columns explicitly (:mod:`jurisgrid.onboard.manifest`).
"""

from __future__ import annotations

import re

# the kinds, in load order
KINDS = (
    "counties",
    "townships",
    "communities",
    "sectors",
    "stations",
    "zones",
    "grids",
    "grid_zones",
    "addresses",
    "incidents",
    "persons",
    "assignments",
)

# file stems (or GeoPackage layer names) per kind, after normalising
FILE_NAMES: dict[str, tuple[str, ...]] = {
    "counties": ("counties", "county", "县", "县界", "区县", "县区", "行政区"),
    "townships": ("townships", "township", "towns", "乡镇", "乡镇街道", "街道", "乡镇界"),
    "communities": ("communities", "community", "villages", "村社区", "村居", "社区", "村", "村界"),
    "sectors": ("sectors", "sector", "片区"),
    "stations": ("stations", "station", "派出所", "派出所辖区"),
    "zones": ("zones", "zone", "警务区", "警务责任区", "责任区"),
    "grids": ("grids", "grid", "网格"),
    "grid_zones": ("gridzones", "gridzone", "网格警务区", "网格责任区"),
    "addresses": ("addresses", "address", "addresspoints", "标准地址", "地址", "一标三实"),
    "incidents": ("incidents", "incident", "警情", "110警情", "接处警"),
    "persons": ("persons", "personnel", "people", "staff", "人员", "警员", "警力"),
    "assignments": ("assignments", "assignment", "任职", "分工", "人员分工"),
}

SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".csv", ".xlsx")

_CODE = ("code", "代码", "编码", "编号", "dm", "bm")
_NAME = ("name", "名称", "mc")
# synonyms per field; a kind's fields are listed in FIELDS
SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": _CODE,
    "name": _NAME,
    "kind": ("kind", "性质", "类型", "等级"),
    "county": ("county", "县", "区县", "所属区县", "县代码", "countycode"),
    "township": ("township", "乡镇", "街道", "乡镇街道", "所属乡镇", "乡镇代码", "townshipcode"),
    "community": (
        "community",
        "村社区",
        "社区",
        "村",
        "所属社区",
        "所属村社区",
        "社区代码",
        "村代码",
        "communitycode",
    ),
    "sector": ("sector", "片区", "所属片区", "sectorcode"),
    "station": ("station", "派出所", "所属派出所", "派出所代码", "派出所编码", "stationcode"),
    "zone": ("zone", "警务区", "警务责任区", "责任区", "所属警务区", "警务区编码", "警务区代码", "zonecode"),
    "grid": ("grid", "网格", "所属网格", "网格编码", "网格代码", "gridcode"),
    "person": ("person", "人员", "警号", "人员编号", "personcode"),
    "address": ("address", "地址", "标准地址", "addr", "地址名称"),
    "phone": ("phone", "电话", "联系电话", "tel", "手机"),
    "office": ("office", "hasoffice", "警务室"),
    "population": ("population", "人口", "实有人口", "人口数", "pop"),
    "households": ("households", "户数", "实有户数", "hh"),
    "houses": ("houses", "房屋", "实有房屋", "房屋数"),
    "units": ("units", "单位", "实有单位", "单位数"),
    "category": ("category", "类别", "警情类别", "案由", "警情类型", "type"),
    "occurred": ("occurred", "occurredat", "time", "datetime", "时间", "报警时间", "接警时间", "发生时间"),
    "role": ("role", "职务", "岗位", "角色"),
    "valid_from": ("validfrom", "from", "起始", "起始日期", "任职时间", "开始时间"),
    "valid_to": ("validto", "to", "截止", "截止日期", "结束时间"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "wkt": ("wkt", "geometry", "geom"),
}

# kind-specific synonyms tried before the general ones
_SPECIFIC: dict[tuple[str, str], tuple[str, ...]] = {
    ("grids", "code"): ("网格编码", "网格代码", "gridcode"),
    ("grids", "name"): ("网格名称",),
    ("stations", "code"): ("派出所代码", "派出所编码", "stationcode"),
    ("stations", "name"): ("派出所名称", "派出所"),
    ("zones", "code"): ("警务区编码", "警务区代码", "zonecode"),
    ("zones", "name"): ("警务区名称", "警务区"),
    ("communities", "code"): ("社区代码", "村代码", "区划代码", "统计用区划代码"),
    ("communities", "name"): ("村社区名称", "社区名称", "村名称", "村名"),
    ("townships", "code"): ("乡镇代码", "区划代码", "统计用区划代码"),
    ("townships", "name"): ("乡镇名称", "乡镇街道名称"),
    ("counties", "code"): ("区划代码", "县代码"),
    ("persons", "code"): ("警号", "人员编号", "工号"),
    ("persons", "name"): ("姓名",),
    ("incidents", "code"): ("警情编号", "接警单编号", "警情号"),
    ("addresses", "code"): ("地址编码", "地址代码"),
    ("assignments", "person"): ("警号", "人员编号"),
    ("grid_zones", "code"): ("网格编码", "网格代码", "grid", "网格"),
    ("grid_zones", "zone"): ("警务区编码", "警务区", "zone"),
}

FIELDS: dict[str, tuple[str, ...]] = {
    "counties": ("code", "name"),
    "townships": ("code", "name", "kind", "county"),
    "communities": ("code", "name", "kind", "township"),
    "sectors": ("code", "name", "county"),
    "stations": ("code", "name", "kind", "sector", "address", "phone", "lon", "lat"),
    "zones": ("code", "name", "kind", "station", "office"),
    "grids": ("code", "name", "community", "zone", "station"),
    "grid_zones": ("code", "zone"),
    "addresses": ("code", "address", "households", "population", "houses", "units", "lon", "lat"),
    "incidents": ("code", "category", "occurred", "lon", "lat"),
    "persons": ("code", "name", "phone", "role", "station", "zone", "community", "grid"),
    "assignments": ("person", "role", "station", "zone", "community", "grid", "valid_from", "valid_to"),
}
POINT_KINDS = ("addresses", "incidents")
AREA_KINDS = ("counties", "townships", "communities", "zones", "grids")
TABLE_KINDS = ("sectors", "grid_zones", "persons", "assignments")  # no geometry
# stations: points (seats) or polygons (jurisdictions); a table with lon/lat is fine too


def normalise(name: object) -> str:
    """Header or file stem as compared: lower case, no spaces, underscores, hyphens or dots."""
    return re.sub(r"[\s_\-.（）()]+", "", str(name).strip().lower())


def detect(kind: str, headers: list[str], given: dict[str, str] | None = None) -> dict[str, str]:
    """Map our field names to the file's column names (as given in ``headers``).

    ``given`` (from a manifest) wins; a given column that is not in the file is left to the
    caller to report. A column is used for at most one field."""
    out: dict[str, str] = {}
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalise(h), h)
    used: set[str] = set()
    for f, col in (given or {}).items():
        out[f] = col
        used.add(col)
    for f in FIELDS[kind]:
        if f in out:
            continue
        for syn in (*_SPECIFIC.get((kind, f), ()), *SYNONYMS.get(f, ())):
            hit = by_norm.get(normalise(syn))
            if hit is not None and hit not in used:
                out[f] = hit
                used.add(hit)
                break
    return out
