"""OGC items of address points and incidents read from the county partitions they can be in
(issue 17 item 3; models/point_scope.py says why each restriction keeps the answer).

The collections' SQL (tiles/features.py) reads ``address_point a`` / ``incident i`` joined to
their grid's county; its ``x.county_code`` is that county, not the partition key, so a
condition on it does not prune. Here the point table in the collection's FROM is replaced by
the same table restricted to a list of partition keys, written into the statement (the planner
prunes at plan time): for ``?county=`` (or a county-scoped token) that county — a point of a
grid has its grid's county as partition key —, for ``bbox`` the counties whose reach meets the
box and '' (no county). A feature by id (its code) is looked for in the county its code names
first, then everywhere (a code need not name its county).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from jurisgrid.errors import NotFound
from jurisgrid.models import point_scope
from jurisgrid.tiles import features as fx

# the point table in each collection's FROM: the text replaced, and its table and alias
POINT_FROM = {"addresses": ("address_point", "a"), "incidents": ("incident", "i")}


def _needle(table: str, alias: str) -> str:
    return f"FROM {table} {alias} "


def pruned(c: fx.Collection, keys: Sequence[str]) -> fx.Collection:
    """``c`` reading only the partitions of ``keys`` (county codes, '' for no county)."""
    table, alias = POINT_FROM[c.id]
    needle = _needle(table, alias)
    if c.source.count(needle) != 1:  # the collection's SQL changed shape: say so, loudly
        raise RuntimeError(f"collection {c.id}: expected one {needle!r} in its source")
    values = ", ".join("'" + k.replace("'", "''") + "'" for k in keys)
    restricted = f"FROM (SELECT * FROM {table} WHERE county_code IN ({values})) {alias} "
    return replace(c, source=c.source.replace(needle, restricted))


def items(conn: Connection, c: fx.Collection, q: fx.ItemQuery,
          county: str | None) -> tuple[list[dict[str, Any]], int]:
    """:func:`tiles.features.items`, from the partitions the county or the bbox allows."""
    if c.id not in POINT_FROM:
        return fx.items(conn, c, q)
    if county is not None:
        return fx.items(conn, pruned(c, [county]), q)
    if q.bbox is None:
        return fx.items(conn, c, q)
    snap = point_scope.snapshot(conn)
    out = fx.items(conn, pruned(c, snap.counties_in_box(*q.bbox)), q)
    if not point_scope.at_version(conn, snap.version):  # an edit meanwhile: the reaches may be old
        return fx.items(conn, c, q)
    return out


def item(conn: Connection, c: fx.Collection, fid: str, county: str | None) -> dict[str, Any]:
    """:func:`tiles.features.item`: a point first in the partition of ``county``, else of the
    county its code names, then (no county given) in every partition."""
    if c.id not in POINT_FROM:
        return fx.item(conn, c, fid, county)
    if county is not None:
        return fx.item(conn, pruned(c, [county]), fid, county)
    guess = point_scope.cached(conn).guess_county(fid)
    if guess is not None:
        try:
            return fx.item(conn, pruned(c, [guess]), fid)
        except NotFound:
            pass
    return fx.item(conn, c, fid)
