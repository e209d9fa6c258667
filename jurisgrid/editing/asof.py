"""The read side of a *future* ``asOf``: the jurisdiction as it will be once the scheduled edits
due by then have taken effect.

Past and present instants are plain reads of the history tables (models/source.AsOf). A future
instant T must also show the pending scheduled edits with ``effective_from ≤ T``, which are
stored as operations, not as rows; :func:`as_of_call` applies them in a transaction that is
always rolled back (each as a revision effective at its instant, so the history tables then say
what holds at T) and reads there. When none is due by T it is a plain read: no write, no lock.

What this still costs when one is due (issue 14, "reads never write"): applying an edit runs the
write pipeline — it takes the writers' advisory lock (``revisions.open_revision``), fires the
triggers and bumps ``data_version`` — inside the rolled-back transaction, once per DataLoader
batch; so such a read waits for a writer in progress and a writer waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

from jurisgrid.config import EditSettings
from jurisgrid.models.scheduled import PENDING
from jurisgrid.models.source import AsOf

T = TypeVar("T")

_DUE_BY = f"SELECT EXISTS (SELECT 1 FROM scheduled_edit WHERE {PENDING} AND effective_from <= %(t)s)"


def as_of_call(engine: Engine, src: AsOf, fn: Callable[..., T], /, *args: Any,
               settings: EditSettings, **kwargs: Any) -> T:
    """``fn(conn, src, *args, **kwargs)`` seeing the data as of ``src``; always rolled back."""
    with engine.connect() as conn:
        try:
            if src.future:
                due = conn.exec_driver_sql(_DUE_BY, {"t": src.at}).scalar_one()
                if due:
                    from jurisgrid.editing.schedule import apply_pending_until

                    apply_pending_until(conn, src.at, settings=settings)
            return fn(conn, src, *args, **kwargs)
        finally:
            conn.rollback()
