"""``jurisgrid db partitions``: the county and month partitions of the point tables (issue 17
item 3; migration 0017, models/partitions.py) — made where missing, for a bureau to run
unattended (cron, a systemd timer): a county's partitions are made when the county is created
and the writers make the months they write, so this finds work only after a writer that did not
(raw SQL, an operator's psql) or a restore. ``--drop-before YYYY-MM`` is the retention: the
incidents of older months go, with their partitions."""

from __future__ import annotations

import typer
from rich.table import Table

from jurisgrid.cli.console import engine as _engine
from jurisgrid.cli.console import out
from jurisgrid.models.partitions import drop_incident_months, partitions, split_incident_months


def db_partitions(
    show: bool = typer.Option(False, "--list", help="list every partition with its rows (estimated)"),
    drop_before: str | None = typer.Option(
        None, "--drop-before", metavar="YYYY-MM",
        help="retention: drop the incidents of every local month before this one, and their partitions"),
) -> None:
    """Make the missing county partitions and the month partitions of incidents that sit in a
    county's DEFAULT month partition (the rows move there); print what was made. With
    ``--drop-before``, first drop the months before that one (roll-ups and tiles follow)."""
    with _engine().begin() as conn:
        dropped = drop_incident_months(conn, drop_before) if drop_before else []
        counties = int(conn.exec_driver_sql(
            "SELECT coalesce(sum(jg_county_partitions(code)), 0) FROM county").scalar_one())
        months = split_incident_months(conn)
        rows = partitions(conn)
    for name, n in dropped:
        out.print(f"dropped {name}: {n} incidents")
    out.print(f"county partitions made: {counties}; month partitions made: {months}; "
              f"partitions: {len(rows)}")
    if show:
        table = Table("partition", "of", "bound", "rows (est.)")
        for r in rows:
            table.add_row(r["name"], r["table"], r["bound"] or "", "" if r["partitioned"] else str(r["rows"]))
        out.print(table)
