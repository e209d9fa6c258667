"""Address points and incidents partitioned by county, incidents by month too (issue 17 item 3;
migration 0017, models/partitions.py).

One throwaway database for the module, seeded with the small demo county: the edits here
commit (a second county, incidents of new months), and the last test takes the database down
to 0016 and back up to check the conversion both ways on that data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import shapely
from alembic import command
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError

from jurisgrid.auth.principal import Principal, Role
from jurisgrid.config import EditSettings
from jurisgrid.editing.runner import run_edit
from jurisgrid.errors import InvalidInput, RuleViolation
from jurisgrid.models import partitions as parts
from jurisgrid.models.county_scope import condition
from jurisgrid.models.migrate import alembic_config, upgrade
from jurisgrid.models.source import LIVE
from jurisgrid.models.tables import address_point, incident
from tests.conftest import _server_url
from tests.dbs import seeded_database
from tests.scale.explain import relations_read

ADMIN = Principal(actor="test-admin", role=Role.ADMIN, station_code=None)
DEMO = "511725"
NEW = "511799"  # a second county, east of the demo county's outline (106.67–107.27° E)
NEW_SQUARE = [[107.40, 30.80], [107.50, 30.80], [107.50, 30.90], [107.40, 30.90], [107.40, 30.80]]


@pytest.fixture(scope="module")
def db(demo: Any) -> Iterator[Engine]:
    server, _ = _server_url()
    with seeded_database(server, "jurisgrid_test_parts", demo, pool_size=4) as eng:
        yield eng


def _edit(engine: Engine, op: str, args: dict[str, Any]) -> None:
    run_edit(engine, op, args, principal=ADMIN, settings=EditSettings())


def _explain(conn: Connection, sql: str, params: dict[str, Any] | None = None) -> set[str]:
    return relations_read(conn, sql, params)


def _partition_of(conn: Connection, table: str, code: str) -> str:
    return str(conn.exec_driver_sql(f"SELECT tableoid::regclass::text FROM {table} WHERE code = %(c)s",
                                    {"c": code}).scalar_one())


def test_a_partition_per_county_and_a_default(db: Engine) -> None:
    with db.connect() as conn:
        rows = {p["name"]: p for p in parts.partitions(conn)}
    assert {"address_point_default", "incident_default", f"address_point_{DEMO}",
            f"incident_{DEMO}", f"incident_{DEMO}_default"} <= set(rows)
    assert rows[f"incident_{DEMO}"]["partitioned"] and not rows[f"address_point_{DEMO}"]["partitioned"]
    assert rows[f"address_point_{DEMO}"]["bound"] == f"FOR VALUES IN ('{DEMO}')"


def test_every_row_is_in_its_county_and_month(db: Engine) -> None:
    """The county of each point, from the county and grid outlines in Shapely (the oracle), is
    its county_code and its partition; an incident's partition is its local month's."""
    with db.connect() as conn:
        counties = [(c, shapely.from_wkb(bytes(g)).buffer(1e-7), tz) for c, g, tz in conn.exec_driver_sql(
            "SELECT code, ST_AsBinary(geom), time_zone FROM county ORDER BY code")]
        for _, g, _ in counties:
            shapely.prepare(g)
        for table in ("address_point", "incident"):
            extra = ", occurred_at" if table == "incident" else ""
            rows = conn.exec_driver_sql(
                f"SELECT code, county_code, tableoid::regclass::text, ST_X(geom), ST_Y(geom){extra} "
                f"FROM {table}").all()
            assert rows
            pts = shapely.points([r[3] for r in rows], [r[4] for r in rows])
            covered = {c: shapely.covers(g, pts) for c, g, _ in counties}  # within 1e-7°, as the rule
            for k, r in enumerate(rows):
                inside = [c for c, _, _ in counties if covered[c][k]]
                assert r.county_code == (inside[0] if inside else ""), r.code
                if table == "address_point":
                    assert r[2] == f"address_point_{r.county_code}"
                else:
                    tz = ZoneInfo(next(z for c, _, z in counties if c == r.county_code))
                    assert r[2] == f"incident_{r.county_code}_{r.occurred_at.astimezone(tz):%Y%m}"
        # the grid's county, by the unit tables
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM address_point p JOIN jg_grid_county() gc ON gc.grid_id = p.grid_id "
            "WHERE gc.county_code <> p.county_code").scalar_one() == 0


def test_creating_a_county_creates_its_partitions(db: Engine) -> None:
    _edit(db, "createCounty", {"code": NEW, "name": "新县",
                               "geometry": {"type": "Polygon", "coordinates": [NEW_SQUARE]}})
    with db.connect() as conn:
        names = {p["name"] for p in parts.partitions(conn)}
    assert {f"address_point_{NEW}", f"incident_{NEW}", f"incident_{NEW}_default"} <= names


def test_county_scoped_queries_read_one_county(db: Engine) -> None:
    """EXPLAIN shows pruning: a county's points, the county filter of the lists
    (models/county_scope.py) and one county's month of incidents read only their partitions."""
    with db.connect() as conn:
        assert _explain(conn, "SELECT count(*) FROM address_point WHERE county_code = %(c)s",
                        {"c": DEMO}) == {f"address_point_{DEMO}"}
        q = select(address_point.c.id).where(condition(LIVE, "address_point", address_point, DEMO))
        compiled = q.compile(conn, compile_kwargs={"literal_binds": True})
        read = _explain(conn, str(compiled))
        assert {r for r in read if r.startswith("address_point")} == {f"address_point_{DEMO}"}
        qi = select(incident.c.id).where(condition(LIVE, "incident", incident, NEW))
        read = _explain(conn, str(qi.compile(conn, compile_kwargs={"literal_binds": True})))
        assert {r for r in read if r.startswith("incident")} == {f"incident_{NEW}_default"}
        month = _explain(conn, "SELECT category, count(*) FROM incident WHERE county_code = %(c)s "
                               "AND occurred_at >= '2026-03-01T00:00+08:00' "
                               "AND occurred_at < '2026-04-01T00:00+08:00' GROUP BY category",
                         {"c": DEMO})
        assert month == {f"incident_{DEMO}_202603"}


def test_an_incident_of_a_new_month_gets_its_partition(db: Engine) -> None:
    with db.connect() as conn:
        lon, lat = conn.exec_driver_sql(
            "SELECT ST_X(geom), ST_Y(geom) FROM address_point ORDER BY code LIMIT 1").one()
        assert conn.exec_driver_sql("SELECT to_regclass(%(n)s)",
                                    {"n": f"incident_{DEMO}_202703"}).scalar_one() is None
    _edit(db, "createIncident", {"code": "JQPART0001", "category": "FIRE",
                                 "occurredAt": "2027-03-31T23:30:00+08:00", "lon": lon, "lat": lat})
    with db.connect() as conn:
        # 23:30 on 31 March local is 15:30 UTC: the county's month, not UTC's
        assert _partition_of(conn, "incident", "JQPART0001") == f"incident_{DEMO}_202703"
        ident = conn.exec_driver_sql("SELECT id FROM incident WHERE code = 'JQPART0001'").scalar_one()
    # moved a month later: the row moves to a new month partition, keeping its id
    _edit(db, "updateIncident", {"code": "JQPART0001", "occurredAt": "2027-04-02T08:00:00+08:00"})
    with db.connect() as conn:
        assert _partition_of(conn, "incident", "JQPART0001") == f"incident_{DEMO}_202704"
        assert conn.exec_driver_sql("SELECT id FROM incident WHERE code = 'JQPART0001'").scalar_one() == ident
        assert conn.exec_driver_sql(f"SELECT count(*) FROM incident_{DEMO}_default").scalar_one() == 0


def test_writers_of_a_new_month_at_once(db: Engine) -> None:
    """Three writers insert incidents of the same new month, then each asks for its partition
    while the others hold their inserts (the createIncident order): none fails; one makes it,
    and a writer that gave way leaves its row in the DEFAULT for the maintenance to move."""
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with db.begin() as conn:
                conn.exec_driver_sql(  # each in a zone of its own: no roll-up row shared
                    "INSERT INTO incident (code, category, occurred_at, geom, county_code) SELECT "
                    "%(c)s, 'FIRE', '2029-06-15T12:00+08:00', p.geom, p.county_code "
                    "FROM address_point p JOIN grid g ON g.id = p.grid_id WHERE g.zone_id = "
                    "(SELECT DISTINCT zone_id FROM grid ORDER BY 1 OFFSET %(k)s LIMIT 1) LIMIT 1",
                    {"c": f"PART-AT-ONCE-{k}", "k": k})
                barrier.wait(timeout=30)
                parts.split_incident_months(conn, DEMO)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    like = {"p": "PART-AT-ONCE-%"}
    try:
        threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with db.begin() as conn:
            parts.split_incident_months(conn, DEMO)  # what a writer picked to give way left behind
            where = conn.exec_driver_sql("SELECT tableoid::regclass::text, count(*) FROM incident "
                                         "WHERE code LIKE %(p)s GROUP BY 1", like).all()
            assert [tuple(r) for r in where] == [(f"incident_{DEMO}_202906", 3)]
    finally:  # whatever failed above: the later tests (retention, downgrade) see none of these rows
        with db.begin() as conn:
            conn.exec_driver_sql("DELETE FROM incident WHERE code LIKE %(p)s", like)
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS incident_{DEMO}_202906")


def test_a_point_moved_into_another_county_moves_partition(db: Engine) -> None:
    """updateAddressPoint to a place in the second county (in no grid: its county is the
    outline's): the row moves to that county's partition with its id; revert brings it back."""
    with db.connect() as conn:
        code, ident = conn.exec_driver_sql(
            "SELECT code, id FROM address_point ORDER BY code LIMIT 1 OFFSET 1").one()
    _edit(db, "updateAddressPoint", {"code": code, "lon": 107.45, "lat": 30.85})
    with db.connect() as conn:
        row = conn.exec_driver_sql("SELECT id, county_code, grid_id, tableoid::regclass::text "
                                   "FROM address_point WHERE code = %(c)s", {"c": code}).one()
        assert tuple(row) == (ident, NEW, None, f"address_point_{NEW}")
        rev = conn.exec_driver_sql("SELECT max(id) FROM revision").scalar_one()
    _edit(db, "revert", {"revision": rev})
    with db.connect() as conn:
        row = conn.exec_driver_sql("SELECT id, county_code, tableoid::regclass::text FROM address_point "
                                   "WHERE code = %(c)s", {"c": code}).one()
        assert tuple(row) == (ident, DEMO, f"address_point_{DEMO}")


def test_a_writer_without_the_county_is_rehomed_and_a_wrong_one_refused(db: Engine) -> None:
    with db.connect() as conn:
        lon, lat = conn.exec_driver_sql(
            "SELECT ST_X(geom), ST_Y(geom) FROM address_point ORDER BY code LIMIT 1").one()
    point = "ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
    with db.begin() as conn:  # no county_code: the DEFAULT partition, then moved to its county's
        conn.execute(text(f"INSERT INTO address_point (code, address, households, population, houses, "
                          f"units, geom) VALUES ('PART-RAW', 'x', 1, 2, 1, 0, {point})"),
                     {"x": lon, "y": lat})
        assert _partition_of(conn, "address_point", "PART-RAW") == f"address_point_{DEMO}"
        conn.rollback()
    with db.begin() as conn, pytest.raises(DBAPIError, match="county_code '511799' given, but the point "
                                                               "lies in county '511725'"):
        conn.execute(text(f"INSERT INTO address_point (code, address, households, population, houses, "
                          f"units, geom, county_code) VALUES ('PART-BAD', 'x', 1, 2, 1, 0, {point}, "
                          f"'{NEW}')"), {"x": lon, "y": lat})


def test_maintenance_makes_the_months_a_raw_writer_left(db: Engine) -> None:
    """An incident written without county or month partition (raw SQL) lands in its county's
    DEFAULT month partition; ``jurisgrid db partitions`` (split_incident_months) moves it."""
    with db.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO incident (code, category, occurred_at, geom) SELECT 'PART-RAW-I', 'FIRE', "
            "'2028-05-05T10:00+08:00', geom FROM address_point WHERE county_code = %(c)s LIMIT 1",
            {"c": DEMO})
        assert _partition_of(conn, "incident", "PART-RAW-I") == f"incident_{DEMO}_default"
        assert parts.split_incident_months(conn) == 1
        assert parts.split_incident_months(conn) == 0
        assert _partition_of(conn, "incident", "PART-RAW-I") == f"incident_{DEMO}_202805"
        conn.rollback()


def test_a_taken_code_is_refused_in_any_county(db: Engine) -> None:
    """The unique key includes the partition key, so the writers check codes themselves."""
    with db.connect() as conn:
        code = conn.exec_driver_sql("SELECT code FROM address_point ORDER BY code LIMIT 1").scalar_one()
    with pytest.raises(RuleViolation, match="already exists"):
        _edit(db, "createAddressPoint", {"code": code, "address": "x", "households": 1, "population": 1,
                                         "houses": 1, "units": 0, "lon": 107.45, "lat": 30.85})
    with db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM address_point WHERE code = %(c)s",
                                    {"c": code}).scalar_one() == 1


def test_retention_drops_a_month_and_the_roll_ups_follow(db: Engine) -> None:
    """drop_incident_months (``jurisgrid db partitions --drop-before``): the months before the
    cutoff go with their rows; the incident roll-up equals a rebuild from what is left."""
    rollup = "SELECT * FROM sizing_zone_incidents WHERE n <> 0 ORDER BY 1, 2, 3"  # 0: as absent
    with db.begin() as conn:
        first = conn.exec_driver_sql(f"SELECT count(*) FROM incident_{DEMO}_202512").scalar_one()
        total = conn.exec_driver_sql("SELECT count(*) FROM incident").scalar_one()
        assert first > 0
        assert parts.drop_incident_months(conn, "2026-01") == [(f"incident_{DEMO}_202512", first)]
        assert conn.exec_driver_sql("SELECT to_regclass(%(n)s)",
                                    {"n": f"incident_{DEMO}_202512"}).scalar_one() is None
        assert conn.exec_driver_sql("SELECT count(*) FROM incident").scalar_one() == total - first
        kept = conn.exec_driver_sql(rollup).all()
        conn.exec_driver_sql("SELECT jg_sizing_rebuild_incidents()")
        assert conn.exec_driver_sql(rollup).all() == kept
        conn.rollback()
    with db.connect() as conn, pytest.raises(InvalidInput, match="not a month"):
        parts.drop_incident_months(conn, "2026-13")


def test_downgrade_and_upgrade_keep_every_row(db: Engine) -> None:
    """0017 down to 0016 (plain tables) and up again on the data the tests above left: the same
    rows, ids, grids and roll-ups; every county's partitions back, and the months with data."""
    def snapshot() -> tuple[Any, ...]:
        with db.connect() as conn:
            return tuple(conn.exec_driver_sql(q).all() for q in (
                "SELECT id, code, grid_id, ST_AsText(geom), population FROM address_point ORDER BY id",
                "SELECT id, code, grid_id, occurred_at, category FROM incident ORDER BY id",
                "SELECT * FROM sizing_zone_incidents ORDER BY 1, 2, 3",
                "SELECT last_value FROM address_point_id_seq"))

    before = snapshot()
    cfg = alembic_config()
    with db.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016")
    with db.connect() as conn:
        kind = conn.exec_driver_sql("SELECT relkind FROM pg_class WHERE relname = 'incident'").scalar_one()
        assert kind == "r"
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_class WHERE relispartition").scalar_one() == 0
    assert snapshot() == before
    upgrade(db)
    assert snapshot() == before
    with db.connect() as conn:
        names = {p["name"] for p in parts.partitions(conn)}
        assert {f"address_point_{NEW}", f"incident_{NEW}", f"incident_{DEMO}_202704"} <= names
        assert f"incident_{DEMO}_202703" not in names  # emptied by the move: months with data only
        assert _partition_of(conn, "incident", "JQPART0001") == f"incident_{DEMO}_202704"
