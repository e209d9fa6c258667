"""Validation and repair of input geometries for edits (pure Shapely; no database).

``validate_area`` checks, in this order, so the first problem named is the most basic one:
vertex cap (on the raw coordinates, before anything is built), geometry type, closed rings,
coordinate ranges (with a hint when the pairs look like [lat, lon]), validity (with
``explain_validity``; ``repair=True`` runs ``make_valid`` and reports what changed), and finally
snaps the result to the 1e-7° precision grid the grids are drawn on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from jurisgrid.geo.crs import Crs, transform_geometry
from jurisgrid.geo.earth import METRES_PER_DEGREE as M_PER_DEG
from jurisgrid.geo.geojson import GeoJSONError, parse_geojson

GRID_SIZE = 1e-7          # degrees; the precision grid of all stored grid geometry


class GeometryProblem(ValueError):
    """An input geometry that cannot be used; ``code`` names the check that failed."""

    def __init__(self, code: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.code = code
        self.detail = {"problem": code, **detail}


@dataclass
class Checked:
    geom: BaseGeometry
    repairs: list[str] = field(default_factory=list)


def count_positions(coords: Any, limit: int) -> int:
    """Number of positions in nested GeoJSON coordinates; stops counting past ``limit``."""
    n = 0
    stack = [coords]
    while stack:
        c = stack.pop()
        if isinstance(c, list) and c and isinstance(c[0], (int, float)):
            n += 1
            if n > limit:
                return n
        elif isinstance(c, list):
            if c and isinstance(c[0], list) and c[0] and isinstance(c[0][0], (int, float)):
                n += len(c)
                if n > limit:
                    return n
            else:
                stack.extend(c)
    return n


def _rings(obj: dict[str, Any]) -> list[list[Any]]:
    coords = obj.get("coordinates")
    if obj.get("type") == "Polygon":
        return list(coords or [])
    return [ring for poly in (coords or []) for ring in poly]


def _check_lonlat_ranges(rings: list[list[Any]]) -> None:
    for r, ring in enumerate(rings):
        for i, pos in enumerate(ring):
            x, y = pos[0], pos[1]
            if not (-180 <= x <= 180 and -90 <= y <= 90):
                hint = ""
                if -90 <= x <= 90 and -180 <= y <= 180:
                    hint = " — it looks like [lat, lon]; GeoJSON positions are [lon, lat]"
                raise GeometryProblem("COORDINATE_RANGE",
                                      f"ring {r} position {i}: ({x}, {y}) is out of range{hint}",
                                      ring=r, position=i)


def validate_area(obj: Any, *, crs: Crs = Crs.WGS84, max_vertices: int,
                  repair: bool = False, types: tuple[str, ...] = ("Polygon", "MultiPolygon"),
                  snap: bool = True) -> Checked:
    """A GeoJSON polygon input → a valid MultiPolygon in WGS 84 on the 1e-7° grid.

    ``snap=False`` keeps the vertices as given (imports of stored or surveyed shapes: moving
    each vertex by up to 5e-8° shifts a shared edge or the county edge by millimetres, which
    over a long boundary is more than the 0.01 m² the invariants allow — so a file's own
    shape is its truth, and an unchanged shape stays unchanged)."""
    if not isinstance(obj, dict):
        raise GeometryProblem("NOT_GEOJSON", f"expected a GeoJSON object, got {type(obj).__name__}")
    if obj.get("type") == "Feature" and isinstance(obj.get("geometry"), dict):
        obj = obj["geometry"]
    n = count_positions(obj.get("coordinates"), max_vertices)
    if n > max_vertices:
        raise GeometryProblem("TOO_MANY_VERTICES",
                              f"more than {max_vertices} vertices (the cap is {max_vertices})",
                              limit=max_vertices)
    if obj.get("type") not in types:
        raise GeometryProblem("WRONG_TYPE", f"expected {' or '.join(types)}, got {obj.get('type')!r}",
                              expected=list(types), got=obj.get("type"))
    try:
        for r, ring in enumerate(_rings(obj)):
            if len(ring) < 4 or list(ring[0][:2]) != list(ring[-1][:2]):
                raise GeometryProblem("UNCLOSED_RING",
                                      f"ring {r} is not closed (a ring needs ≥ 4 positions, the "
                                      "last equal to the first)", ring=r)
        _check_lonlat_ranges(_rings(obj))
    except (TypeError, IndexError, KeyError):
        raise GeometryProblem("NOT_GEOJSON", "coordinates are not arrays of [lon, lat] positions") from None
    try:
        shape = parse_geojson(obj)
    except GeoJSONError as exc:
        raise GeometryProblem("NOT_GEOJSON", str(exc)) from None
    except (ValueError, TypeError) as exc:
        raise GeometryProblem("NOT_GEOJSON", f"cannot build the geometry: {exc}") from None
    geom = transform_geometry(shape, crs, Crs.WGS84) if crs != Crs.WGS84 else shape
    repairs: list[str] = []
    if not geom.is_valid:
        why = explain_validity(geom)
        if not repair:
            raise GeometryProblem("INVALID_GEOMETRY", f"invalid geometry: {why} "
                                  "(send repair: true to repair it)", reason=why)
        before = geom.area
        geom = polygons_only(shapely.make_valid(geom))
        repairs.append(f"repaired ({why}); area {before:.3e} → {geom.area:.3e} deg²")
    snapped = polygons_only(shapely.set_precision(geom, GRID_SIZE) if snap else geom)
    if snapped.is_empty:
        raise GeometryProblem("EMPTY", "the geometry has no area")
    return Checked(snapped, repairs)


LATTICE_RECOVERY = 1e-10   # degrees (about 0.01 mm): what a lossy transform round trip moves a vertex


def recover_lattice(g: BaseGeometry, tol: float = LATTICE_RECOVERY) -> BaseGeometry:
    """Put back on the 1e-7° lattice the coordinates that are within ``tol`` of it; leave the
    others exactly as they are.

    A shape stored on the lattice and written through GCJ-02, BD-09 or a projection comes back
    within ~1e-12° of its vertices — recovering them makes export → import change nothing.
    A shape that was never on the lattice (SF's block groups, a surveyed file) keeps its
    vertices: the rare coordinate within ``tol`` of a lattice line moves by at most ``tol``, the
    same way in every shape that shares it, so shared edges stay shared. If recovering would
    make the shape invalid, it is returned unchanged.
    """
    coords = shapely.get_coordinates(g)
    if not len(coords):
        return g
    near = np.round(coords * (1 / GRID_SIZE)) / (1 / GRID_SIZE)
    close = np.abs(near - coords) <= tol
    if not close.any():
        return g
    out = shapely.set_coordinates(shapely.from_wkb(shapely.to_wkb(g)), np.where(close, near, coords))
    return out if out.is_valid or not g.is_valid else g


def polygons_only(g: BaseGeometry) -> shapely.MultiPolygon:
    """The polygonal part of ``g`` as a MultiPolygon (drops lines/points left by overlay)."""
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys: list[shapely.Polygon] = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    polys = [p for p in polys if not p.is_empty and p.area > 0]
    return shapely.MultiPolygon(polys)


def area_m2(g: BaseGeometry) -> float:
    """Approximate area in m² (equirectangular at the geometry's latitude): for tolerances."""
    if g.is_empty:
        return 0.0
    import math

    lat = g.centroid.y
    return float(g.area * M_PER_DEG * M_PER_DEG * math.cos(math.radians(lat)))


def parse_line(obj: Any, *, crs: Crs = Crs.WGS84, max_vertices: int) -> shapely.LineString:
    """A GeoJSON LineString (the cut of a split) in WGS 84."""
    if not isinstance(obj, dict) or obj.get("type") != "LineString":
        got = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise GeometryProblem("WRONG_TYPE", f"expected a LineString, got {got!r}",
                              expected=["LineString"], got=got)
    if count_positions(obj.get("coordinates"), max_vertices) > max_vertices:
        raise GeometryProblem("TOO_MANY_VERTICES", f"more than {max_vertices} vertices")
    try:
        line = parse_geojson(obj)
    except (GeoJSONError, ValueError, TypeError) as exc:
        raise GeometryProblem("NOT_GEOJSON", str(exc)) from None
    _check_lonlat_ranges([obj["coordinates"]])
    out = transform_geometry(line, crs, Crs.WGS84) if crs != Crs.WGS84 else line
    assert isinstance(out, shapely.LineString)
    return out
