"""Reads of address points and incidents that name no county read only the partitions their
filters allow (issue 17 item 3; models/point_scope.py) — with the same answers.

One throwaway database for the module: the small demo county (511725) and a second county
(511799, east of it, with no grids) holding a few points of its own — one whose code names no
county and one whose code names the wrong one — and a point in no county (the DEFAULT
partition). For each changed read: its answer equals an independent, unpruned query's (or
Shapely's), and EXPLAIN of the statement the code actually sends reads only the expected
partitions (captured with a cursor event).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import shapely
from sqlalchemy import Connection, Engine, event

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import NotFound
from jurisgrid.gql.loaders import Loaders
from jurisgrid.models import aggregate_lists, listing, point_scope
from jurisgrid.models import geometry as geometry_q
from jurisgrid.models import rows as rows_q
from jurisgrid.models.json_lists import Geo, Shape, page_json
from jurisgrid.models.listing import ListFilter, Window
from jurisgrid.models.source import LIVE
from jurisgrid.ogc import partitions as ogc_parts
from jurisgrid.tiles import features as fx
from tests.conftest import _server_url
from tests.dbs import seeded_database
from tests.scale.explain import relations_read

ADMIN = Principal(actor="test-admin", role=Role.ADMIN, station_code=None)
DEMO = "511725"
NEW = "511799"
NEW_SQUARE = [[107.40, 30.80], [107.50, 30.80], [107.50, 30.90], [107.40, 30.90], [107.40, 30.80]]
NEW_BOX = (107.41, 30.81, 107.49, 30.89)
NOWHERE = (100.0, 20.0)  # in no county: the DEFAULT partition
# the points added in the second county: a code under it, one under no county, one under the
# demo county (a wrong guess: found by the fallback)
NEW_CODES = [f"{NEW}001001000001", "PT-NO-COUNTY-1", f"{DEMO}999999999999"]


@pytest.fixture(scope="module")
def db(demo: Any) -> Iterator[Engine]:
    server, _ = _server_url()
    with seeded_database(server, "jurisgrid_test_prune", demo, pool_size=2) as eng:
        run_edit(eng, "createCounty", {"code": NEW, "name": "新县", "geometry": {
            "type": "Polygon", "coordinates": [NEW_SQUARE]}}, principal=ADMIN, settings=EditSettings())
        with eng.begin() as conn:
            for k, code in enumerate(NEW_CODES):  # no county_code given: the trigger rehomes them
                conn.exec_driver_sql(
                    "INSERT INTO address_point (code, address, households, population, houses, units, "
                    "geom) VALUES (%(c)s, '新县路', 1, 3, 1, 1, "
                    "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326))",
                    {"c": code, "x": 107.42 + 0.02 * k, "y": 30.85})
                conn.exec_driver_sql(
                    "INSERT INTO incident (code, category, occurred_at, geom) VALUES (%(c)s, 'FIRE', "
                    "'2026-05-01T10:00+08:00', ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326))",
                    {"c": f"JQ{code}", "x": 107.43 + 0.02 * k, "y": 30.84})
            conn.exec_driver_sql(
                "INSERT INTO address_point (code, address, households, population, houses, units, geom) "
                "VALUES ('PT-NOWHERE', '无', 0, 0, 0, 0, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326))",
                {"x": NOWHERE[0], "y": NOWHERE[1]})
            conn.exec_driver_sql("ANALYZE address_point; ANALYZE incident")
        yield eng


def _sent(conn: Connection, fn: Callable[..., Any], *args: Any,
          **kw: Any) -> tuple[Any, list[tuple[str, Any]]]:
    """``fn(conn, *args, **kw)``'s answer and the statements it sent on ``conn`` that read a
    point table."""
    sent: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if "address_point" in statement or "incident" in statement:
            sent.append((statement, params))

    event.listen(conn, "before_cursor_execute", grab)
    try:
        return fn(conn, *args, **kw), sent
    finally:
        event.remove(conn, "before_cursor_execute", grab)


def _read(conn: Connection, statement: str, params: Any) -> set[str]:
    """The point partitions EXPLAIN says ``statement`` reads."""
    rels = relations_read(conn, statement, params)
    return {r for r in rels if r.startswith(("address_point", "incident"))}


def _in_county(rels: set[str], table: str, counties: set[str]) -> bool:
    """Something is read, and every partition read is of ``table`` and of one of ``counties``
    ('' the DEFAULT partition)."""
    allowed = tuple(f"{table}_{c}" if c else f"{table}_default" for c in counties)
    return bool(rels) and all(any(r == a or r.startswith(a + "_") for a in allowed) for r in rels)


def _points(conn: Connection, table: str) -> list[tuple[str, shapely.Point]]:
    return [(c, shapely.Point(x, y)) for c, x, y in conn.exec_driver_sql(
        f"SELECT code, ST_X(geom), ST_Y(geom) FROM {table}")]


def _demo_box(conn: Connection) -> tuple[float, float, float, float]:
    x, y = conn.exec_driver_sql(f"SELECT ST_X(geom), ST_Y(geom) FROM address_point_{DEMO} "
                                "ORDER BY code LIMIT 1 OFFSET 7").one()
    return (x - 0.01, y - 0.01, x + 0.01, y + 0.01)


@pytest.mark.parametrize("table", ["address_point", "incident"])
def test_a_box_reads_the_counties_it_meets(db: Engine, table: str) -> None:
    """Lists, counts and aggregates in a box: Shapely's points of the box, from the partitions
    of the counties whose reach meets it and the DEFAULT."""
    with db.connect() as conn:
        everything = _points(conn, table)
        boxes = {"demo": (_demo_box(conn), {DEMO, ""}), "new": (NEW_BOX, {NEW, ""}),
                 "both": ((106.0, 30.0, 108.0, 32.0), {DEMO, NEW, ""}),
                 "nowhere": ((99.9, 19.9, 100.1, 20.1), {""})}
        for name, (box, counties) in boxes.items():
            env = shapely.box(*box)
            want = sorted(c for c, p in everything if env.intersects(p))
            f = ListFilter(bbox=box)
            page, sent = _sent(conn, listing.page, LIVE, table, f, first=100_000)
            assert sorted(r["code"] for r in page) == want, name
            assert len(sent) == 1 and _in_county(_read(conn, *sent[0]), table, counties), name
            n, sent = _sent(conn, listing.count, LIVE, table, f)
            assert n == len(want) and _in_county(_read(conn, *sent[0]), table, counties), name
            wanted = frozenset({"population"} if table == "address_point" else ())
            agg, sent = _sent(conn, aggregate_lists.aggregate, LIVE, table, f, None, wanted)
            assert agg[0]["count"] == len(want), name
            assert _in_county(_read(conn, *sent[-1]), table, counties), name


def test_a_box_read_again_unpruned_when_the_version_moved_meanwhile(db: Engine) -> None:
    """An edit committed between the reaches' snapshot and the read (here: the version bumped
    right after the pruned statement) could have grown a county's reach: the read is made
    again over every partition, and the answer is the full one."""
    with db.connect() as conn:
        box = _demo_box(conn)
        env = shapely.box(*box)
        want = sorted(c for c, p in _points(conn, "address_point") if env.intersects(p))
        bumped: list[str] = []

        def bump(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            if "address_point" in statement and not bumped:
                with db.begin() as other:
                    other.exec_driver_sql("UPDATE data_version SET version = version + 1")
                bumped.append(statement)

        event.listen(conn, "after_cursor_execute", bump)
        try:
            page, sent = _sent(conn, listing.page, LIVE, "address_point", ListFilter(bbox=box),
                               first=100_000)
        finally:
            event.remove(conn, "after_cursor_execute", bump)
        assert sorted(r["code"] for r in page) == want and len(sent) == 2
        assert _in_county(_read(conn, *sent[0]), "address_point", {DEMO, ""})
        assert f"address_point_{NEW}" in _read(conn, *sent[1])  # every partition


def test_intersects_and_within_read_their_county(db: Engine) -> None:
    with db.connect() as conn:
        box = _demo_box(conn)
        x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        shape = shapely.Point(x, y).buffer(0.008)
        f = ListFilter(intersects=shape)
        page, sent = _sent(conn, listing.page, LIVE, "address_point", f, first=100_000)
        want = sorted(c for c, p in _points(conn, "address_point") if shape.intersects(p))
        assert want and sorted(r["code"] for r in page) == want
        assert _in_county(_read(conn, *sent[0]), "address_point", {DEMO, ""})
        f = ListFilter(within=(x, y, 600.0))
        page, sent = _sent(conn, listing.page, LIVE, "address_point", f, first=100_000)
        unpruned = sorted(c for (c,) in conn.exec_driver_sql(
            "SELECT code FROM address_point WHERE ST_DWithin(geom::geography, "
            "ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography, 600)", {"x": x, "y": y}))
        assert unpruned and sorted(r["code"] for r in page) == unpruned
        assert _in_county(_read(conn, *sent[0]), "address_point", {DEMO, ""})


def test_a_json_page_in_a_box_reads_its_county(db: Engine) -> None:
    """The one-statement JSON page (models/json_lists.py) keeps one SQL text per structure:
    the partitions are part of it, so a box in another county is not answered from the first
    box's partitions."""
    shape = Shape("address_point", (("nodes", "nodes", (
        ("code", "col", "code"), ("location", "geo", Geo("geom", 0.0, 6)))),
        ("totalCount", "totalCount", None)))
    with db.connect() as conn:
        everything = _points(conn, "address_point")
        for box, counties in ((_demo_box(conn), {DEMO, ""}), (NEW_BOX, {NEW, ""})):
            env = shapely.box(*box)
            want = sorted(c for c, p in everything if env.intersects(p))
            out, sent = _sent(conn, page_json, LIVE, "address_point", ListFilter(bbox=box),
                              Window(size=10_000), shape)
            doc = json.loads(out)
            assert sorted(n["code"] for n in doc["nodes"]) == want and doc["totalCount"] == len(want)
            assert _in_county(_read(conn, *sent[0]), "address_point", counties)


@pytest.mark.parametrize("table", ["address_point", "incident"])
def test_points_of_grids_read_their_county(db: Engine, table: str) -> None:
    """The DataLoader batch of a grid's first points (models/rows.py points_by_grid), and a
    list of one grid's points: the same rows as the unpruned SQL, from the grids' county."""
    with db.connect() as conn:
        grids = [g for (g,) in conn.exec_driver_sql(
            f"SELECT grid_id FROM {table} WHERE grid_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC "
            "LIMIT 3")]
        got, sent = _sent(conn, rows_q.points_by_grid, LIVE, table, grids, first=5)
        for g in grids:
            want = [c for (c,) in conn.exec_driver_sql(
                f"SELECT code FROM {table} WHERE grid_id = %(g)s ORDER BY code LIMIT 5", {"g": g})]
            assert want and [r["code"] for r in got[g]] == want
        assert _in_county(_read(conn, *sent[0]), table, {DEMO})
        code = conn.exec_driver_sql("SELECT code FROM grid WHERE id = %(g)s", {"g": grids[0]}).scalar_one()
        f = ListFilter(parents={"grid_id": ("grid", code)})
        page, sent = _sent(conn, listing.page, LIVE, table, f, first=100_000)
        want = sorted(c for (c,) in conn.exec_driver_sql(
            f"SELECT code FROM {table} WHERE grid_id = %(g)s", {"g": grids[0]}))
        assert sorted(r["code"] for r in page) == want
        assert _in_county(_read(conn, *sent[0]), table, {DEMO})
        # a grid code that does not exist: no pruning, and no rows
        f = ListFilter(parents={"grid_id": ("grid", "no such grid")})
        assert listing.page(conn, LIVE, table, f, first=10) == []


@pytest.mark.parametrize("table", ["address_point", "incident"])
def test_by_code_tries_the_county_the_code_names_then_everywhere(db: Engine, table: str) -> None:
    """Codes of both counties — under their county, under none, under the wrong one — and a
    code that does not exist: the unpruned answer; the first statement reads the guessed
    counties' partitions only."""
    with db.connect() as conn:
        demo_codes = [c for (c,) in conn.exec_driver_sql(
            f"SELECT code FROM {table}_{DEMO} ORDER BY code LIMIT 3")]
        prefix = "JQ" if table == "incident" else ""
        codes = [*demo_codes, *(prefix + c for c in NEW_CODES), "NO-SUCH-CODE"]
        got, sent = _sent(conn, rows_q.rows_by_codes, LIVE, table, codes)
        want = {r["code"]: dict(r) for r in conn.exec_driver_sql(
            f"SELECT * FROM {table} WHERE code = ANY(%(c)s)", {"c": codes}).mappings()}
        assert set(got) == set(want) == set(codes) - {"NO-SUCH-CODE"}
        for c in got:
            assert got[c]["id"] == want[c]["id"] and got[c]["county_code"] == want[c]["county_code"]
        assert want[prefix + NEW_CODES[2]]["county_code"] == NEW  # named the demo county: the fallback
        assert _in_county(_read(conn, *sent[0]), table, {DEMO, NEW})
        assert len(sent) == 2  # the codes not in their guessed county, looked for everywhere
        only_demo, sent = _sent(conn, rows_q.rows_by_codes, LIVE, table, demo_codes)
        assert set(only_demo) == set(demo_codes) and len(sent) == 1
        assert _in_county(_read(conn, *sent[0]), table, {DEMO})


def test_ogc_point_items_read_their_partitions(db: Engine) -> None:
    """OGC items in a bbox, of one county, and one by id: tiles/features.py's answer (its
    unpruned SQL), from the partitions allowed."""
    with db.connect() as conn:
        for cid, table in (("addresses", "address_point"), ("incidents", "incident")):
            c = fx.get_collection(cid)
            for box, counties in ((_demo_box(conn), {DEMO, ""}), (NEW_BOX, {NEW, ""})):
                q = fx.ItemQuery(bbox=box, limit=10_000)
                got, sent = _sent(conn, ogc_parts.items, c, q, None)
                assert got == fx.items(conn, c, q) and got[1] > 0
                assert all(_in_county(_read(conn, s, p), table, counties) for s, p in sent)
            q = fx.ItemQuery(limit=10_000, conditions=("x.county_code = :cs",), params={"cs": DEMO})
            got, sent = _sent(conn, ogc_parts.items, c, q, DEMO)
            assert got == fx.items(conn, c, q) and got[1] > 0
            assert all(_in_county(_read(conn, s, p), table, {DEMO}) for s, p in sent)
            demo_code = conn.exec_driver_sql(
                f"SELECT code FROM {table}_{DEMO} ORDER BY code LIMIT 1").scalar_one()
            got1, sent = _sent(conn, ogc_parts.item, c, demo_code, None)
            assert got1 == fx.item(conn, c, demo_code) and len(sent) == 1
            assert _in_county(_read(conn, *sent[0]), table, {DEMO})
            prefix = "JQ" if table == "incident" else ""
            for code in (prefix + NEW_CODES[1], prefix + NEW_CODES[2]):  # no county named, a wrong one
                assert ogc_parts.item(conn, c, code, None) == fx.item(conn, c, code)
            with pytest.raises(NotFound):
                ogc_parts.item(conn, c, prefix + NEW_CODES[0], DEMO)  # of another county


def test_the_snapshot_follows_the_data_version(db: Engine) -> None:
    """A county created after a snapshot is in the next one (its reach, its code)."""
    with db.connect() as conn:
        before = point_scope.snapshot(conn)
    run_edit(db, "createCounty", {"code": "511798", "name": "又一县", "geometry": {
        "type": "Polygon", "coordinates": [[[107.6, 30.8], [107.7, 30.8], [107.7, 30.9], [107.6, 30.9],
                                            [107.6, 30.8]]]}}, principal=ADMIN, settings=EditSettings())
    with db.connect() as conn:
        after = point_scope.snapshot(conn)
    assert "511798" not in before.counties and "511798" in after.counties
    assert after.counties_in_box(107.65, 30.85, 107.66, 30.86) == ("", "511798")


@pytest.mark.parametrize("table", ["address_point", "incident"])
def test_geometry_by_id_reads_the_partitions_of_the_rows_held(db: Engine, table: str) -> None:
    """A node's geometry by id (models/geometry.py fetch_wkb), with the counties of the rows
    the request holds (gql/loaders.py): from those partitions, and an id not there (a wrong
    county) still found everywhere."""
    with db.connect() as conn:
        rows = [dict(r) for r in conn.exec_driver_sql(
            f"SELECT id, county_code FROM {table} ORDER BY code LIMIT 4").mappings()]
        ids = [r["id"] for r in rows]
        want = {i: bytes(w) for i, w in conn.exec_driver_sql(
            f"SELECT id, ST_AsBinary(geom) FROM {table} WHERE id = ANY(%(i)s)", {"i": ids})}
        got, sent = _sent(conn, geometry_q.fetch_wkb, LIVE, table, "geom", ids,
                          counties=[DEMO])
        assert got == want and len(sent) == 1
        assert _in_county(_read(conn, *sent[0]), table, {DEMO})
        new_id = conn.exec_driver_sql(f"SELECT id FROM {table} WHERE county_code = %(c)s LIMIT 1",
                                      {"c": NEW}).scalar_one()
        got, sent = _sent(conn, geometry_q.fetch_wkb, LIVE, table, "geom", [new_id], counties=[DEMO])
        assert list(got) == [new_id] and len(sent) == 2  # not in the demo county: looked for everywhere
    loaders = Loaders(db=None)  # type: ignore[arg-type]  # no query: the hint only
    assert loaders._counties(table, ids) is None  # rows not held: no hint
    for r in rows:
        loaders.prime(table, r)
    assert loaders._counties(table, ids) == sorted({r["county_code"] for r in rows})
    assert loaders._counties("grid", ids) is None
