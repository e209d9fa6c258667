"""Address points and incidents partitioned by county (issue 17 item 3; docs/design.md, "Scale").

- both tables gain ``county_code`` (the county of the point's grid, else of the county outline
  holding it, else '' — no county) and become ``PARTITION BY LIST (county_code)``: one partition
  per county (``address_point_<code>``, ``incident_<code>``) and a DEFAULT partition;
- ``incident_<code>`` is itself ``PARTITION BY RANGE (occurred_at)``, one partition per local
  calendar month of the county (``incident_<code>_<yyyymm>``) and a DEFAULT for months not made
  yet (``jg_incident_months()`` makes them; ``jurisgrid db partitions`` runs it unattended);
- a county row inserted makes its partitions (trigger ``county_partitions``);
- keys include the partition key, as PostgreSQL requires: ``address_point`` PRIMARY KEY
  ``(id, county_code)`` and UNIQUE ``(code, county_code)``; ``incident`` the same with
  ``occurred_at``. Ids keep their values and sequences; codes stay unique because every writer
  matches by code (editing/validation.py refuses a taken code; imports update by code);
- the indexes and triggers of each table are carried over as they are in the database (the
  membership trigger's function becomes ``jg_set_point``, which also keeps the county current).

The data is copied: upgrade and downgrade each rewrite both tables once.

Revision ID: 0017
"""

from importlib import resources

from alembic import op
from sqlalchemy import Connection

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_COLUMNS = {
    "address_point": """
    id          bigint NOT NULL DEFAULT nextval('address_point_id_seq'::regclass),
    code        text NOT NULL,
    address     text NOT NULL,
    households  integer NOT NULL CHECK (households >= 0),
    population  integer NOT NULL CHECK (population >= 0),
    houses      integer NOT NULL CHECK (houses >= 0),
    units       integer NOT NULL CHECK (units >= 0),
    grid_id     integer REFERENCES grid(id),
    geom        geometry(Point, 4326) NOT NULL""",
    "incident": """
    id          bigint NOT NULL DEFAULT nextval('incident_id_seq'::regclass),
    code        text NOT NULL,
    category    text NOT NULL REFERENCES incident_category(code),
    occurred_at timestamptz NOT NULL,
    grid_id     integer REFERENCES grid(id),
    geom        geometry(Point, 4326) NOT NULL""",
}
_DATA = {
    "address_point": "id, code, address, households, population, houses, units, grid_id, geom",
    "incident": "id, code, category, occurred_at, grid_id, geom",
}
_KEYS = {"address_point": "county_code", "incident": "county_code, occurred_at"}
_FUNCTIONS = ("jg_stage_incident_months(text)", "jg_incident_months(text)",
              "jg_incident_month(text, timestamptz)", "jg_county_created()",
              "jg_county_partitions(text)", "jg_add_partition(text, text, text, text, text, text, text)",
              "jg_point_county(integer, geometry)", "jg_outline_county(geometry)", "jg_grid_county()",
              "jg_set_point()", "jg_rehome_point()")


def _carried(conn: Connection, table: str) -> tuple[list[str], list[str]]:
    """The table's own triggers and its indexes that back no constraint, as DDL."""
    triggers = [d for (d,) in conn.exec_driver_sql(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %(t)s::regclass "
        "AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname", {"t": table})]
    indexes = [d.replace(" ON ONLY ", " ON ") for (d,) in conn.exec_driver_sql(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = %(t)s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY i.indexrelid", {"t": table})]
    return triggers, indexes


def _set_aside(conn: Connection, table: str) -> str:
    """Rename ``table`` and its indexes out of the way; free its id sequence."""
    old = f"{table}_old"
    for (name,) in conn.exec_driver_sql(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %(t)s::regclass", {"t": table}).all():
        conn.exec_driver_sql(f'ALTER INDEX "{name}" RENAME TO "{name[:50]}_old"')
    conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {old}")
    conn.exec_driver_sql(f"ALTER TABLE {old} ALTER COLUMN id DROP DEFAULT")
    conn.exec_driver_sql(f"ALTER SEQUENCE {table}_id_seq OWNED BY NONE")
    return old


def _finish(conn: Connection, table: str, old: str, triggers: list[str], indexes: list[str],
            swap: tuple[str, str]) -> None:
    for ddl in indexes:
        conn.exec_driver_sql(ddl)
    for ddl in triggers:
        conn.exec_driver_sql(ddl.replace(f"EXECUTE FUNCTION {swap[0]}()", f"EXECUTE FUNCTION {swap[1]}()"))
    conn.exec_driver_sql(f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id")
    conn.exec_driver_sql(f"DROP TABLE {old} CASCADE")
    conn.exec_driver_sql(f"ANALYZE {table}")


def upgrade() -> None:
    conn = op.get_bind()
    sql = resources.files("jurisgrid.migrations").joinpath("versions/0017_partition_points.sql").read_text()
    op.execute(sql)
    carried = {t: _carried(conn, t) for t in _DATA}
    olds = {t: _set_aside(conn, t) for t in _DATA}
    for t in _DATA:
        conn.exec_driver_sql(
            f"CREATE TABLE {t} ({_COLUMNS[t]},\n    county_code text NOT NULL DEFAULT '',\n"
            f"    PRIMARY KEY (id, {_KEYS[t]}), UNIQUE (code, {_KEYS[t]})) PARTITION BY LIST (county_code)")
        conn.exec_driver_sql(f"CREATE TABLE {t}_default PARTITION OF {t} DEFAULT")
        conn.exec_driver_sql(f"CREATE TRIGGER {t}_rehome AFTER INSERT ON {t}_default "
                             f"FOR EACH ROW EXECUTE FUNCTION jg_rehome_point('{t}')")
    conn.exec_driver_sql("SELECT jg_county_partitions(code) FROM county ORDER BY code")
    for t in _DATA:
        old = olds[t]
        when = "occurred_at" if t == "incident" else "NULL::timestamptz AS occurred_at"
        conn.exec_driver_sql(  # each row's county: of its grid, else of the outline holding it
            f"CREATE TEMP TABLE jg_conv ON COMMIT DROP AS SELECT o.id, o.occurred_at, "
            f"coalesce(gc.county_code, jg_outline_county(o.geom)) AS county_code FROM "
            f"(SELECT id, grid_id, geom, {when} FROM {old}) o "
            f"LEFT JOIN jg_grid_county() gc ON gc.grid_id = o.grid_id")
        if t == "incident":  # the month partitions, before the rows
            conn.exec_driver_sql("SELECT jg_stage_incident_months('jg_conv')")
        cols = ", ".join(f"o.{c.strip()}" for c in _DATA[t].split(","))
        conn.exec_driver_sql(f"INSERT INTO {t} ({_DATA[t]}, county_code) SELECT {cols}, k.county_code "
                             f"FROM {old} o JOIN jg_conv k ON k.id = o.id")
        conn.exec_driver_sql("DROP TABLE jg_conv")
        triggers, indexes = carried[t]
        _finish(conn, t, old, triggers, indexes, ("jg_set_grid", "jg_set_point"))


def downgrade() -> None:
    conn = op.get_bind()
    carried = {t: _carried(conn, t) for t in _DATA}
    olds = {t: _set_aside(conn, t) for t in _DATA}
    for t in _DATA:
        conn.exec_driver_sql(f"CREATE TABLE {t} ({_COLUMNS[t]},\n    PRIMARY KEY (id), UNIQUE (code))")
        conn.exec_driver_sql(f"INSERT INTO {t} ({_DATA[t]}) SELECT {_DATA[t]} FROM {olds[t]}")
        triggers, indexes = carried[t]
        _finish(conn, t, olds[t], triggers, indexes, ("jg_set_point", "jg_set_grid"))
    conn.exec_driver_sql("DROP TRIGGER county_partitions ON county")
    conn.exec_driver_sql(f"DROP FUNCTION {', '.join(_FUNCTIONS)}")
