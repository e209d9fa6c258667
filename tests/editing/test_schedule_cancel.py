"""Cancelling a scheduled edit: only whoever scheduled it, or an admin; never once applied or
cancelled; a cancelled edit no longer shows in a future ``asOf`` and never takes effect.
Also the CLI: ``jurisgrid edits scheduled`` and ``jurisgrid edits cancel``."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from jurisgrid.editing.schedule import apply_due
from tests.editing.helpers import fingerprint

REASSIGN = """mutation($grids: [String!]!, $zone: String!, $eff: DateTime) {
  reassignGrids(grids: $grids, toZone: $zone, effectiveFrom: $eff, reason: "cut-over") {
    __typename ... on EditSuccess { scheduledId } ... on EditError { code message } } }"""
CANCEL = """mutation($id: Int!) { cancelScheduledEdit(id: $id, reason: "plan changed") {
  __typename ... on CancelSuccess { scheduledEditId cancelledAt cancelledBy }
  ... on EditError { code message details } } }"""
ZONE_AT = """query($g: String!, $t: DateTime) { grid(code: $g, asOf: $t) { zone { code } } }"""
PENDING = "{ scheduledEdits(pending: true) { id } }"


def _grid_and_other_zone(engine, offset: int) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return tuple(conn.execute(text(  # type: ignore[return-value]
            "SELECT g.code, z.code, (SELECT z2.code FROM zone z2 WHERE z2.id <> z.id "
            "ORDER BY z2.code LIMIT 1) FROM grid g JOIN zone z ON z.id = g.zone_id "
            "ORDER BY g.code OFFSET :o LIMIT 1"), {"o": offset}).one())


def _schedule(egql, grid: str, zone: str, who: str, eff: datetime) -> int:  # type: ignore[no-untyped-def]
    r = egql(REASSIGN, {"grids": [grid], "zone": zone, "eff": eff.isoformat()}, who=who)["reassignGrids"]
    assert r["__typename"] == "EditSuccess" and r["scheduledId"], r
    return int(r["scheduledId"])


def test_owner_cancels_and_the_edit_never_happens(edit_engine, egql, edit_settings) -> None:  # type: ignore[no-untyped-def]
    grid, home, other = _grid_and_other_zone(edit_engine, 21)
    eff = datetime.now(UTC) + timedelta(hours=2)
    later = (eff + timedelta(hours=1)).isoformat()
    sid = _schedule(egql, grid, other, "editor", eff)
    assert sid in [x["id"] for x in egql(PENDING)["scheduledEdits"]]
    assert egql(ZONE_AT, {"g": grid, "t": later})["grid"]["zone"]["code"] == other

    before = fingerprint(edit_engine)
    for who, kind in (("viewer", "ForbiddenError"), ("scoped", "ForbiddenError")):
        r = egql(CANCEL, {"id": sid}, who=who)["cancelScheduledEdit"]
        assert r["__typename"] == kind, (who, r)
    r = egql(CANCEL, {"id": 10**9})["cancelScheduledEdit"]
    assert r["__typename"] == "NotFound" and r["details"] == [{"kind": "scheduledEdit", "id": 10**9}]
    assert fingerprint(edit_engine) == before
    assert sid in [x["id"] for x in egql(PENDING)["scheduledEdits"]]

    r = egql(CANCEL, {"id": sid}, who="editor")["cancelScheduledEdit"]
    assert r["__typename"] == "CancelSuccess" and r["scheduledEditId"] == sid, r
    owner = next(x["actor"] for x in egql("{ scheduledEdits { id actor } }")["scheduledEdits"]
                 if x["id"] == sid)
    assert r["cancelledBy"] == owner and owner.startswith("t-editor"), (r, owner)
    row = next(x for x in egql("{ scheduledEdits { id cancelledBy cancelReason appliedRevision } }")
               ["scheduledEdits"] if x["id"] == sid)
    assert row["cancelReason"] == "plan changed" and row["appliedRevision"] is None
    assert sid not in [x["id"] for x in egql(PENDING)["scheduledEdits"]]
    assert egql(ZONE_AT, {"g": grid, "t": later})["grid"]["zone"]["code"] == home
    again = egql(CANCEL, {"id": sid}, who="admin")["cancelScheduledEdit"]
    assert again["__typename"] == "ConflictError" and "already cancelled" in again["message"]
    # even when its instant has come, a cancelled edit is not applied
    with edit_engine.begin() as conn:
        conn.execute(text("UPDATE scheduled_edit SET effective_from = now() - interval '1 s' "
                          "WHERE id = :i"), {"i": sid})
    assert sid not in [d[0] for d in apply_due(edit_engine, settings=edit_settings)]
    assert egql(ZONE_AT, {"g": grid, "t": None})["grid"]["zone"]["code"] == home


def test_admin_cancels_anyones_but_not_an_applied_one(edit_engine, egql, edit_settings) -> None:  # type: ignore[no-untyped-def]
    grid, home, other = _grid_and_other_zone(edit_engine, 22)
    sid = _schedule(egql, grid, other, "editor", datetime.now(UTC) + timedelta(hours=3))
    r = egql(CANCEL, {"id": sid}, who="admin")["cancelScheduledEdit"]
    assert r["__typename"] == "CancelSuccess", r

    soon = _schedule(egql, grid, other, "editor", datetime.now(UTC) + timedelta(seconds=1))
    with edit_engine.begin() as conn:
        conn.execute(text("UPDATE scheduled_edit SET effective_from = now() - interval '1 s' "
                          "WHERE id = :i"), {"i": soon})
    apply_due(edit_engine, settings=edit_settings)
    assert egql(ZONE_AT, {"g": grid, "t": None})["grid"]["zone"]["code"] == other
    before = fingerprint(edit_engine)
    late = egql(CANCEL, {"id": soon}, who="admin")["cancelScheduledEdit"]
    assert late["__typename"] == "ConflictError" and "already applied" in late["message"], late
    assert fingerprint(edit_engine) == before
    back = egql("""mutation($g: [String!]!, $z: String!) { reassignGrids(grids: $g, toZone: $z) {
        __typename } }""", {"g": [grid], "z": home})["reassignGrids"]
    assert back["__typename"] == "EditSuccess"


def test_cli_lists_and_cancels(edit_url: str, edit_engine, egql) -> None:  # type: ignore[no-untyped-def]
    grid, _home, other = _grid_and_other_zone(edit_engine, 23)
    sid = _schedule(egql, grid, other, "editor", datetime.now(UTC) + timedelta(hours=4))
    env = {**os.environ, "JURISGRID_DATABASE_URL": edit_url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "jurisgrid.cli", "edits", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    listed = cli("scheduled")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[0] == str(sid) and "pending" in line for line in listed.stdout.splitlines())
    done = cli("cancel", str(sid), "--reason", "cli test")
    assert done.returncode == 0 and f"scheduled edit {sid} cancelled" in done.stdout, done
    assert str(sid) not in [ln.split()[0] for ln in cli("scheduled").stdout.splitlines() if ln.strip()]
    assert "cancelled by cli" in cli("scheduled", "--all").stdout
    twice = cli("cancel", str(sid))
    assert twice.returncode == 2 and "already cancelled" in twice.stderr
