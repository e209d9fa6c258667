"""A future ``asOf`` reads the cached effect of the pending scheduled edits (editing/asof.py,
migration 0011) instead of applying them: it neither waits for a writer in progress nor makes a
writer wait, and it follows the pending edits as they are scheduled, cancelled and committed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from jurisgrid.editing.revisions import LOCK_KEY

QV = """query($g: String!, $t: DateTime, $lon: Float!, $lat: Float!) {
  grid(code: $g, asOf: $t) { zone { code station { code } } }
  responsibleFor(lon: $lon, lat: $lat, asOf: $t) { grid { code } zone { code } } }"""

EDIT = """mutation($g: [String!]!, $z: String!, $e: DateTime) {
  reassignGrids(grids: $g, toZone: $z, effectiveFrom: $e) { __typename
    ... on EditSuccess { scheduledId revision { id } } ... on EditError { code message } } }"""


def _pick(engine: Engine, offset: int) -> tuple[str, str, str, float, float]:
    """A grid (from the end of the code order), its zone, a zone of another station, and a
    point inside the grid."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT g.code, z.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id "
            "ORDER BY z2.code DESC LIMIT 1 OFFSET 2), ST_X(ST_PointOnSurface(g.geom)), "
            "ST_Y(ST_PointOnSurface(g.geom)) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "ORDER BY g.code DESC OFFSET :o LIMIT 1"), {"o": offset}).one())


@pytest.fixture
def scheduled(edit_engine, egql):
    """A reassign scheduled two hours ahead; cancelled (and every edit committed here reverted)
    afterwards, so the other tests find the state as it was."""
    g, z_old, z_new, lon, lat = _pick(edit_engine, 17)
    eff = datetime.now(UTC) + timedelta(hours=2)
    r = egql(EDIT, {"g": [g], "z": z_new, "e": eff.isoformat()})["reassignGrids"]
    assert r["__typename"] == "EditSuccess" and r["scheduledId"], r
    out: dict[str, Any] = {"g": g, "old": z_old, "new": z_new, "lon": lon, "lat": lat,
                           "t": (eff + timedelta(minutes=1)).isoformat(), "id": r["scheduledId"],
                           "undo": []}
    yield out
    with edit_engine.begin() as conn:
        conn.execute(text("UPDATE scheduled_edit SET cancelled_at = clock_timestamp(), "
                          "status = 'cancelled' WHERE id = :i AND cancelled_at IS NULL"),
                     {"i": out["id"]})
    for rev in reversed(out["undo"]):
        egql("mutation($r: Int!) { revert(revision: $r) { __typename } }", {"r": rev})


def _future(egql, s: dict[str, Any]) -> dict[str, Any]:
    return egql(QV, {"g": s["g"], "t": s["t"], "lon": s["lon"], "lat": s["lat"]})


def _in_thread(fn, timeout: float) -> tuple[bool, Any]:
    """Run ``fn`` in a thread; (finished within ``timeout``, its result or exception)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["out"] = fn()
        except BaseException as exc:  # handed to the test
            box["out"] = exc

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(timeout)
    return not th.is_alive(), box.get("out")


def test_future_read_is_not_blocked_by_a_writer_in_progress(edit_engine, egql, scheduled) -> None:
    s = scheduled
    first = _future(egql, s)  # builds the cache for the committed state
    assert first["grid"]["zone"]["code"] == s["new"]
    assert first["responsibleFor"]["grid"]["code"] == s["g"]
    assert first["responsibleFor"]["zone"]["code"] == s["new"]
    # a writer in progress: holds the writers' lock and the data_version row, uncommitted
    with edit_engine.connect() as writer:
        writer.exec_driver_sql("SELECT pg_advisory_xact_lock(%(k)s)", {"k": LOCK_KEY})
        writer.exec_driver_sql("UPDATE data_version SET version = version")
        try:
            done, out = _in_thread(lambda: _future(egql, s), timeout=10)
            assert done, "a future asOf waited for the writer"
            assert not isinstance(out, BaseException), out
            assert out == first
        finally:
            writer.rollback()


def test_a_writer_is_not_blocked_by_future_reads(edit_engine, egql, scheduled) -> None:
    s = scheduled
    _future(egql, s)
    stop = threading.Event()
    answers: list[Any] = []

    def reads() -> None:
        while not stop.is_set():
            answers.append(_future(egql, s)["grid"]["zone"]["code"])

    reader = threading.Thread(target=reads, daemon=True)
    reader.start()
    try:
        time.sleep(0.3)
        g2, _old2, new2, _x, _y = _pick(edit_engine, 23)
        start = time.monotonic()
        done, out = _in_thread(lambda: egql(EDIT, {"g": [g2], "z": new2, "e": None}), timeout=20)
        assert done, "the writer waited for future reads"
        assert not isinstance(out, BaseException), out
        r = out["reassignGrids"]
        assert r["__typename"] == "EditSuccess" and r["revision"], r
        s["undo"].append(r["revision"]["id"])
        assert time.monotonic() - start < 20
    finally:
        stop.set()
        reader.join(20)
    assert answers and set(answers) == {s["new"]}


def test_future_read_follows_schedule_commit_and_cancel(edit_engine, egql, scheduled) -> None:
    s = scheduled
    assert _future(egql, s)["grid"]["zone"]["code"] == s["new"]
    # a committed edit elsewhere: the next future read sees it and still the scheduled one
    g2, old2, new2, _x, _y = _pick(edit_engine, 29)
    r = egql(EDIT, {"g": [g2], "z": new2, "e": None})["reassignGrids"]
    s["undo"].append(r["revision"]["id"])
    both = egql("""query($a: String!, $b: String!, $t: DateTime) {
        a: grid(code: $a, asOf: $t) { zone { code } } b: grid(code: $b, asOf: $t) { zone { code } } }""",
                {"a": s["g"], "b": g2, "t": s["t"]})
    assert both == {"a": {"zone": {"code": s["new"]}}, "b": {"zone": {"code": new2}}}
    assert old2 != new2
    # the scheduled edit cancelled: the future is the present again
    egql("mutation($i: Int!) { cancelScheduledEdit(id: $i) { __typename } }", {"i": s["id"]})
    assert _future(egql, s)["grid"]["zone"]["code"] == s["old"]
    # and a past instant never looks at the cache
    with edit_engine.connect() as conn:
        keys = conn.execute(text("SELECT count(*) FROM future_key")).scalar_one()
    past = datetime.now(UTC).isoformat()
    assert egql(QV, {"g": s["g"], "t": past, "lon": s["lon"], "lat": s["lat"]})["grid"]["zone"][
        "code"] == s["old"]
    with edit_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM future_key")).scalar_one() == keys
