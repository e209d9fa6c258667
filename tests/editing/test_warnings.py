"""Edit warnings: what an edit does that its author may not mean — zones cut into pieces,
station changes, no-op edits and staffing-norm breaches created or cleared — each checked
against an independent computation (Shapely for pieces, SQL for stations, the compliance report
before and after a real commit for the staffing norms); the dry run still writes nothing."""

from __future__ import annotations

import json

import shapely
from sqlalchemy import Engine, text

from jurisgrid.analytics.compliance import compliance
from jurisgrid.editing.runner import run_edit
from tests.editing.conftest import ADMIN
from tests.editing.helpers import fingerprint


def _edit(engine, settings, op, args, **kw):  # type: ignore[no-untyped-def]
    return run_edit(engine, op, args, principal=ADMIN, settings=settings, reason="test", **kw)


def _codes(out, code: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [w for w in out.impact.warnings if w["code"] == code]


def _grids(engine: Engine) -> list[tuple[str, str, str, shapely.Geometry]]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT g.code, z.code, s.code, ST_AsGeoJSON(g.geom, 15) FROM grid g "
            "JOIN zone z ON z.id = g.zone_id JOIN station s ON s.id = z.station_id ORDER BY g.code")).all()
    return [(g, z, s, shapely.geometry.shape(json.loads(gj))) for g, z, s, gj in rows]


def _parts(geoms: list[shapely.Geometry]) -> int:
    u = shapely.union_all(geoms)
    return len(getattr(u, "geoms", [u])) if not u.is_empty else 0


def test_reassigning_a_grid_to_its_own_zone_is_a_no_change(edit_engine, edit_settings) -> None:  # type: ignore[no-untyped-def]
    code, zone, _s, _g = _grids(edit_engine)[0]
    fp = fingerprint(edit_engine)
    out = _edit(edit_engine, edit_settings, "reassignGrids", {"grids": [code], "toZone": zone}, dry_run=True)
    assert [w["code"] for w in out.impact.warnings] == ["NO_CHANGE"]
    assert fingerprint(edit_engine) == fp


def test_station_change_and_zone_split_agree_with_shapely(edit_engine, edit_settings) -> None:  # type: ignore[no-untyped-def]
    grids = _grids(edit_engine)
    by_zone: dict[str, list[tuple[str, shapely.Geometry]]] = {}
    for g, z, _s, geom in grids:
        by_zone.setdefault(z, []).append((g, geom))
    station_of = {z: s for _g, z, s, _ in grids}
    # a grid whose removal cuts its zone (by Shapely), with an edge-neighbour in another station
    found = None
    for g, z, s, geom in grids:
        rest = [x for c, x in by_zone[z] if c != g]
        if not rest or _parts(rest) <= _parts([x for _c, x in by_zone[z]]):
            continue
        for _h, hz, hs, hgeom in grids:
            if hs != s and geom.intersection(hgeom).length > 0:
                found = (g, z, hz)
                break
        if found:
            break
    assert found, "the test county has a zone that one grid holds together"
    g, z, to = found
    fp = fingerprint(edit_engine)
    out = _edit(edit_engine, edit_settings, "reassignGrids", {"grids": [g], "toZone": to}, dry_run=True)
    assert fingerprint(edit_engine) == fp
    split = _codes(out, "ZONE_SPLIT")
    rest = [x for c, x in by_zone[z] if c != g]
    assert [w["units"] for w in split] == [[z]]
    assert split[0]["after"] == _parts(rest) and split[0]["before"] == _parts([x for _c, x in by_zone[z]])
    (change,) = _codes(out, "STATION_CHANGE")
    assert change["units"] == [g] and change["stations"] == [[station_of[z], station_of[to]]]
    # a move within the zone's own station and keeping it whole: neither warning
    for c, x in by_zone[z]:
        if c == g:
            continue
        others = [y for d, y in by_zone[z] if d != c]
        if others and _parts(others) == _parts([y for _d, y in by_zone[z]]):
            same = [zz for zz in by_zone if zz != z and station_of[zz] == station_of[z]
                    and any(x.intersection(y).length > 0 for _d, y in by_zone[zz])]
            if same:
                out = _edit(edit_engine, edit_settings, "reassignGrids", {"grids": [c], "toZone": same[0]},
                            dry_run=True)
                assert not _codes(out, "STATION_CHANGE") and not _codes(out, "ZONE_SPLIT")
                break


def test_staffing_breaches_created_and_cleared_match_the_report(edit_engine, edit_settings) -> None:  # type: ignore[no-untyped-def]
    # a zone's only community officer leaves: the zone is left without one (a breach created);
    # the revert brings the officer back (the breach cleared)
    with edit_engine.connect() as conn:
        aid, station = conn.execute(text(
            "SELECT min(a.id), s.code FROM assignment a JOIN zone z ON z.id = a.zone_id "
            "JOIN station s ON s.id = z.station_id WHERE a.role = 'community_officer' AND a.valid_to IS NULL "
            "GROUP BY a.zone_id, s.code HAVING count(*) = 1 ORDER BY 1 LIMIT 1")).one()

    def report() -> set[tuple[str, str]]:
        with edit_engine.connect() as conn:
            return {(b.rule, b.code) for b in compliance(conn, station=station)[1]}

    def warned(out, code: str) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
        return {(w["rule"], w["units"][0]) for w in _codes(out, code)}

    fp = fingerprint(edit_engine)
    dry = _edit(edit_engine, edit_settings, "retireAssignment", {"id": aid}, dry_run=True)
    assert fingerprint(edit_engine) == fp
    before = report()
    out = _edit(edit_engine, edit_settings, "retireAssignment", {"id": aid})
    try:
        after = report()
        assert after - before, "retiring the only community officer creates a breach"
        assert warned(dry, "STAFFING_BREACH_CREATED") == after - before
        assert warned(dry, "STAFFING_BREACH_CLEARED") == before - after
        assert not _codes(out, "STAFFING_BREACH_CREATED")  # committed results do not compute them
        back = _edit(edit_engine, edit_settings, "revert", {"revision": out.revision.id}, dry_run=True)
        assert warned(back, "STAFFING_BREACH_CLEARED") == after - before
        assert warned(back, "STAFFING_BREACH_CREATED") == before - after
    finally:
        _edit(edit_engine, edit_settings, "revert", {"revision": out.revision.id})
    assert report() == before


def test_warnings_reach_graphql(egql) -> None:  # type: ignore[no-untyped-def]
    d = egql("""{ grids(first: 1) { nodes { code zone { code } } } }""")
    g = d["grids"]["nodes"][0]
    r = egql("""mutation($g: [String!]!, $z: String!) { reassignGrids(grids: $g, toZone: $z, dryRun: true) {
        ... on EditSuccess { impact { warnings { code message units details } } } } }""",
             {"g": [g["code"]], "z": g["zone"]["code"]})
    (w,) = r["reassignGrids"]["impact"]["warnings"]
    assert w["code"] == "NO_CHANGE" and w["message"] and w["units"] == [] and w["details"] == {}
