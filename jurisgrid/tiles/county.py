"""Tiles of one county (issue 11, many counties): ``?county=511725``, and every tile of a
county-scoped token.

A layer's statement reads its rows from the table with ``<alias>.geom && b.q`` (the seat of a
station with ``<alias>.seat && b.q``) — every tile file does, and :func:`with_county` checks it
finds them. Each such read gets ``AND <alias>.id IN (<the ids of the county's units>)`` (points:
``grid_id IN`` the county's grids), the county code being one more statement parameter. So the
features of the other counties never enter the tile — not even into a cluster of points, a
sector's dissolved outline or a figure — and a tile across a county border shows one side.

A unit's county is the one models/county_scope.py gives (through its parents); for ``?asOf=``
tiles the historised parents are read as of the instant (``<table>_history`` at $9), and a
plan's tiles (tiles/plan.py) read those as the plan has them, its rewrite turning the history
reads into the plan's overlay as it does for the layer's own rows.
"""

from __future__ import annotations

import re

# layer → (table its rows come from, column of that table naming the unit to test)
_BASE: dict[str, tuple[str, str]] = {
    "grids": ("grid", "id"), "zones": ("zone", "id"), "stations": ("station", "id"),
    "sectors": ("station", "id"),  # a sector is the union of its stations, read from them
    "communities": ("community", "id"), "townships": ("township", "id"),
    "addresses": ("grid", "grid_id"), "incidents": ("grid", "grid_id"),
}
_PARENT = {"sector": ("county", "county_id"), "township": ("county", "county_id"),
           "station": ("sector", "sector_id"), "community": ("township", "township_id"),
           "zone": ("station", "station_id"), "grid": ("community", "community_id")}
_HISTORISED = ("community", "station", "zone", "grid")
_READ = re.compile(r"\b(\w+)\.(?:geom|seat) && b\.q")


def ids_sql(table: str, param: str, *, as_of: bool) -> str:
    """``SELECT id`` of the rows of ``table`` in the county whose code is ``param`` (as of $9
    for the historised tables when ``as_of``)."""
    if table == "county":
        return f"SELECT id FROM county WHERE code = {param}"
    parent, column = _PARENT[table]
    alias = f"cty_{table}"
    inner = ids_sql(parent, param, as_of=as_of)
    if as_of and table in _HISTORISED:
        return (f"SELECT {alias}.id FROM {table}_history {alias} WHERE "
                f"{alias}.valid @> $9::timestamptz AND {alias}.{column} IN ({inner})")
    return f"SELECT {alias}.id FROM {table} {alias} WHERE {alias}.{column} IN ({inner})"


def county_param(layer: str, *, as_of: bool) -> str:
    """The county code's parameter: after the layer's own ($1..$8, and $9 for the zones' sizing
    key or the instant / plan)."""
    return "$10" if as_of or layer == "zones" else "$9"


def with_county(sql: str, layer: str, *, as_of: bool) -> str:
    """The tile statement ``sql`` of ``layer`` keeping only the features of one county (the
    code: :func:`county_param`)."""
    table, column = _BASE[layer]
    ids = ids_sql(table, county_param(layer, as_of=as_of), as_of=as_of)
    out, n = _READ.subn(lambda m: f"{m.group(0)} AND {m.group(1)}.{column} IN ({ids})", sql)
    if n == 0:
        raise RuntimeError(f"the tile statement of {layer} reads its rows in a form "
                           "tiles/county.py does not know")
    return out
