"""Zone class, workload and recommended officers for the ``zones`` tiles — the very figures of
the API (analytics/report.py ``sizing_report``: the current sizing policy, the policy's default
window ending at the latest incident), computed once per data and policy version.

:func:`compute` stores them in ``tile_zone_sizing`` (migration 0008) under their key
(:data:`KEY_SQL`: the policy version and the newest id of ``tile_change`` — every write to the
tables the figures come from, grids, zones, address points and incidents, adds ``tile_change``
rows, migration 0004). The zone statements take the key the process last computed ($9) and read
the figures stored under it; they also return the current key (:func:`key_check_sql`), and when
that differs — the data or the policy changed, or nothing is stored under the key — the store
computes the figures afresh and runs the statement again (tiles/store.py), so the common case
stays one round trip with one short parameter.
:func:`digest_sql` the sizing of a tile's zones (and the policy version) goes into that tile's
ETag, so a policy edit, or a new figure or moved window (a new incident) that changes a zone's
sizing, revalidates the zone tiles holding that zone — and only those (the other layers hold no
sizing).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

from jurisgrid.analytics.report import sizing_report
from jurisgrid.db import NeedsPrimary, companion

# the version of the data and policy the sizing is computed from, as one text. tile_change is
# append-only, so its newest id says whether anything changed: an index probe on every zone tile,
# where a count(*) would scan the whole, ever-growing log
KEY_SQL = ("((SELECT coalesce(max(version), 0) FROM sizing_policy) || '/' "
           "|| (SELECT coalesce(max(id), 0) FROM tile_change))")

# rows of other keys are kept this long after a newer key is stored: a worker that has not seen
# the newer key yet still finds its figures (and if not, it computes them again)
_KEEP_OLD = "10 minutes"


def key_check_sql(key_param: str) -> str:
    """The current key when figures are stored under ``key_param``, else '' (never a key)."""
    return (f"(SELECT CASE WHEN EXISTS (SELECT 1 FROM tile_zone_sizing WHERE key = {key_param}) "
            f"THEN {KEY_SQL} ELSE '' END)")


def digest_sql(key_param: str, box: str) -> str:
    """A digest of the policy version and the sizing of the zones meeting ``box`` (one tile's)."""
    return ("(SELECT md5(coalesce(max(t.policy_version), 0) || '|' || coalesce(string_agg("
            "format('%s:%s:%s:%s', u.code, u.class, u.workload, u.recommended_officers), ',' "
            "ORDER BY u.code), '')) "
            f"FROM tile_zone_sizing t, unnest(t.codes, t.classes, t.workloads, t.recommended) "
            f"AS u(code, class, workload, recommended_officers) WHERE t.key = {key_param} "
            f"AND u.code IN (SELECT code FROM zone WHERE geom && {box}))")


class _KnownKey:
    """The key (KEY_SQL) this process last computed the figures under, for one engine."""

    value: str | None = None


def _known(engine: Engine) -> _KnownKey:
    return companion(engine, "tiles:sizing-key", _KnownKey)


_STORE = text("""
    WITH stored AS (
        INSERT INTO tile_zone_sizing (key, policy_version, codes, classes, workloads, recommended)
        VALUES (:key, :version, :codes, :classes, :workloads, :recommended)
        ON CONFLICT (key) DO NOTHING
    )
    DELETE FROM tile_zone_sizing WHERE key <> :key AND computed_at < now() - interval '""" + _KEEP_OLD + "'")


_CURRENT = (f"SELECT pg_is_in_recovery(), q.k, EXISTS (SELECT 1 FROM tile_zone_sizing t "
            f"WHERE t.key = q.k) FROM (SELECT {KEY_SQL} AS k) q")


def compute(conn: Connection) -> str:
    """The key of the figures for the current data and policy, computing and storing them
    first unless another process already did (the key is read first: a change in between only
    makes them look older, so the next tile computes them again). On an autocommit connection
    (db.read_connection) they are stored at once; on any other, the caller commits.

    On a replica (a standby refuses writes) the figures are only looked up: when the primary
    has not stored them, or this replica has not replayed them yet, :class:`NeedsPrimary`
    sends the tile to the primary, which stores them for the replicas' next tiles."""
    standby, key, stored = conn.exec_driver_sql(_CURRENT).one()
    key = str(key)
    if stored or standby:
        if not stored:
            raise NeedsPrimary("the zone sizing for the current data is not on this replica yet")
        return key
    version, _, reports = sizing_report(conn)
    params = {"key": key, "version": version, "codes": [r.code for r in reports],
              "classes": [r.sizing.zone_class for r in reports],
              "workloads": [round(r.sizing.workload, 2) for r in reports],
              "recommended": [r.sizing.recommended_officers for r in reports]}
    conn.execute(_STORE, params)
    return key


def known_key(engine: Engine) -> str | None:
    """The key last computed in this process for ``engine`` (:func:`remember_key`), if any; the
    caller checks it against :func:`key_check_sql` and calls :func:`compute` when they differ."""
    return _known(engine).value


def remember_key(engine: Engine, key: str) -> None:
    """Note ``key`` (from :func:`compute`) as the one ``engine``'s tiles read the figures under;
    it lives with the engine (db.companion) and goes with it."""
    _known(engine).value = key  # one attribute store: atomic, so no lock
