"""Scheduled edits take effect under the same rules as direct edits (issue 16, issue 12 item 5):
the scheduler's station scope is checked again at the cut-over, a revoked token's edits never
take effect, and a scheduled edit never overwrites a change committed after it was scheduled —
it is recorded as a conflict (and announced) instead."""

from __future__ import annotations

import json
import select
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.auth.tokens import authenticate, issue_token, revoke
from jurisgrid.config import EditSettings
from jurisgrid.editing.revisions import CHANNEL
from jurisgrid.editing.runner import run_edit
from jurisgrid.editing.schedule import apply_due
from jurisgrid.live.listener import parse_payload
from jurisgrid.models.history import scheduled
from tests.editing.conftest import ADMIN
from tests.editing.helpers import grid_shape, grow_into, neighbour_pair

SETTINGS = EditSettings()


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


def _make_due(engine: Engine, *ids: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE scheduled_edit SET effective_from = now() - interval '1 s' "
                          "WHERE id = ANY(:i)"), {"i": list(ids)})


def _apply_due(engine: Engine, *ids: int) -> None:
    """``apply_due``, then wait until none of ``ids`` is pending: the session's ``edit_client``
    app runs the background applier on the same database, and when it is applying them at the
    same moment, this call skips them (``FOR UPDATE SKIP LOCKED``) — any applier may apply a
    due edit, and the outcome must be the same."""
    deadline = time.monotonic() + 30
    apply_due(engine, settings=SETTINGS)
    while any(_row(engine, s)["status"] == "pending" for s in ids) and time.monotonic() < deadline:
        time.sleep(0.05)
        apply_due(engine, settings=SETTINGS)


def _row(engine: Engine, sid: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return next(r for r in scheduled(conn) if r["id"] == sid)


def _one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def _stations(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT s.code FROM station s WHERE EXISTS (SELECT 1 FROM zone z WHERE z.station_id = s.id) "
            "ORDER BY s.code")).scalars())


def _principal_of_new_token(engine: Engine, station: str | None, label: str) -> tuple[int, Principal]:
    with engine.begin() as conn:
        tok = issue_token(conn, role="editor", station_code=station, label=label)
        return tok.id, authenticate(conn, tok.secret)


def test_scope_is_checked_again_when_the_edit_takes_effect(edit_engine: Engine) -> None:
    """A station-scoped editor renames a zone of its station for T; the zone moves to another
    station before T; at T the rename is Forbidden (as it would be made directly), recorded
    on the scheduled edit, and the zone keeps its name."""
    s1, s2 = _stations(edit_engine)[-2:]
    zone, name = _one(edit_engine, "SELECT z.code, z.name FROM zone z JOIN station s ON s.id = z.station_id "
                                   "WHERE s.code = :s ORDER BY z.code DESC LIMIT 1", s=s1)
    _tid, scoped = _principal_of_new_token(edit_engine, s1, "sched-scope")
    out = run_edit(edit_engine, "updateZone", {"code": zone, "name": "renamed by a scheduled edit"},
                   principal=scoped, settings=SETTINGS, effective_from=_soon())
    sid = out.scheduled_id
    assert sid is not None
    row = _row(edit_engine, sid)
    assert row["station_code"] == s1 and row["status"] == "pending" and row["base_revision"] is not None

    run_edit(edit_engine, "moveZone", {"zone": zone, "toStation": s2}, principal=ADMIN, settings=SETTINGS)
    try:
        _make_due(edit_engine, sid)
        _apply_due(edit_engine, sid)
        row = _row(edit_engine, sid)
        assert row["status"] == "failed" and row["error_code"] == "FORBIDDEN", row
        assert row["applied_revision"] is None and s1 in row["error"]
        assert _one(edit_engine, "SELECT name FROM zone WHERE code = :z", z=zone)[0] == name
    finally:
        run_edit(edit_engine, "moveZone", {"zone": zone, "toStation": s1}, principal=ADMIN,
                 settings=SETTINGS)


def test_a_scheduled_redraw_cannot_take_land_from_a_grid_now_in_another_station(
        edit_engine: Engine) -> None:
    """The issue's probe: a scoped editor schedules a redraw of grid A that takes a strip of its
    neighbour B (both in S1); B is then moved to a zone of S2; at T the redraw is Forbidden —
    as it would be made directly — and neither grid changes."""
    a, b = neighbour_pair(edit_engine, offset=2)
    s1, b_zone = _one(edit_engine, "SELECT s.code, z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                   "JOIN station s ON s.id = z.station_id WHERE g.code = :g", g=b)
    (s2_zone,) = _one(edit_engine, "SELECT z.code FROM zone z JOIN station s ON s.id = z.station_id "
                                   "WHERE s.code <> :s ORDER BY z.code LIMIT 1", s=s1)
    _tid, scoped = _principal_of_new_token(edit_engine, s1, "sched-redraw")
    sid = run_edit(edit_engine, "redrawGrid", {"grid": a, "geometry": grow_into(edit_engine, a, b)},
                   principal=scoped, settings=SETTINGS, effective_from=_soon()).scheduled_id
    assert sid is not None
    run_edit(edit_engine, "reassignGrids", {"grids": [b], "toZone": s2_zone}, principal=ADMIN,
             settings=SETTINGS)
    shapes = {g: grid_shape(edit_engine, g).wkb for g in (a, b)}
    try:
        _make_due(edit_engine, sid)
        _apply_due(edit_engine, sid)
        row = _row(edit_engine, sid)
        assert row["status"] == "failed" and row["error_code"] == "FORBIDDEN", row
        assert b in row["error"] or "outside" in row["error"], row
        assert {g: grid_shape(edit_engine, g).wkb for g in (a, b)} == shapes
    finally:
        run_edit(edit_engine, "reassignGrids", {"grids": [b], "toZone": b_zone}, principal=ADMIN,
                 settings=SETTINGS)


def test_revoking_the_token_cancels_its_pending_edits(edit_engine: Engine) -> None:
    zone, name = _one(edit_engine, "SELECT code, name FROM zone ORDER BY code OFFSET 1 LIMIT 1")
    tid, editor = _principal_of_new_token(edit_engine, None, "sched-revoke")
    sid = run_edit(edit_engine, "updateZone", {"code": zone, "name": "never"}, principal=editor,
                   settings=SETTINGS, effective_from=_soon()).scheduled_id
    assert sid is not None and _row(edit_engine, sid)["status"] == "pending"
    with edit_engine.begin() as conn:
        revoke(conn, tid)
    row = _row(edit_engine, sid)
    assert row["status"] == "cancelled" and row["cancel_reason"] == "token revoked", row
    assert row["cancelled_by"] == "system"
    _make_due(edit_engine, sid)
    assert sid not in [d[0] for d in apply_due(edit_engine, settings=SETTINGS)]
    assert _one(edit_engine, "SELECT name FROM zone WHERE code = :z", z=zone)[0] == name


def test_an_edit_whose_token_was_revoked_behind_its_back_is_refused(edit_engine: Engine) -> None:
    """The backstop: a token revoked without tokens.revoke (e.g. in SQL) — refused at take-effect."""
    zone, name = _one(edit_engine, "SELECT code, name FROM zone ORDER BY code OFFSET 2 LIMIT 1")
    tid, editor = _principal_of_new_token(edit_engine, None, "sched-revoke-sql")
    sid = run_edit(edit_engine, "updateZone", {"code": zone, "name": "never either"}, principal=editor,
                   settings=SETTINGS, effective_from=_soon()).scheduled_id
    assert sid is not None
    with edit_engine.begin() as conn:
        conn.execute(text("UPDATE api_token SET revoked_at = now() WHERE id = :t"), {"t": tid})
    _make_due(edit_engine, sid)
    _apply_due(edit_engine, sid)
    row = _row(edit_engine, sid)
    assert row["status"] == "failed" and row["error_code"] == "FORBIDDEN", row
    assert row["cancel_reason"] == "token revoked"
    assert _one(edit_engine, "SELECT name FROM zone WHERE code = :z", z=zone)[0] == name


def _grid_zones(engine: Engine, offset: int) -> tuple[str, str, str, str]:
    """A grid, its zone, and two other zones of its station (or of the county)."""
    with engine.connect() as conn:
        g, z = conn.execute(text("SELECT g.code, z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                 "ORDER BY g.code OFFSET :o LIMIT 1"), {"o": offset}).one()
        others = conn.execute(text("SELECT code FROM zone WHERE code <> :z ORDER BY code LIMIT 2"),
                              {"z": z}).scalars().all()
    return g, z, others[0], others[1]


def _zone_of(engine: Engine, grid: str) -> str:
    return str(_one(engine, "SELECT z.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                            "WHERE g.code = :g", g=grid)[0])


@pytest.fixture
def listener(edit_url: str):  # type: ignore[no-untyped-def]
    import psycopg2

    from jurisgrid.db import make_engine

    eng = make_engine(edit_url)
    raw = eng.raw_connection()
    conn: Any = raw.dbapi_connection
    conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
    conn.cursor().execute(f"LISTEN {CHANNEL}")

    def payloads(timeout: float = 2.0) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while select.select([conn], [], [], timeout) != ([], [], []):
            conn.poll()
            while conn.notifies:
                out.append(json.loads(conn.notifies.pop(0).payload))
            timeout = 0.2
        return out

    yield payloads
    raw.close()
    eng.dispose()


def test_the_cut_over_conflicts_instead_of_overwriting_a_later_edit(edit_engine: Engine, listener,
                                                                     egql) -> None:  # type: ignore[no-untyped-def]
    """Schedule G → Z1 for T, then commit G → Z2 directly; at T the scheduled edit is a
    conflict naming G and the direct edit's revision, and G stays in Z2. A scheduled edit of an
    untouched grid H, due at the same instant, still applies."""
    g, home_g, z1, z2 = _grid_zones(edit_engine, 31)
    h, home_h, zh, _ = _grid_zones(edit_engine, 32)
    when = _soon()
    sid_g = run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": z1}, principal=ADMIN,
                     settings=SETTINGS, effective_from=when).scheduled_id
    sid_h = run_edit(edit_engine, "reassignGrids", {"grids": [h], "toZone": zh}, principal=ADMIN,
                     settings=SETTINGS, effective_from=when).scheduled_id
    assert sid_g is not None and sid_h is not None
    direct = run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": z2}, principal=ADMIN,
                      settings=SETTINGS, reason="a later direct edit")
    assert direct.revision is not None
    listener(0.1)  # drain the direct edit's notification
    # a future asOf already tells the truth: G keeps the later edit, H moves
    later = (when + timedelta(minutes=1)).isoformat()
    at = egql("""query($g: String!, $h: String!, $t: DateTime) { g: grid(code: $g, asOf: $t) {
                 zone { code } } h: grid(code: $h, asOf: $t) { zone { code } } }""",
              {"g": g, "h": h, "t": later})
    assert (at["g"]["zone"]["code"], at["h"]["zone"]["code"]) == (z2, zh)
    try:
        _make_due(edit_engine, sid_g, sid_h)
        _apply_due(edit_engine, sid_g, sid_h)
        row = _row(edit_engine, sid_g)
        assert row["status"] == "conflict" and row["error_code"] == "CONFLICT", row
        assert row["applied_revision"] is None
        assert {"kind": "grid", "code": g, "revision": direct.revision.id} in row["conflicts"]
        assert _zone_of(edit_engine, g) == z2  # the later edit is kept
        applied = _row(edit_engine, sid_h)
        assert applied["status"] == "applied" and applied["applied_revision"] is not None
        assert _zone_of(edit_engine, h) == zh
        announced = [p for p in listener() if p.get("scheduledEdit")]
        assert [p["scheduledEdit"]["id"] for p in announced] == [sid_g], announced
        station = _one(edit_engine, "SELECT s.code FROM grid g JOIN zone z ON z.id = g.zone_id "
                                    "JOIN station s ON s.id = z.station_id WHERE g.code = :g", g=g)[0]
        assert announced[0]["codes"] == {"grid": [g], "station": [station]}
        assert announced[0]["revision"] is None and announced[0]["scheduledEdit"]["status"] == "conflict"
        box = grid_shape(edit_engine, g).bounds
        assert announced[0]["bbox"] == pytest.approx(list(box), abs=1e-9)
        # subscribers get it as an event (filters by station and bbox included)
        change = parse_payload(json.dumps(announced[0]))
        assert change.revision is None and change.codes["grid"] == (g,)
        assert change.touches_bbox(box) and station in change.codes["station"]
    finally:
        for grid, zone in ((g, home_g), (h, home_h)):
            run_edit(edit_engine, "reassignGrids", {"grids": [grid], "toZone": zone}, principal=ADMIN,
                     settings=SETTINGS)


def test_scheduled_edits_already_pending_do_not_conflict(edit_engine: Engine) -> None:
    """A sequence planned ahead — G → Z1 at T1, then G → Z2 at T2, both scheduled before T1 —
    applies in full: the second edit's author saw the first coming."""
    g, home, z1, z2 = _grid_zones(edit_engine, 33)
    t1 = _soon()
    first = run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": z1}, principal=ADMIN,
                     settings=SETTINGS, effective_from=t1).scheduled_id
    second = run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": z2}, principal=ADMIN,
                      settings=SETTINGS, effective_from=t1 + timedelta(minutes=5)).scheduled_id
    assert first is not None and second is not None
    try:
        with edit_engine.begin() as conn:
            conn.execute(text("UPDATE scheduled_edit SET effective_from = now() - interval '2 s' "
                              "WHERE id = :a"), {"a": first})
            conn.execute(text("UPDATE scheduled_edit SET effective_from = now() - interval '1 s' "
                              "WHERE id = :b"), {"b": second})
        _apply_due(edit_engine, first, second)
        assert [_row(edit_engine, s)["status"] for s in (first, second)] == ["applied", "applied"]
        assert _zone_of(edit_engine, g) == z2
    finally:
        run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": home}, principal=ADMIN,
                 settings=SETTINGS)


def test_a_scheduled_point_move_conflicts_with_a_later_move_of_the_point(edit_engine: Engine) -> None:
    """Address points have no history tables: the points noted in the revisions are compared."""
    code, grid = _one(edit_engine, "SELECT p.code, g.code FROM address_point p "
                                   "JOIN grid g ON g.id = p.grid_id ORDER BY p.code OFFSET 7 LIMIT 1")
    inside = grid_shape(edit_engine, grid).representative_point()
    sid = run_edit(edit_engine, "updateAddressPoint", {"code": code, "households": 41},
                   principal=ADMIN, settings=SETTINGS, effective_from=_soon()).scheduled_id
    assert sid is not None
    direct = run_edit(edit_engine, "updateAddressPoint",
                      {"code": code, "lon": inside.x, "lat": inside.y}, principal=ADMIN,
                      settings=SETTINGS)
    assert direct.revision is not None
    _make_due(edit_engine, sid)
    _apply_due(edit_engine, sid)
    row = _row(edit_engine, sid)
    assert row["status"] == "conflict", row
    assert row["conflicts"] == [{"kind": "address_point", "code": code, "revision": direct.revision.id}]
    assert _one(edit_engine, "SELECT households FROM address_point WHERE code = :c", c=code)[0] != 41


def test_scheduled_edits_query_shows_the_outcome(edit_engine: Engine, egql) -> None:  # type: ignore[no-untyped-def]
    g, home, z1, z2 = _grid_zones(edit_engine, 34)
    sid = run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": z1}, principal=ADMIN,
                   settings=SETTINGS, effective_from=_soon()).scheduled_id
    direct = run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": z2}, principal=ADMIN,
                      settings=SETTINGS)
    assert sid is not None and direct.revision is not None
    try:
        _make_due(edit_engine, sid)
        _apply_due(edit_engine, sid)
        rows = egql("{ scheduledEdits { id status errorCode conflicts baseRevision stationCode } }")
        row = next(r for r in rows["scheduledEdits"] if r["id"] == sid)
        assert row["status"] == "conflict" and row["errorCode"] == "CONFLICT"
        assert row["conflicts"] == [{"kind": "grid", "code": g, "revision": direct.revision.id}]
        assert row["baseRevision"] < direct.revision.id and row["stationCode"] is None
    finally:
        run_edit(edit_engine, "reassignGrids", {"grids": [g], "toZone": home}, principal=ADMIN,
                 settings=SETTINGS)


def test_a_role_without_a_token_is_unscoped_as_before(edit_engine: Engine) -> None:
    """The CLI and local admins have no token: their scheduled edits carry no scope."""
    zone, _name = _one(edit_engine, "SELECT code, name FROM zone ORDER BY code OFFSET 3 LIMIT 1")
    cli = Principal(actor="cli", role=Role.ADMIN, station_code=None)
    sid = run_edit(edit_engine, "updateZone", {"code": zone, "kind": "urban"}, principal=cli,
                   settings=SETTINGS, effective_from=_soon()).scheduled_id
    assert sid is not None
    _make_due(edit_engine, sid)
    _apply_due(edit_engine, sid)
    row = _row(edit_engine, sid)
    assert row["status"] == "applied" and row["station_code"] is None, row
