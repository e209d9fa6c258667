"""Tiles of one county (issue 11, many counties): ``?county=511725``, and every tile of a
county-scoped token.

A layer's statement reads its rows from the table with ``<alias>.geom && b.q`` (the seat of a
station with ``<alias>.seat && b.q``) — every tile file does, and :func:`with_county` checks it
finds them. Each such read gets ``AND EXISTS (<its parents up to a county with that code>)``
(points: their grid's, and their own ``county_code`` — the partition key of migration 0017,
so a point tile reads one county's partition), the county code being one more statement
parameter. So the
features of the other counties never enter the tile — not even into a cluster of points, a
sector's dissolved outline or a figure — and a tile across a county border shows one side.

A unit's county is the one models/county_scope.py gives (through its parents); for ``?asOf=``
tiles the historised parents are read as of the instant (``<table>_history`` at $9), and a
plan's tiles (tiles/plan.py) read those as the plan has them, its rewrite turning the history
reads into the plan's overlay as it does for the layer's own rows.
"""

from __future__ import annotations

import re

# layer → (table its rows come from, column of a row naming what to test: itself or its grid)
_BASE: dict[str, tuple[str, str]] = {
    "grids": ("grid", "id"), "zones": ("zone", "id"), "stations": ("station", "id"),
    "sectors": ("station", "id"),  # a sector is the union of its stations, read from them
    "communities": ("community", "id"), "townships": ("township", "id"),
    "addresses": ("grid", "grid_id"), "incidents": ("grid", "grid_id"),
}
# a unit's parent: (its column naming the parent, the parent's table), up to the county
_UP = {"grid": ("community_id", "community"), "community": ("township_id", "township"),
       "township": ("county_id", "county"), "zone": ("station_id", "station"),
       "station": ("sector_id", "sector"), "sector": ("county_id", "county")}
_HISTORISED = ("community", "station", "zone", "grid")
_READ = re.compile(r"\b(\w+)\.(?:geom|seat) && b\.q")
_AT = "$9::timestamptz"


def in_county_sql(table: str, alias: str, column: str, param: str, *, as_of: bool) -> str:
    """SQL: the row ``alias`` (of ``table``) lies in the county whose code is ``param`` — its
    parents looked up by key, upwards (only the rows the tile reads are tested, each by a few
    primary-key lookups), as of $9 for the historised parents when ``as_of``. ``column`` "id":
    the row's own parents; "grid_id": those of the row's grid (points)."""
    if column == "id":
        ref_col, current = _UP[table]
    else:
        ref_col, current = column, "grid"
    hops: list[str] = []
    conds = [f"cty0.id = {alias}.{ref_col}"]
    i, via = 0, ""  # via: the column of the row before naming this one
    while True:
        historised = as_of and current in _HISTORISED
        name = f"{current}_history" if historised else current
        if i == 0:
            hops.append(f"{name} cty0")
            if historised:
                conds.append(f"cty0.valid @> {_AT}")
        else:
            at = f" AND cty{i}.valid @> {_AT}" if historised else ""
            hops.append(f"JOIN {name} cty{i} ON cty{i}.id = cty{i - 1}.{via}{at}")
        if current == "county":
            break
        via, current = _UP[current]
        i += 1
    conds.append(f"cty{i}.code = {param}")
    exists = f"EXISTS (SELECT 1 FROM {' '.join(hops)} WHERE {' AND '.join(conds)})"
    if column == "grid_id":  # points also carry their county, the partition key (migration
        return f"{alias}.county_code = {param} AND {exists}"  # 0017): one county's partition
    return exists


def county_param(layer: str, *, as_of: bool) -> str:
    """The county code's parameter: after the layer's own ($1..$8, and $9 for the zones' sizing
    key or the instant / plan)."""
    return "$10" if as_of or layer == "zones" else "$9"


def with_county(sql: str, layer: str, *, as_of: bool) -> str:
    """The tile statement ``sql`` of ``layer`` keeping only the features of one county (the
    code: :func:`county_param`)."""
    table, column = _BASE[layer]
    param = county_param(layer, as_of=as_of)

    def add(m: re.Match[str]) -> str:
        return f"{m.group(0)} AND {in_county_sql(table, m.group(1), column, param, as_of=as_of)}"

    out, n = _READ.subn(add, sql)
    if n == 0:
        raise RuntimeError(f"the tile statement of {layer} reads its rows in a form "
                           "tiles/county.py does not know")
    return out
