"""The invariants of DESIGN §2, checked in PostGIS. An empty list means they all hold."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from sqlalchemy import Connection

AREA_TOLERANCE_M2 = 0.01


def _statements() -> dict[str, str]:
    text = resources.files("jurisgrid").joinpath("sql/invariants.sql").read_text()
    out: dict[str, str] = {}
    for block in text.split("-- name: ")[1:]:
        name, _, body = block.partition("\n")
        out[name.strip()] = body.strip().rstrip(";")
    return out


STATEMENTS = _statements()


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
