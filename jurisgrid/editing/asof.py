"""The read side of a *future* ``asOf``: the jurisdiction as it will be once the pending scheduled
edits due by then have taken effect — read, not applied.

Scheduled edits are stored as operations (name + arguments), not as rows, so what they will do
must be worked out by running them. That is done once per *future key* — the newest revision,
``data_version`` and the pending edits, i.e. the committed state the outcome depends on — by
:func:`build`: in a savepoint it applies every pending edit (each as a revision effective at
its instant, with the scheduler's own checks), collects the history versions they wrote and
the validity they gave the versions they closed, rolls the savepoint back, and stores those
rows in the cache tables of migration 0011 under the key. Reads then use
:class:`~jurisgrid.models.source.AsOf` with that key: plain reads, any number of them, that
neither write nor take a lock — so a future ``asOf`` neither waits for a writer nor makes one
wait, as long as the key is built (tests/editing/test_asof_future_cache.py).

Building a key is a write: it takes the writers' lock (``editing.revisions.LOCK_KEY``) as
applying edits must, once per key, and the first future read after a commit or a new scheduled
edit pays for it. Address points and incidents are not historised: a future read shows them as
they are now, assigned to grids by the boundary rule under the key.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from jurisgrid.config import EditSettings
from jurisgrid.editing.revisions import LOCK_KEY
from jurisgrid.editing.schedule import apply_pending_until
from jurisgrid.models.history_tables import HISTORISED
from jurisgrid.models.scheduled import PENDING
from jurisgrid.models.source import AsOf
from jurisgrid.models.tables import metadata

log = logging.getLogger("jurisgrid.editing")

FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
KEEP_KEYS = 8  # keys kept in the cache (a request in flight may still read an older one)

# (pending edits due by the instant?, the future key of the committed state)
_KEY_SQL = f"""
SELECT EXISTS (SELECT 1 FROM scheduled_edit WHERE {PENDING} AND effective_from <= %(t)s),
       (SELECT coalesce(max(id), 0) FROM revision) || ':' || (SELECT version FROM data_version)
       || ':' || coalesce((SELECT md5(string_agg(id || '@' || effective_from, ',' ORDER BY id))
                           FROM scheduled_edit WHERE {PENDING}), '-')
"""


def future_source(engine: Engine, src: AsOf, *, settings: EditSettings) -> AsOf:
    """``src`` (an instant after now) as a source that includes the scheduled edits due by
    then: keyed by the cache of the current state, built first if it is not there yet. When no
    edit is due by then the history as it stands is the answer, and ``src`` is returned."""
    with engine.connect() as conn:
        due, key = conn.exec_driver_sql(_KEY_SQL, {"t": src.at}).one()
        cached = due and conn.exec_driver_sql(
            "SELECT 1 FROM future_key WHERE key = %(k)s", {"k": key}).first() is not None
        conn.rollback()
    if not due:
        return src
    if not cached:
        key = build(engine, settings=settings)
    return AsOf(src.at, key)


def build(engine: Engine, *, settings: EditSettings) -> str:
    """Work out and store what the pending scheduled edits will do; returns the key built (the
    state's key under the writers' lock — newer than the caller's if a writer committed in
    between, which a reader may use as well: each statement sees the newest committed data)."""
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(k)s)", {"k": LOCK_KEY})
        key: str = conn.exec_driver_sql(_KEY_SQL, {"t": FOREVER}).one()[1]
        if conn.exec_driver_sql("SELECT 1 FROM future_key WHERE key = %(k)s",
                                {"k": key}).first() is not None:
            return key
        versions, closed = _simulate(conn, settings)
        conn.execute(insert(metadata.tables["future_key"]).values(
            key=key, built_at=datetime.now(UTC)))
        for table, rows in versions.items():
            if rows:
                conn.execute(insert(metadata.tables[f"{table}_future"]),
                             [{**r, "key": key} for r in rows])
        if closed:
            conn.execute(insert(metadata.tables["future_closed"]),
                         [{**c, "key": key} for c in closed])
        conn.exec_driver_sql(
            "DELETE FROM future_key WHERE key NOT IN (SELECT key FROM future_key "
            "ORDER BY built_at DESC LIMIT %(n)s)", {"n": KEEP_KEYS})
        log.info("future asOf: cached the effect of the pending scheduled edits as %s", key)
        return key


def _simulate(conn: Connection, settings: EditSettings
              ) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Apply every pending scheduled edit in a savepoint that is rolled back; return the
    history versions they wrote and the new validity of the versions they closed."""
    before = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM revision").scalar_one())
    sp = conn.begin_nested()
    try:
        apply_pending_until(conn, FOREVER, settings=settings)
        versions: dict[str, list[dict[str, Any]]] = {}
        closed: list[dict[str, Any]] = []
        for table in HISTORISED:
            h = metadata.tables[f"{table}_history"]
            versions[table] = [dict(r) for r in conn.execute(
                select(*h.columns).where(h.c.rev_from > before)).mappings()]
            closed += [{"tbl": table, "hid": r.hid, "valid": r.valid} for r in conn.execute(
                select(h.c.hid, h.c.valid).where(h.c.rev_from <= before, h.c.rev_to > before))]
    finally:
        sp.rollback()
    return versions, closed
