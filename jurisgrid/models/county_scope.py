"""Which rows of a unit table belong to a county, under a source (issue 11, many counties).

A deployment may hold several county-level units (a prefecture bureau's seven, say). The unit
tables do not repeat the county on every row; a unit's county is reached through its parents,
read under the same source as the unit itself:

- county: its own code; sector, township: ``county_id``;
- community: its township's; grid: its community's (a grid lies inside its community);
- station: its sector's; zone: its station's;
- address point, incident: the county of the grid they are in (``grid_id`` where the source
  stores membership, else the grid the boundary rule gives them) — a point in no grid belongs to
  no county; the live tables also carry it as ``county_code``, their partition key (migration
  0017), which is asked too so that the planner reads one county's partitions only;
- person: the counties of the stations of its assignments (a person may serve in several).

:func:`condition` is the test as nested ``IN`` subqueries (the list filter, models/listing.py);
:func:`contains` asks it of one unit by code (a county-scoped token's lookups, gql/query.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Select, and_, func, select

from jurisgrid.errors import InvalidInput
from jurisgrid.models.source import Source

COUNTY_TABLES = ("county", "sector", "township", "community", "station", "zone", "grid",
                 "address_point", "incident", "person")


def _county_ids(src: Source, code: str) -> Select[Any]:
    c = src.rows("county")
    return select(c.c.id).where(c.c.code == code)


def _ids_in(src: Source, table: str, code: str) -> Select[Any]:
    """``SELECT id FROM <table under src>`` of the rows in county ``code``."""
    tb = src.rows(table)
    return select(tb.c.id).where(condition(src, table, tb, code))


def condition(src: Source, table: str, tb: FromClause, code: str) -> ColumnElement[bool]:
    """The rows ``tb`` (``table`` under ``src``) that lie in the county with code ``code``."""
    if table == "county":
        return tb.c.code == code
    if table in ("sector", "township"):
        return tb.c.county_id.in_(_county_ids(src, code))
    if table == "community":
        return tb.c.township_id.in_(_ids_in(src, "township", code))
    if table == "station":
        return tb.c.sector_id.in_(_ids_in(src, "sector", code))
    if table == "zone":
        return tb.c.station_id.in_(_ids_in(src, "station", code))
    if table == "grid":
        return tb.c.community_id.in_(_ids_in(src, "community", code))
    if table in ("address_point", "incident"):
        grids = _ids_in(src, "grid", code)
        if src.stores_membership:
            if "county_code" in tb.c:  # the partition key (migration 0017): the planner prunes
                return and_(tb.c.county_code == code, tb.c.grid_id.in_(grids))
            return tb.c.grid_id.in_(grids)
        return func.jg_grid_at(tb.c.geom, *src.rule_args()).in_(grids)
    if table == "person":
        a = src.rows("assignment")
        return tb.c.id.in_(select(a.c.person_id).where(
            a.c.station_id.in_(_ids_in(src, "station", code))))
    raise InvalidInput(f"{table} has no county: the county filter does not apply")


def station_codes(conn: Connection, src: Source, county: str) -> frozenset[str]:
    """The codes of the stations of a county (a county-scoped token's stations, auth/)."""
    s = src.rows("station")
    q = select(s.c.code).where(condition(src, "station", s, county))
    return frozenset(c for (c,) in conn.execute(q))


def contains(conn: Connection, src: Source, table: str, code: str, county: str) -> bool:
    """Whether the unit ``code`` of ``table`` is in ``county`` under ``src``."""
    tb = src.rows(table)
    q = select(func.count()).select_from(tb).where(tb.c.code == code,
                                                   condition(src, table, tb, county))
    return bool(conn.execute(q).scalar_one())
