"""The tile layers: names, zoom ranges, attributes (for TileJSON) and request validation.

Pure Python: no database. The SQL of each layer is ``jurisgrid/sql/tiles_<layer>.sql``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from jurisgrid.errors import InvalidInput, NotFound
from jurisgrid.geo.crs import Crs, UnknownCrs, in_china, to_wgs84

MAX_ZOOM = 22          # deepest tile served; TileJSON advertises ``maxzoom`` and clients overzoom
EXTENT = 4096
BUFFER = 64


@dataclass(frozen=True)
class Layer:
    name: str
    description: str
    geometry: str                      # TileJSON/MapLibre hint: polygon | point | polygon+point
    minzoom: int
    maxzoom: int                       # the data's own detail ends here; clients overzoom beyond
    fields: dict[str, str]
    cluster_below: int | None = None   # point layers: clustered below this zoom


_FIGURES = {"population": "Number: actual population (实有人口) of the address points",
            "households": "Number: households at the address points",
            "incidents": "Number: incidents (警情) recorded in the unit"}
_SIZING = {"class": "String: zone class 一类 | 二类 | 三类 under the current sizing policy "
                     "(GraphQL Zone.sizing.zoneClass)",
           "workload": "Number: workload index per year under the current sizing policy",
           "recommended_officers": "Number: recommended officers under the current sizing policy"}
# fields absent from ?asOf= tiles (address points and incidents are not historised)
NOT_HISTORISED = ("population", "households", "incidents", "addresses", "incidents_per_1000",
                  "class", "workload", "recommended_officers")
_RATE = {"incidents_per_1000": "Number: incidents per 1,000 population (absent without population)"}

LAYERS: dict[str, Layer] = {layer.name: layer for layer in (
    Layer("sectors", "Sectors (片区): unions of their stations", "polygon", 0, 14,
          {"code": "String", "name": "String", "stations": "Number", **_FIGURES}),
    Layer("stations", "Police stations (派出所): jurisdiction (feature=area) and seat (feature=seat)",
          "polygon+point", 0, 16,
          {"code": "String", "name": "String", "kind": "String: urban | central | rural",
           "phone": "String", "sector_code": "String", "feature": "String: area | seat",
           "zones": "Number", **_FIGURES}),
    Layer("zones", "Responsibility zones (警务责任区)", "polygon", 6, 16,
          {"code": "String", "name": "String", "kind": "String: urban | rural",
           "has_office": "Boolean: has a 警务室", "station_code": "String", "grids": "Number",
           **_FIGURES, **_RATE, **_SIZING}),
    Layer("grids", "Grids (网格)", "polygon", 8, 16,
          {"code": "String", "name": "String", "zone_code": "String", "station_code": "String",
           "community_code": "String", "addresses": "Number", **_FIGURES, **_RATE}),
    Layer("communities", "Villages and communities (村/社区)", "polygon", 6, 16,
          {"code": "String", "name": "String", "kind": "String: community | village",
           "township_code": "String", "grids": "Number", **_FIGURES}),
    Layer("townships", "Townships and streets (乡镇/街道)", "polygon", 0, 14,
          {"code": "String", "name": "String", "kind": "String: street | town | township",
           "communities": "Number", **_FIGURES}),
    Layer("addresses", "Address points (标准地址); clusters below zoom 15 (count, sums)", "point",
          12, 17,
          {"code": "String", "address": "String", "grid_code": "String",
           "count": "Number: points in the cluster (1 for a single point)",
           "population": "Number", "households": "Number"}, cluster_below=15),
    Layer("incidents", "Incidents (警情); clusters below zoom 14 (count)", "point", 10, 17,
          {"code": "String", "category": "String", "occurred_at": "String: ISO 8601 UTC",
           "grid_code": "String", "count": "Number: incidents in the cluster (1 for one)"},
          cluster_below=14),
)}

# ?crs= values: the SQL name of the system tiles are drawn in
_CRS_SQL = {Crs.WGS84: "wgs84", Crs.CGCS2000: "wgs84", Crs.GCJ02: "gcj02", Crs.BD09: "bd09"}


@dataclass(frozen=True)
class TileRequest:
    layer: Layer
    z: int
    x: int
    y: int
    crs: str  # 'wgs84' | 'gcj02' | 'bd09'
    # ?properties=: the attributes the tile carries (in the layer's field order); None = all
    properties: tuple[str, ...] | None = None
    # ?county= or the county of a county-scoped token: only that county's features
    # (tiles/county.py); None = the whole deployment
    county: str | None = None

    @property
    def county_key(self) -> str:
        """'_c' when the tile keeps one county (statement names: the code is a parameter)."""
        return "" if self.county is None else "_c"

    @property
    def county_etag(self) -> str:
        """What the ETag adds for a county's tile: its code — so a county's tile and the whole
        deployment's (or another county's) never share an ETag, in a client or a proxy."""
        return "" if self.county is None else f"/county={self.county}"

    @property
    def properties_key(self) -> str:
        """A short, stable name of the property selection ('' for all): statement names, ETags."""
        if self.properties is None:
            return ""
        names = list(self.layer.fields)
        return "_p" + format(sum(1 << names.index(p) for p in self.properties), "x")

    @property
    def below_minzoom(self) -> bool:
        return self.z < self.layer.minzoom


def get_layer(name: str) -> Layer:
    layer = LAYERS.get(name)
    if layer is None:
        raise NotFound(f"unknown tile layer {name!r}; layers: {', '.join(LAYERS)}")
    return layer


def parse_crs(value: str | None) -> str:
    try:
        return _CRS_SQL[Crs.parse(value or "WGS84")]
    except UnknownCrs as exc:
        raise InvalidInput(str(exc)) from None


def _int(name: str, raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise InvalidInput(f"tile {name} {raw!r} is not a non-negative integer")
    return int(raw)


def parse_properties(layer: Layer, raw: str | None, *, as_of: bool = False) -> tuple[str, ...] | None:
    """``?properties=a,b``: the attributes a tile keeps, in the layer's field order; None (all)
    when absent or naming every field; ``properties=`` (empty) keeps none — geometry only.
    InvalidInput names an unknown field, and a figure with ``asOf`` (tiles/asof.py)."""
    if raw is None:
        return None
    wanted = {p.strip() for p in raw.split(",") if p.strip()}
    fields = [f for f in layer.fields if not (as_of and f in NOT_HISTORISED)]
    unknown = sorted(wanted - set(fields))
    if unknown:
        raise InvalidInput(f"properties: {', '.join(map(repr, unknown))} not in layer {layer.name!r}"
                           f"{' as of an instant' if as_of else ''}; fields: {', '.join(fields)}")
    chosen = tuple(f for f in fields if f in wanted)
    return None if len(chosen) == len(layer.fields) else chosen


def parse_tile(layer: str, z: str, x: str, y: str, crs: str | None,
               properties: str | None = None, *, as_of: bool = False) -> TileRequest:
    """Validate a tile address: the layer must exist (else NotFound), 0 ≤ z ≤ MAX_ZOOM and
    0 ≤ x, y < 2^z (else InvalidInput); ``properties`` as :func:`parse_properties`."""
    lay = get_layer(layer)
    zi, xi, yi = _int("z", z), _int("x", x), _int("y", y)
    if not 0 <= zi <= MAX_ZOOM:
        raise InvalidInput(f"zoom {zi} is outside 0..{MAX_ZOOM}")
    n = 1 << zi
    for name, v in (("x", xi), ("y", yi)):
        if not 0 <= v < n:
            raise InvalidInput(f"tile {name} {v} is outside 0..{n - 1} at zoom {zi}")
    return TileRequest(lay, zi, xi, yi, parse_crs(crs), parse_properties(lay, properties, as_of=as_of))


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The Web Mercator tile (x, y) holding a WGS 84 point at zoom z."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(max(min(lat, 85.0511287798), -85.0511287798))
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a tile, WGS 84 degrees."""
    n = 1 << z

    def lat(yy: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def tiles_covering(bbox: tuple[float, float, float, float], z: int) -> list[tuple[int, int]]:
    """All tiles (x, y) at zoom z that meet a WGS 84 bbox (west, south, east, north)."""
    x0, y0 = tile_of(bbox[0], bbox[3], z)
    x1, y1 = tile_of(bbox[2], bbox[1], z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


_CRS_ENUM = {"gcj02": Crs.GCJ02, "bd09": Crs.BD09}


def read_box(req: TileRequest) -> tuple[float, float, float, float]:
    """The WGS 84 box of every row that can reach a tile and its buffer (64 of 4096 units).

    For WGS 84 that is the buffered tile itself. For GCJ-02 / BD-09 the tile is in the shifted
    space: its outline (corners and 15 points per edge) is moved back exactly (geo/crs.py), the
    box around them grown by 1e-4° plus 1 % of the tile for the offset's curvature, and — where
    part of the tile lies outside the "inside China" rectangle, whose points do not move —
    joined with the unmoved box. The tile statements read ``q`` = this box, and the ETag looks
    for changes in it.
    """
    n = 1 << req.z
    b = BUFFER / EXTENT

    def lonlat(tx: float, ty: float) -> tuple[float, float]:
        lon = tx / n * 360.0 - 180.0
        lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))
        return lon, lat

    w, north = lonlat(req.x - b, req.y - b)
    e, s = lonlat(req.x + 1 + b, req.y + 1 + b)
    if req.crs == "wgs84":
        return w, s, e, north
    t = np.linspace(0.0, 1.0, 16)
    xs = np.concatenate([w + (e - w) * t, np.full(16, e), e - (e - w) * t, np.full(16, w)])
    ys = np.concatenate([np.full(16, s), s + (north - s) * t, np.full(16, north), north - (north - s) * t])
    bx, by = to_wgs84(_CRS_ENUM[req.crs], xs, ys)
    slack = 1e-4 + 0.01 * (e - w)
    x0, y0 = float(bx.min()) - slack, float(by.min()) - slack
    x1, y1 = float(bx.max()) + slack, float(by.max()) + slack
    if not bool(np.all(in_china(xs, ys))):
        x0, y0, x1, y1 = min(x0, w), min(y0, s), max(x1, e), max(y1, north)
    return x0, y0, x1, y1
