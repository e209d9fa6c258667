"""What every writer of a revision shares (editing/runner.py, the plans' edits and publishing):
when an ``effectiveFrom`` takes effect, and one transaction whose database refusals become
domain errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, Transaction
from sqlalchemy.exc import DBAPIError

from jurisgrid.editing.execute import map_db_error
from jurisgrid.errors import InvalidInput

# effectiveFrom up to this far in the past counts as "now" (clocks of clients drift)
PAST_SLACK = timedelta(minutes=5)


def effective_instant(effective_from: datetime | None, *, verb: str = "edit") -> datetime | None:
    """The instant a change is to take effect: None for now (none given, or at most
    :data:`PAST_SLACK` ago), the instant when it lies ahead. InvalidInput without a time zone or
    further in the past (history is not rewritten)."""
    if effective_from is None:
        return None
    if effective_from.tzinfo is None:
        raise InvalidInput("effectiveFrom needs a time zone (e.g. 2026-12-01T00:00:00+08:00)")
    now = datetime.now(UTC)
    if effective_from < now - PAST_SLACK:
        raise InvalidInput("effectiveFrom is in the past: history cannot be rewritten; "
                           f"omit it to {verb} now")
    return effective_from if effective_from > now else None


@contextmanager
def edit_transaction(engine: Engine) -> Iterator[tuple[Connection, Transaction]]:
    """A connection in a transaction the caller commits (or rolls back, for a dry run); on any
    error it is rolled back, and a database refusal is raised as its domain error
    (:func:`~jurisgrid.editing.execute.map_db_error`: no constraint or SQL in the message)."""
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            yield conn, trans
        except DBAPIError as exc:
            if trans.is_active:
                trans.rollback()
            raise map_db_error(exc) from None
        except BaseException:
            if trans.is_active:
                trans.rollback()
            raise
