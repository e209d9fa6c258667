"""Aggregates over a list's filtered set: count, and sum/avg of population, households,
incidents and area — overall or grouped by a field or a parent unit (one statement).

The set is exactly the list's (models/listing.py conditions, paging aside). Per item:

* units with an area (grids, zones, stations, communities, townships): population and
  households of the address points in them, incidents in them, area in km² on the ground
  (``geography``). Point membership is the stored one (``grid_id``, the boundary rule kept by
  the triggers), so these figures are current only: under another source (``asOf``, a plan)
  they are an error, as ``stats`` are; count and area follow the source;
* address points: their own population and households;
* incidents: count only (the other measures are null).

Group keys are text: the field's value, or the parent unit's code (a grid's zone, a point's
grid, zone, station, community or township, …), read under the same source.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Float, FromClause, String, cast, func, literal, null, select

from jurisgrid.errors import InvalidInput
from jurisgrid.models import filters as flt
from jurisgrid.models import listing
from jurisgrid.models.listing import ListFilter
from jurisgrid.models.source import LIVE, Source

MEASURES = ("population", "households", "incidents", "areaKm2")
MAX_GROUPS = 10_000
AREA_TABLES = ("grid", "zone", "station", "community", "township")
# how a unit's grids are found: hops from the grid to the unit (table, fk on the previous row)
_GRID_TO_UNIT: dict[str, list[tuple[str, str]]] = {
    "grid": [],
    "zone": [("zone", "zone_id")],
    "station": [("zone", "zone_id"), ("station", "station_id")],
    "community": [("community", "community_id")],
    "township": [("community", "community_id"), ("township", "township_id")],
}
# parent units a list groups by: the hops from the item to the parent (table, fk)
PARENTS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "grid": {"zone": [("zone", "zone_id")],
             "station": [("zone", "zone_id"), ("station", "station_id")],
             "community": [("community", "community_id")],
             "township": [("community", "community_id"), ("township", "township_id")]},
    "zone": {"station": [("station", "station_id")],
             "sector": [("station", "station_id"), ("sector", "sector_id")]},
    "station": {"sector": [("sector", "sector_id")]},
    "community": {"township": [("township", "township_id")]},
}
for _pt in ("address_point", "incident"):
    PARENTS[_pt] = {"grid": [("grid", "grid_id")]} | {
        k: [("grid", "grid_id"), *v] for k, v in PARENTS["grid"].items()}


def _unit_grids(table: str, tb: FromClause) -> tuple[Any, Any, Any]:
    """(FROM of the live grids with the hops up to the unit, the grid alias, the condition
    tying them to the unit row ``tb``) — one level, so that it correlates with ``tb``."""
    g = LIVE.rows("grid").alias()
    hops = _GRID_TO_UNIT[table]
    if not hops:
        return g, g, g.c.id == tb.c.id
    frm: Any = g
    prev = g
    for t, fk in hops[:-1]:
        nxt = LIVE.rows(t).alias()
        frm = frm.join(nxt, nxt.c.id == prev.c[fk])
        prev = nxt
    return frm, g, prev.c[hops[-1][1]] == tb.c.id


def _measures(src: Source, table: str, tb: FromClause) -> dict[str, Any]:
    """Per-row value expressions of each measure (NULL where it does not apply)."""
    if table == "address_point":
        return {"population": tb.c.population, "households": tb.c.households,
                "incidents": null(), "areaKm2": null()}
    if table in AREA_TABLES:
        area = func.ST_Area(cast(tb.c.geom, _geography())) / 1e6
        if src != LIVE:
            return {"population": None, "households": None, "incidents": None, "areaKm2": area}
        ap, inc = LIVE.rows("address_point").alias(), LIVE.rows("incident").alias()
        frm, g, tie = _unit_grids(table, tb)
        pop = (select(func.coalesce(func.sum(ap.c.population), 0))
               .select_from(frm.join(ap, ap.c.grid_id == g.c.id)).where(tie).correlate(tb).scalar_subquery())
        hh = (select(func.coalesce(func.sum(ap.c.households), 0))
              .select_from(frm.join(ap, ap.c.grid_id == g.c.id)).where(tie).correlate(tb).scalar_subquery())
        frm2, g2, tie2 = _unit_grids(table, tb)
        n_inc = (select(func.count()).select_from(frm2.join(inc, inc.c.grid_id == g2.c.id))
                 .where(tie2).correlate(tb).scalar_subquery())
        return {"population": pop, "households": hh, "incidents": n_inc, "areaKm2": area}
    return {m: null() for m in MEASURES}


def _geography() -> Any:
    from geoalchemy2 import Geography

    return Geography()


def group_key(src: Source, table: str, tb: FromClause, group: str) -> Any:
    """The text key of an item's group: a field (GraphQL name) or a parent unit's code."""
    if group in PARENTS.get(table, {}):
        hops = PARENTS[table][group]
        prev: FromClause = tb
        q: Any = None
        aliases = []
        for t, fk in hops:
            a = src.rows(t).alias()
            aliases.append((a, prev, fk))
            prev = a
        q = select(prev.c.code)
        for a, p, fk in aliases:
            q = q.where(a.c.id == p.c[fk])
        return q.correlate(tb).scalar_subquery()
    if group in flt.FIELDS.get(table, {}):
        return cast(flt.field_column(table, tb, group)[0], String)
    raise InvalidInput(f"{table} lists group by one of: "
                       + ", ".join([*flt.FIELDS.get(table, {}), *PARENTS.get(table, {})]))


def aggregate(conn: Connection, src: Source, table: str, f: ListFilter,
              group: str | None = None, wanted: frozenset[str] = frozenset(MEASURES)
              ) -> list[dict[str, Any]]:
    """``[{key, count, sum: {measure: value}, avg: {…}}]``: one entry (key None) without a
    group, else one per group ordered by key (NULL last). ``wanted``: the measures asked for
    (the others are not computed). Points: from the partitions the filter can touch
    (listing.pruned_read)."""
    return listing.pruned_read(conn, src, table, f,
                               lambda g: _aggregate(conn, src, table, g, group, wanted))


def _aggregate(conn: Connection, src: Source, table: str, f: ListFilter, group: str | None,
               wanted: frozenset[str]) -> list[dict[str, Any]]:
    tb = src.rows(table)
    conds = listing.conditions(src, table, tb, f)
    measures = _measures(src, table, tb)
    for m in wanted:
        if measures.get(m, 0) is None:
            raise InvalidInput(f"{m} of {table} lists are current only (point membership is not "
                               "historised): drop asOf/plan, or ask in a separate query")
    cols: list[Any] = [(group_key(src, table, tb, group) if group else literal(None, String))
                       .label("key")]
    cols += [cast(measures[m], Float).label(m) for m in MEASURES if m in wanted]
    per_item = select(*cols).select_from(tb).where(*conds).subquery("item")
    out_cols: list[Any] = [per_item.c.key if group else literal(None, String).label("key"),
                           func.count().label("count")]
    for m in MEASURES:
        if m in wanted:
            out_cols += [func.sum(per_item.c[m]).label(f"sum_{m}"),
                         func.avg(per_item.c[m]).label(f"avg_{m}")]
    q = select(*out_cols).select_from(per_item)
    if group:
        q = q.group_by(per_item.c.key).order_by(per_item.c.key.asc().nulls_last())
        q = q.limit(MAX_GROUPS + 1)
    rows = conn.execute(q).mappings().all()
    if len(rows) > MAX_GROUPS:
        raise InvalidInput(f"more than {MAX_GROUPS} groups: group by a coarser field")
    out = []
    for r in rows:
        sums = {m: (None if r.get(f"sum_{m}") is None else float(r[f"sum_{m}"]))
                for m in MEASURES if m in wanted}
        avgs = {m: (None if r.get(f"avg_{m}") is None else float(r[f"avg_{m}"]))
                for m in MEASURES if m in wanted}
        out.append({"key": r["key"], "count": int(r["count"]), "sum": sums, "avg": avgs})
    if not group and not out:
        out = [{"key": None, "count": 0, "sum": {}, "avg": {}}]
    return out
