"""DataLoaders, created per request: one batched query per (table, relation) and tick.

``Loaders.rows(table)`` loads rows by id; ``Loaders.children(table, fk)`` loads the rows whose
foreign key is the given parent id; ``Loaders.geometry(...)`` loads (simplified) geometry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import Any

from strawberry.dataloader import DataLoader

from jurisgrid.models import geometry as geometry_q
from jurisgrid.models import rows as rows_q
from jurisgrid.models.rows import Row

DbRunner = Callable[..., Awaitable[Any]]


class Loaders:
    def __init__(self, db: DbRunner) -> None:
        self._db = db
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}
        self._known: dict[str, dict[int, Row]] = {}

    def prime(self, table: str, row: Row) -> None:
        """Remember a row this request already holds: loading it by id costs no query then.
        (Cheaper than ``DataLoader.prime``, which makes a future per row.)"""
        self._known.setdefault(table, {})[row["id"]] = row

    def known(self, table: str, row_id: int) -> Row | None:
        return self._known.get(table, {}).get(row_id)

    def _get(self, key: Hashable, make: Callable[[], DataLoader[Any, Any]]) -> DataLoader[Any, Any]:
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = make()
        return loader

    def rows(self, table: str) -> DataLoader[int, Row | None]:
        async def load(ids: list[int]) -> list[Row | None]:
            known = self._known.get(table, {})
            missing = [i for i in ids if i not in known]
            found = await self._db(rows_q.rows_by_ids, table, missing) if missing else {}
            return [known.get(i) or found.get(i) for i in ids]

        return self._get(("rows", table), lambda: DataLoader(load_fn=load))

    def by_code(self, table: str) -> DataLoader[str, Row | None]:
        async def load(codes: list[str]) -> list[Row | None]:
            found = await self._db(rows_q.rows_by_codes, table, codes)
            return [found.get(c) for c in codes]

        return self._get(("code", table), lambda: DataLoader(load_fn=load))

    def children(self, table: str, fk: str) -> DataLoader[int, list[Row]]:
        async def load(parent_ids: list[int]) -> list[list[Row]]:
            found = await self._db(rows_q.rows_by_parent, table, fk, parent_ids)
            for children in found.values():
                for r in children:
                    self.prime(table, r)
            return [found.get(p, []) for p in parent_ids]

        return self._get(("children", table, fk), lambda: DataLoader(load_fn=load))

    def first_children(self, table: str, fk: str, *, first: int, since: datetime | None = None,
                       until: datetime | None = None) -> DataLoader[int, list[Row]]:
        """Like :meth:`children`, but at most ``first`` rows per parent, cut in SQL."""

        async def load(parent_ids: list[int]) -> list[list[Row]]:
            found = await self._db(rows_q.first_rows_by_parent, table, fk, parent_ids,
                                   first=first, since=since, until=until)
            return [found.get(p, []) for p in parent_ids]

        key = ("first", table, fk, first, since, until)
        return self._get(key, lambda: DataLoader(load_fn=load))

    def batch(self, key: Hashable,
              load_fn: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader[Any, Any]:
        """A loader defined elsewhere (e.g. gql/sizing_stats.py), made once per request and key."""
        return self._get(("batch", key), lambda: DataLoader(load_fn=load_fn))

    def geometry(self, table: str, column: str, simplify_deg: float) -> DataLoader[int, bytes | None]:
        async def load(ids: list[int]) -> list[bytes | None]:
            found = await self._db(geometry_q.fetch_wkb, table, column, ids,
                                   simplify_deg=simplify_deg)
            return [found.get(i) for i in ids]

        return self._get(("geom", table, column, simplify_deg), lambda: DataLoader(load_fn=load))

