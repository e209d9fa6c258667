"""TileJSON 3.0.0 documents and the layer listing (pure: the caller supplies bounds and URLs)."""

from __future__ import annotations

from typing import Any

from jurisgrid.geo.crs import from_wgs84
from jurisgrid.tiles.asof import ASOF_LAYERS
from jurisgrid.tiles.layers import LAYERS, NOT_HISTORISED, Layer

_CRS_NAME = {"wgs84": "WGS84", "gcj02": "GCJ02", "bd09": "BD09"}


def shifted_bounds(bounds: tuple[float, float, float, float], crs: str) -> list[float]:
    """WGS 84 bounds as the tiles of ``crs`` draw them (corners moved, rounded outwards)."""
    if crs == "wgs84":
        return [round(v, 6) for v in bounds]
    x0, y0 = from_wgs84(_CRS_NAME[crs], bounds[0], bounds[1])
    x1, y1 = from_wgs84(_CRS_NAME[crs], bounds[2], bounds[3])
    return [round(min(x0, x1) - 1e-3, 6), round(min(y0, y1) - 1e-3, 6),
            round(max(x0, x1) + 1e-3, 6), round(max(y0, y1) + 1e-3, 6)]


def with_properties(url: str, properties: tuple[str, ...] | None) -> str:
    """A tile URL template with the ``properties=`` selection (none: unchanged)."""
    if properties is None:
        return url
    return f"{url}{'&' if '?' in url else '?'}properties={','.join(properties)}"


def tilejson(layer: Layer, *, tile_url: str, bounds: tuple[float, float, float, float] | None,
             crs: str, as_of: str | None = None,
             properties: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The TileJSON 3.0.0 document of one layer; ``tile_url`` holds {z}/{x}/{y}. With ``as_of``
    (tiles/asof.py) the fields are those of the history tables: no figures. With
    ``properties`` (``?properties=a,b``: tiles that keep only those attributes, smaller for
    thin clients; ``tile_url`` carries it) only those fields are listed."""
    fields = dict(layer.fields)
    description = layer.description + (
        " Tiles take ?properties=a,b to keep only those attributes (empty: geometry only).")
    if properties is not None:
        fields = {k: v for k, v in fields.items() if k in properties}
    if as_of is not None:
        fields = {k: v for k, v in fields.items() if k not in NOT_HISTORISED}
        description += (f" as of {as_of} (from the history tables; population, incident figures "
                        "and zone classes are omitted: address points and incidents are not historised)")
    doc: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": f"jurisgrid {layer.name}",
        "description": description
        + ("" if crs == "wgs84" else f" (geometry shifted to {_CRS_NAME[crs]})"),
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tile_url],
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "vector_layers": [{"id": layer.name, "description": description,
                           "minzoom": layer.minzoom, "maxzoom": layer.maxzoom,
                           "fields": fields}],
        "attribution": "jurisgrid demo data",
    }
    if bounds is not None:
        b = shifted_bounds(bounds, crs)
        doc["bounds"] = b
        doc["center"] = [round((b[0] + b[2]) / 2, 6), round((b[1] + b[3]) / 2, 6),
                         max(layer.minzoom, 10)]
    return doc


def listing(base: str, query: str, as_of_query: str = "") -> dict[str, Any]:
    """``GET /tiles``: every layer with its TileJSON and tile URL. ``as_of_query`` (``asOf=…``)
    is added to the URLs of the layers that have history (tiles/asof.py); ``asOf`` lists them."""
    def q(lay: Layer) -> str:
        parts = [p for p in (query.lstrip("?"), as_of_query if lay.name in ASOF_LAYERS else "") if p]
        return ("?" + "&".join(parts)) if parts else ""

    return {"asOf": list(ASOF_LAYERS), "layers": [{
        "id": lay.name, "description": lay.description, "geometry": lay.geometry,
        "minzoom": lay.minzoom, "maxzoom": lay.maxzoom, "asOf": lay.name in ASOF_LAYERS,
        "tilejson": f"{base}/tiles/{lay.name}.json{q(lay)}",
        "tiles": f"{base}/tiles/{lay.name}/{{z}}/{{x}}/{{y}}.mvt{q(lay)}",
    } for lay in LAYERS.values()]}
