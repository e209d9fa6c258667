"""``?asOf=`` on tiles: the jurisdiction layers as they were at an instant (pure: no database).

* Layers: grids, zones, stations, communities — the historised tables (migration 0003). Their
  tile statement is ``sql/tiles_asof_<layer>.sql``: the versions in force at T
  (``<table>_history.valid @> T``), with parent codes and child counts through the memberships
  at T. Sectors, townships, address points and incidents have no history: asOf for them is a
  400 (sectors could be built from station_history, but their figures could not).
* Figures (population, households, incidents, rates, zone class, workload) are *omitted* from
  asOf tiles: address points and incidents are not historised, so no figure "as of T" exists,
  and current figures on past outlines would be wrong without saying so. TileJSON says it.
* Future instants are refused (400): what scheduled edits will make of the future is answered
  by the GraphQL ``asOf`` reads (from the cache of their effect that editing/asof.py builds;
  tiles do not read it yet).
* Caching: history is append-only, but an edit may take effect up to ``PAST_SLACK`` before its
  commit (editing/runner.py), and an overdue scheduled edit takes effect at its own instant when
  the runner applies it. So a tile of T is final — ``Cache-Control: public, max-age=86400`` —
  only when T is older than now − 2·PAST_SLACK and no pending scheduled edit is due by T;
  otherwise it is ``no-cache`` and revalidated by its content hash.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jurisgrid.errors import InvalidInput

ASOF_LAYERS = ("grids", "zones", "stations", "communities")
FINAL_AFTER = timedelta(minutes=10)  # 2 × editing.transaction.PAST_SLACK
FINAL_CACHE_CONTROL = "public, max-age=86400"


def parse_as_of(layer: str, raw: str | None, *, now: datetime | None = None) -> datetime | None:
    """The instant of ``?asOf=`` (ISO 8601; without offset = UTC), None when absent.

    Raises InvalidInput for a malformed instant, a future instant, or a layer without history."""
    if raw is None or raw == "":
        return None
    if layer not in ASOF_LAYERS:
        raise InvalidInput(f"layer {layer!r} has no history; asOf is available for "
                           f"{', '.join(ASOF_LAYERS)}")
    try:
        t = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"asOf {raw!r} is not an ISO 8601 instant "
                           "(e.g. 2026-01-31T12:00:00Z)") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC)
    if t > (now or datetime.now(UTC)):
        raise InvalidInput(f"asOf {t.isoformat()} is in the future; tiles show the past and the "
                           "present only (ask GraphQL with asOf for what scheduled edits will do)")
    return t


def is_final(t: datetime, *, now: datetime, pending_due: bool) -> bool:
    """True when no later write can change what holds at ``t`` (see the module docstring)."""
    return t < now - FINAL_AFTER and not pending_due
