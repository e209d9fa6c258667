"""The invariants (docs/design.md, Invariants), checked in PostGIS. An empty list means they all hold."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from jurisgrid.models.sqlfiles import named_statements

AREA_TOLERANCE_M2 = 0.01


STATEMENTS = named_statements("invariants.sql")


@dataclass(frozen=True)
class Violation:
    invariant: str
    subject: str
    detail: str


def check_invariants(conn: Connection, *, tol_m2: float = AREA_TOLERANCE_M2) -> list[Violation]:
    out: list[Violation] = []
    params = {"tol": tol_m2}
    gap, outside, overlap = conn.exec_driver_sql(STATEMENTS["coverage_gap_overlap"]).one()
    if gap > tol_m2:
        out.append(Violation("coverage", "county", f"gap of {gap:.4f} m² not covered by grids"))
    if outside > tol_m2:
        out.append(Violation("coverage", "county", f"{outside:.4f} m² of grids outside the county"))
    if overlap > tol_m2:
        out.append(Violation("coverage", "grids", f"grids overlap by {overlap:.4f} m²"))
    for name, inv in (("zone_outline_drift", "nesting"), ("station_outline_drift", "nesting"),
                      ("grid_outside_community", "nesting")):
        for code, m2 in conn.exec_driver_sql(STATEMENTS[name], params):
            out.append(Violation(inv, code, f"{name.replace('_', ' ')}: {m2:.4f} m²"))
    for kind, code in conn.exec_driver_sql(STATEMENTS["membership_stale"]):
        out.append(Violation("membership", code, f"{kind} has a stale or missing grid"))
    return out
