"""History and time travel through GraphQL: ``revisions`` with the changed area, ``asOf`` on
the read queries and ``responsibleFor``, scheduled (future) edits, ``revert``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import shapely
from sqlalchemy import text

from jurisgrid.editing.schedule import apply_due
from tests.editing.helpers import fingerprint, grid_shape, state

REASSIGN = """mutation($grids: [String!]!, $zone: String!, $eff: DateTime) {
  reassignGrids(grids: $grids, toZone: $zone, effectiveFrom: $eff, reason: "history test") {
    __typename ... on EditSuccess { scheduledId revision { id at actor reason effectiveFrom }
      impact { grids zones stations population } changedArea }
    ... on EditError { code message } } }"""
AS_OF = """query($g: String!, $t: DateTime, $lon: Float!, $lat: Float!) {
  grid(code: $g, asOf: $t) { code zone { code station { code } } }
  grids(codes: [$g], asOf: $t) { totalCount edges { node { code } } }
  responsibleFor(lon: $lon, lat: $lat, asOf: $t) {
    grid { code } zone { code } station { code } onBoundary } }"""


def _grid_and_target(engine, offset: int) -> tuple[str, str, str, float, float]:
    with engine.connect() as conn:
        g, z_old, z_new = conn.execute(text(
            "SELECT g.code, z.code, (SELECT z2.code FROM zone z2 WHERE z2.station_id <> z.station_id "
            "ORDER BY z2.code LIMIT 1) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "ORDER BY g.code OFFSET :o LIMIT 1"), {"o": offset}).one()
    p = grid_shape(engine, g).representative_point()
    return g, z_old, z_new, p.x, p.y


def test_as_of_sees_the_past_and_revisions_list_the_change(edit_engine, egql) -> None:
    g, z_old, z_new, lon, lat = _grid_and_target(edit_engine, 11)
    before = datetime.now(UTC)
    time.sleep(0.05)
    r = egql(REASSIGN, {"grids": [g], "zone": z_new})["reassignGrids"]
    assert r["__typename"] == "EditSuccess" and r["revision"]["actor"].startswith("t-editor")
    now = egql(AS_OF, {"g": g, "t": None, "lon": lon, "lat": lat})
    then = egql(AS_OF, {"g": g, "t": before.isoformat(), "lon": lon, "lat": lat})
    assert now["grid"]["zone"]["code"] == z_new and then["grid"]["zone"]["code"] == z_old
    assert now["responsibleFor"]["zone"]["code"] == z_new
    assert then["responsibleFor"]["zone"]["code"] == z_old
    assert then["responsibleFor"]["grid"]["code"] == g and then["grids"]["totalCount"] == 1
    # before the first edit of all: the seeded state (revision 0) answers
    seeded = egql(AS_OF, {"g": g, "t": "2000-01-01T00:00:00Z", "lon": lon, "lat": lat})
    assert seeded["grid"]["zone"]["code"] == z_old
    revs = egql("""{ currentRevision revisions(first: 3) { id actor kind reason summary changedArea } }""")
    top = revs["revisions"][0]
    assert top["id"] == revs["currentRevision"] == r["revision"]["id"]
    assert top["kind"] == "reassignGrids" and top["summary"]["grids"] == [g]
    area = shapely.geometry.shape(top["changedArea"])
    assert area.covers(shapely.Point(lon, lat))
    # revert through GraphQL: back to the old zone, as a new revision
    rv = egql("""mutation($r: Int!) { revert(revision: $r) { __typename
                ... on EditSuccess { revision { id } } ... on EditError { code message } } }""",
              {"r": r["revision"]["id"]})["revert"]
    assert rv["__typename"] == "EditSuccess", rv
    assert egql(AS_OF, {"g": g, "t": None, "lon": lon, "lat": lat})["grid"]["zone"]["code"] == z_old


def test_scheduled_edit_takes_effect_at_its_instant(edit_engine, egql, edit_settings) -> None:
    g, z_old, z_new, lon, lat = _grid_and_target(edit_engine, 13)
    start = state(edit_engine)
    eff = datetime.now(UTC) + timedelta(seconds=4)
    r = egql(REASSIGN, {"grids": [g], "zone": z_new, "eff": eff.isoformat()})["reassignGrids"]
    assert r["__typename"] == "EditSuccess" and r["revision"] is None and r["scheduledId"]
    assert r["impact"]["grids"] == [g]           # validated by a dry run when scheduled
    assert state(edit_engine) == start           # nothing changed yet
    fp = fingerprint(edit_engine)
    later = (eff + timedelta(hours=1)).isoformat()
    assert egql(AS_OF, {"g": g, "t": later, "lon": lon, "lat": lat})["grid"]["zone"]["code"] == z_new
    assert egql(AS_OF, {"g": g, "t": None, "lon": lon, "lat": lat})["grid"]["zone"]["code"] == z_old
    assert fingerprint(edit_engine) == fp        # the future read wrote nothing
    # the server's background task wakes at the scheduled instant and applies it, unprompted
    applied = None
    deadline = time.monotonic() + (eff - datetime.now(UTC)).total_seconds() + 10
    while applied is None and time.monotonic() < deadline:
        sched = egql("{ scheduledEdits { id appliedRevision } }")["scheduledEdits"]
        applied = next(x["appliedRevision"] for x in sched if x["id"] == r["scheduledId"])
        if applied is None:
            time.sleep(0.05)
    assert applied is not None
    assert datetime.now(UTC) >= eff
    assert apply_due(edit_engine, settings=edit_settings) == []   # nothing left to apply
    with edit_engine.connect() as conn:
        zone_now, rev_eff = conn.execute(text(
            "SELECT z.code, (SELECT effective_from FROM revision WHERE id = :r) FROM grid g "
            "JOIN zone z ON z.id = g.zone_id WHERE g.code = :g"), {"g": g, "r": applied}).one()
    assert zone_now == z_new and abs((rev_eff - eff).total_seconds()) < 1e-3


def test_past_effective_from_is_refused(edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    g, _z_old, z_new, _lon, _lat = _grid_and_target(edit_engine, 17)
    fp = fingerprint(edit_engine)
    r = egql(REASSIGN, {"grids": [g], "zone": z_new,
                        "eff": (datetime.now(UTC) - timedelta(days=1)).isoformat()})["reassignGrids"]
    assert r["__typename"] == "ValidationError" and "past" in r["message"]
    assert fingerprint(edit_engine) == fp


def test_cli_apply_due_and_log(edit_url: str, edit_engine) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    env = {**os.environ, "JURISGRID_DATABASE_URL": edit_url}
    out = subprocess.run([sys.executable, "-m", "jurisgrid.cli", "edits", "apply-due"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "scheduled edit(s) processed" in out.stdout
    log = subprocess.run([sys.executable, "-m", "jurisgrid.cli", "edits", "log", "--first", "3"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert log.returncode == 0, log.stderr
    with edit_engine.connect() as conn:
        newest = conn.execute(text("SELECT max(id) FROM revision")).scalar_one()
    assert (str(newest) in log.stdout) if newest else ("no revisions yet" in log.stdout)
