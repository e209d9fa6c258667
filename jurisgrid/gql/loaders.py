"""DataLoaders, created per request: one batched query per (source, table, relation) and tick.

Every loader is keyed by its :class:`~jurisgrid.models.source.Source` as well, so a nested
query costs one statement per level whatever the source, and one request may mix sources (an
``asOf`` root field next to a current one, under aliases). ``rows(table, src)`` loads rows by
id, ``children(table, fk, src)`` the rows whose foreign key is the given parent id,
``points(...)`` the first address points / incidents of grids, ``geometry(...)`` (simplified)
geometry. A batch runs ``fn(conn, src, …)`` through :meth:`Loaders.run`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any

from strawberry.dataloader import DataLoader

from jurisgrid.models import geometry as geometry_q
from jurisgrid.models import rows as rows_q
from jurisgrid.models.rows import POINT_TABLES, Row
from jurisgrid.models.source import LIVE, Source

DbRunner = Callable[..., Awaitable[Any]]
# runs fn(conn, src, *args) for a source that a plain read connection cannot answer (a future
# instant: editing/asof.py); set by gql/source.py on first use
SourceRunner = Callable[..., Awaitable[Any]]


class Loaders:
    def __init__(self, db: DbRunner) -> None:
        self._db = db
        self.source_runner: SourceRunner | None = None
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        self._known: dict[str, dict[int, Row]] = {}

    async def run(self, src: Source, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """``fn(conn, src, *args, **kw)`` on a connection that sees ``src``."""
        if self.source_runner is not None and src != LIVE:
            return await self.source_runner(src, fn, *args, **kw)
        return await self._db(fn, src, *args, **kw)

    def prime(self, table: str, row: Row) -> None:
        """Remember a live row this request already holds: loading it by id costs no query
        then. (Cheaper than ``DataLoader.prime``, which makes a future per row.)"""
        self._known.setdefault(table, {})[row["id"]] = row

    def known(self, table: str, row_id: int) -> Row | None:
        return self._known.get(table, {}).get(row_id)

    def _counties(self, table: str, ids: list[int]) -> list[str] | None:
        """The partition keys of the point rows ``ids`` when this request holds them all (a
        list primes its rows): their geometry is read from those partitions first."""
        if table not in POINT_TABLES:
            return None
        known = self._known.get(table, {})
        rows = [known.get(i) for i in ids]
        if not rows or any(r is None or "county_code" not in r for r in rows):
            return None
        return sorted({r["county_code"] for r in rows if r is not None})

    def _get(self, key: Hashable, make: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = make()
        return loader

    def rows(self, table: str, src: Source = LIVE) -> DataLoader[int, Row | None]:
        async def load(ids: list[int]) -> list[Row | None]:
            known = self._known.get(table, {}) if src == LIVE else {}
            missing = [i for i in ids if i not in known]
            found = await self.run(src, rows_q.rows_by_ids, table, missing) if missing else {}
            return [known.get(i) or found.get(i) for i in ids]

        return self._get(("rows", src.key, table), lambda: DataLoader(load_fn=load))

    def by_code(self, table: str, src: Source = LIVE) -> DataLoader[str, Row | None]:
        async def load(codes: list[str]) -> list[Row | None]:
            found = await self.run(src, rows_q.rows_by_codes, table, codes)
            return [found.get(c) for c in codes]

        return self._get(("code", src.key, table), lambda: DataLoader(load_fn=load))

    def children(self, table: str, fk: str, src: Source = LIVE) -> DataLoader[int, list[Row]]:
        async def load(parent_ids: list[int]) -> list[list[Row]]:
            found = await self.run(src, rows_q.rows_by_parent, table, fk, parent_ids)
            if src == LIVE:
                for children in found.values():
                    for r in children:
                        self.prime(table, r)
            return [found.get(p, []) for p in parent_ids]

        return self._get(("children", src.key, table, fk), lambda: DataLoader(load_fn=load))

    def points(self, table: str, *, first: int, since: datetime | None = None,
               until: datetime | None = None, src: Source = LIVE) -> DataLoader[int, list[Row]]:
        """The first ``first`` address points / incidents of each grid, cut in SQL."""

        async def load(grid_ids: list[int]) -> list[list[Row]]:
            found = await self.run(src, rows_q.points_by_grid, table, grid_ids,
                                   first=first, since=since, until=until)
            return [found.get(g, []) for g in grid_ids]

        key = ("points", src.key, table, first, since, until)
        return self._get(key, lambda: DataLoader(load_fn=load))

    def batch(self, key: Hashable,
              load_fn: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader[Any, Any]:
        """A loader defined elsewhere (e.g. gql/sizing_stats.py), made once per request and key."""
        return self._get(("batch", key), lambda: DataLoader(load_fn=load_fn))

    def geometry(self, table: str, column: str, simplify_deg: float,
                 src: Source = LIVE) -> DataLoader[int, bytes | None]:
        async def load(ids: list[int]) -> list[bytes | None]:
            found = await self.run(src, geometry_q.fetch_wkb, table, column, ids,
                                   simplify_deg=simplify_deg, counties=self._counties(table, ids))
            return [found.get(i) for i in ids]

        key = ("geom", src.key, table, column, simplify_deg)
        return self._get(key, lambda: DataLoader(load_fn=load))
