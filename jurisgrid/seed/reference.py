"""Vendored reference data of 渠县: outline, townships, communities (see data/ATTRIBUTION.md)."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import polylabel

from .frame import GRID, M2_PER_DEG2
from .model import CommunityKind, TownshipKind

COUNTY_CODE = "511725"
COUNTY_NAME = "渠县"


SLIVER_M2 = 1.0
"""Parts of a repaired outline smaller than this are reported and dropped."""


@dataclass(frozen=True)
class TownshipRef:
    code: str
    name: str
    kind: TownshipKind

    @property
    def short(self) -> str:
        """Name without its 镇/乡/街道 suffix (渠江街道 → 渠江)."""
        for suffix in ("街道", "镇", "乡"):
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)]
        return self.name


@dataclass(frozen=True)
class CommunityRef:
    code: str
    name: str  # short name: 庆丰社区 / 珠山村 (without 居民委员会 / 民委员会)
    committee: str  # official committee name: 庆丰社区居民委员会
    township_code: str
    kind: CommunityKind


def _data(name: str) -> str:
    return (resources.files("jurisgrid.seed") / "data" / name).read_text(encoding="utf-8")


def _township_kind(name: str) -> TownshipKind:
    if name.endswith("街道"):
        return "street"
    return "town" if name.endswith("镇") else "township"


def load_townships() -> list[TownshipRef]:
    rows = csv.DictReader(io.StringIO(_data("townships.csv")))
    return [TownshipRef(r["code"], r["name"], _township_kind(r["name"])) for r in rows]


def _short_community(name: str) -> tuple[str, CommunityKind]:
    if name.endswith("社区居民委员会"):
        return name[: -len("居民委员会")], "community"
    if name.endswith("村民委员会"):
        return name[: -len("民委员会")], "village"
    for suffix in ("居民委员会", "居委会"):  # 少愚社区居委会
        if name.endswith(suffix):
            short = name[: -len(suffix)]
            return (short if short.endswith("社区") else short + "社区"), "community"
    return name, "village"


def load_communities() -> list[CommunityRef]:
    rows = csv.DictReader(io.StringIO(_data("communities.csv")))
    out = []
    for r in rows:
        short, kind = _short_community(r["name"])
        out.append(CommunityRef(r["code"], short, r["name"], r["township_code"], kind))
    return out


def load_outline_raw() -> Polygon:
    """The outline exactly as shipped (invalid: a zero-width spike, repeated vertices)."""
    doc = json.loads(_data("county_outline.geojson"))
    (feature,) = doc["features"]
    return shapely.geometry.shape(feature["geometry"])


def _km2(geom: shapely.Geometry) -> float:
    return float(shapely.area(geom)) * M2_PER_DEG2 / 1e6


def _drop_repeated(poly: Polygon | MultiPolygon) -> tuple[Polygon | MultiPolygon, int]:
    if isinstance(poly, MultiPolygon):  # 大竹县 ships as two parts
        parts = [_drop_repeated(p) for p in poly.geoms]
        return MultiPolygon([p for p, _ in parts]), sum(n for _, n in parts)
    rings = [poly.exterior, *poly.interiors]
    removed = 0
    cleaned = []
    for ring in rings:
        c = np.asarray(ring.coords)
        keep = np.r_[True, np.any(np.diff(c, axis=0) != 0, axis=1)]
        removed += int((~keep).sum())
        cleaned.append(c[keep])
    return Polygon(cleaned[0], cleaned[1:]), removed


def _describe_reason(reason: str) -> str:
    """'Ring Self-intersection[106.87 30.73]' → 'ring self-intersection at (106.87, 30.73)'."""
    m = re.fullmatch(r"(.*)\[(\S+) (\S+)\]", reason)
    if m is None:
        return reason.lower()
    return f"{m.group(1).lower()} at ({m.group(2)}, {m.group(3)})"


def _polygon_parts(geom: shapely.Geometry) -> list[Polygon]:
    parts = shapely.get_parts(geom)
    polys: list[Polygon] = []
    for part in parts:
        if isinstance(part, Polygon):
            polys.append(part)
        elif isinstance(part, MultiPolygon) or part.geom_type == "GeometryCollection":
            polys.extend(_polygon_parts(part))
    return polys


def repair_outline(raw: Polygon | MultiPolygon | None = None) -> tuple[Polygon | MultiPolygon, list[str]]:
    """Return the outline as a valid polygon snapped to ``GRID``, and what was done to it.

    Repeated vertices are removed, self-intersections are repaired with
    ``make_valid(method='structure')`` (which keeps all area), polygon parts smaller than
    ``SLIVER_M2`` are dropped and reported with their area; lines/points left by the repair
    (zero-area spikes) are reported.  The result is a single Polygon whenever the repaired
    area is one piece, else a MultiPolygon (reported).
    """
    poly = load_outline_raw() if raw is None else raw
    msgs: list[str] = []
    before_km2 = _km2(poly)
    poly, removed = _drop_repeated(poly)
    if removed:
        msgs.append(f"removed {removed} repeated consecutive vertices")
    if not poly.is_valid:
        reason = _describe_reason(shapely.is_valid_reason(poly))
        fixed = shapely.make_valid(poly, method="structure", keep_collapsed=False)
        parts = _polygon_parts(fixed)
        n_before = len(shapely.get_coordinates(poly))
        n_after = sum(len(shapely.get_coordinates(p)) for p in parts)
        msgs.append(
            f"{reason} repaired with make_valid(method='structure'); "
            f"area before/after {before_km2:.3f}/{sum(_km2(p) for p in parts):.3f} km²; "
            f"vertices {n_before} → {n_after} (collapsed spike vertices dropped)"
        )
    else:
        parts = [poly]
    kept = []
    for part in sorted(parts, key=lambda p: -p.area):
        if _km2(part) * 1e6 < SLIVER_M2:
            msgs.append(f"dropped sliver polygon of {_km2(part) * 1e6:.3f} m²")
        else:
            kept.append(part)
    geom: Polygon | MultiPolygon = kept[0] if len(kept) == 1 else MultiPolygon(kept)
    snapped = shapely.set_precision(geom, GRID)
    msgs.append(
        f"snapped to a {GRID:g}° precision grid; area change "
        f"{(_km2(snapped) - _km2(geom)) * 1e6:+.1f} m²"
    )
    if isinstance(snapped, MultiPolygon):
        msgs.append(f"outline is a MultiPolygon of {len(snapped.geoms)} parts")
    else:
        msgs.append(f"outline is a single valid Polygon of {_km2(snapped):.2f} km²")
    return snapped, msgs


# -- many counties: 达州 (Dazhou, prefecture 5117) --------------------------------------------

PREFECTURES = {"5117": "达州市"}
"""Prefectures whose county-level units the seed can generate (data/dazhou/, ATTRIBUTION.md)."""


@dataclass(frozen=True)
class CountyRef:
    """What the generator needs of one county: its outline as shipped, its townships and
    communities, its seat (None: the point of the outline farthest from its edge), and the
    extra key of its random streams (渠县 keeps the streams it has alone: ``()``)."""

    code: str
    name: str
    raw_outline: Polygon | MultiPolygon
    towns: list[TownshipRef]
    comms: list[CommunityRef]
    seat: tuple[float, float] | None
    streams: tuple[int, ...]


def qu_county() -> CountyRef:
    """渠县 as the single-county demo has it."""
    from .frame import QU_SEAT

    return CountyRef(COUNTY_CODE, COUNTY_NAME, load_outline_raw(), load_townships(),
                     load_communities(), QU_SEAT, ())


def prefecture_counties(prefecture: str, only: list[str] | None = None) -> list[CountyRef]:
    """The county-level units of a prefecture (by code), or those of them named in ``only``:
    渠县 from the single-county files, the others from ``data/dazhou/``."""
    if prefecture not in PREFECTURES:
        raise ValueError(f"unknown prefecture {prefecture!r}; known: {', '.join(PREFECTURES)}")
    doc = json.loads(_data("dazhou/counties.geojson"))
    towns = list(csv.DictReader(io.StringIO(_data("dazhou/townships.csv"))))
    comms = list(csv.DictReader(io.StringIO(_data("dazhou/communities.csv"))))
    known = [f["properties"]["code"] for f in doc["features"]]
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise ValueError(f"no county {', '.join(unknown)} in prefecture {prefecture}; "
                         f"known: {', '.join(known)}")
    out = []
    for f in doc["features"]:
        code, name = f["properties"]["code"], f["properties"]["name"]
        if only is not None and code not in only:
            continue
        if code == COUNTY_CODE:
            out.append(qu_county())
            continue
        tw = [TownshipRef(r["code"], r["name"], _township_kind(r["name"]))
              for r in towns if r["county_code"] == code]
        codes = {t.code for t in tw}
        cm = []
        for r in comms:
            if r["township_code"] in codes:
                short, kind = _short_community(r["name"])
                cm.append(CommunityRef(r["code"], short, r["name"], r["township_code"], kind))
        out.append(CountyRef(code, name, shapely.geometry.shape(f["geometry"]), tw, cm, None,
                             (int(code),)))
    return out


def seat_of(outline: Polygon | MultiPolygon) -> tuple[float, float]:
    """A county seat for a county we know no seat of: the centre of the largest circle inside
    its (largest) part, on the ``GRID``."""
    part = max(_polygon_parts(outline), key=lambda p: p.area)
    p = polylabel(part, tolerance=1e-4)
    return round(p.x, 7), round(p.y, 7)
