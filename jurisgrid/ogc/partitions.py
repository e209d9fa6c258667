"""OGC items of address points and incidents read from the county partitions they can be in
(issue 17 item 3; models/point_scope.py says why each restriction keeps the answer).

The collections' SQL (tiles/features.py) reads ``address_point a`` / ``incident i`` joined to
their grid's county; its ``x.county_code`` is that county, not the partition key, so a
condition on it does not prune. Each point collection also selects the row's own partition key
(``Collection.partition_key``); a condition on it with the keys written into the statement lets
the planner prune at plan time: for ``?county=`` (or a county-scoped token) that county — a
point of a grid has its grid's county as partition key —, for ``bbox`` the counties whose reach
meets the box and '' (no county). A feature by id (its code) is looked for in the county its
code names first, then everywhere (a code need not name its county).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from jurisgrid.errors import NotFound
from jurisgrid.models import point_scope
from jurisgrid.tiles import features as fx


def prunes(c: fx.Collection) -> bool:
    """Whether ``c`` reads a partitioned point table (it has a partition key column)."""
    return c.partition_key is not None


def pruned(c: fx.Collection, q: fx.ItemQuery, keys: Sequence[str]) -> fx.ItemQuery:
    """``q`` reading only the partitions of ``keys`` (county codes, '' for no county)."""
    return replace(q, conditions=(*q.conditions, f"x.{c.partition_key} = ANY(:partition_keys)"),
                   params={**q.params, "partition_keys": list(keys)})


def items(conn: Connection, c: fx.Collection, q: fx.ItemQuery,
          county: str | None) -> tuple[list[dict[str, Any]], int]:
    """:func:`tiles.features.items`, from the partitions the county or the bbox allows."""
    if not prunes(c):
        return fx.items(conn, c, q)
    if county is not None:
        return fx.items(conn, c, pruned(c, q, [county]))
    if q.bbox is None:
        return fx.items(conn, c, q)
    snap = point_scope.snapshot(conn)
    keys = snap.counties_in_box(*q.bbox)
    return point_scope.checked_read(conn, snap.version, lambda: fx.items(conn, c, pruned(c, q, keys)),
                                    lambda: fx.items(conn, c, q))


def item(conn: Connection, c: fx.Collection, fid: str, county: str | None) -> dict[str, Any]:
    """:func:`tiles.features.item`: a point first in the partition of ``county``, else of the
    county its code names, then (no county given) in every partition."""
    if not prunes(c):
        return fx.item(conn, c, fid, county)
    if county is not None:
        return fx.item(conn, c, fid, county, keys=[county])
    guess = point_scope.cached(conn).guess_county(fid)
    if guess is not None:
        try:
            return fx.item(conn, c, fid, keys=[guess])
        except NotFound:
            pass
    return fx.item(conn, c, fid)
