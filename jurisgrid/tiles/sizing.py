"""Zone class, workload and recommended officers for the ``zones`` tiles — the very figures of
the API (analytics/report.py ``sizing_report``: the current sizing policy, the policy's default
window ending at the latest incident), computed once per data and policy version.

The tile statement joins them by zone code from array parameters ($9..$12). Their version
(:data:`KEY_SQL`: the policy version and the newest id of ``tile_change`` — every write to the
tables the figures come from, grids, zones, address points and incidents, adds ``tile_change``
rows, migration 0004) is read by the zone statements themselves: when it differs from the
version the passed table was computed at, the store computes the table afresh and runs the
statement again (tiles/store.py), so the common case stays one round trip.
:meth:`ZoneSizingTable.digest_of` the zones of a tile (and the policy version) goes into that
tile's ETag, so a policy edit, or a new figure or moved window (a new incident) that changes a
zone's sizing, revalidates the zone tiles holding that zone — and only those (the other layers
hold no sizing).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from sqlalchemy import Connection

from jurisgrid.analytics.report import sizing_report

# the version of the data and policy the sizing is computed from, as one text. tile_change is
# append-only, so its newest id says whether anything changed: an index probe on every zone tile,
# where a count(*) would scan the whole, ever-growing log
KEY_SQL = ("((SELECT coalesce(max(version), 0) FROM sizing_policy) || '/' "
           "|| (SELECT coalesce(max(id), 0) FROM tile_change))")


@dataclass(frozen=True)
class ZoneSizingTable:
    key: str  # KEY_SQL as read before computing
    policy_version: int
    codes: list[str]
    classes: list[str]
    workloads: list[float]
    recommended: list[int]

    def digest_of(self, codes: list[str]) -> str:
        """The policy version and a digest of the sizing of the zones ``codes`` (one tile's)."""
        at = self._index()
        rows = [(c, *at[c]) for c in sorted(codes) if c in at]
        return f"/policy{self.policy_version}/" + hashlib.md5(repr(rows).encode()).hexdigest()[:16]

    def _index(self) -> dict[str, tuple[str, float, int]]:
        idx = self.__dict__.get("_idx")
        if idx is None:
            idx = {c: (k, w, r) for c, k, w, r in zip(self.codes, self.classes, self.workloads,
                                                       self.recommended, strict=True)}
            object.__setattr__(self, "_idx", idx)
        return idx

    def params(self) -> dict[str, object]:
        return {"zcodes": self.codes, "zclasses": self.classes, "zworkloads": self.workloads,
                "zrecommended": self.recommended}


_lock = threading.Lock()
_latest: dict[str, ZoneSizingTable] = {}  # database URL → the table last computed


def _db(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def compute(conn: Connection) -> ZoneSizingTable:
    """Compute the table now (the key first: a change in between only makes it look older)."""
    key = str(conn.exec_driver_sql(f"SELECT {KEY_SQL}").scalar_one())
    version, _, reports = sizing_report(conn)
    table = ZoneSizingTable(key, version, [r.code for r in reports],
                            [r.sizing.zone_class for r in reports],
                            [round(r.sizing.workload, 2) for r in reports],
                            [r.sizing.recommended_officers for r in reports])
    with _lock:
        _latest[_db(conn)] = table
    return table


def zone_sizing(conn: Connection) -> ZoneSizingTable:
    """The table last computed for this database (computed now when there is none); the caller
    checks its key against :data:`KEY_SQL` and calls :func:`compute` when they differ."""
    with _lock:
        hit = _latest.get(_db(conn))
    return hit if hit is not None else compute(conn)
