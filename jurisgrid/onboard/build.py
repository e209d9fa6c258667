"""From the tables read to a :class:`~jurisgrid.onboard.plan.Plan`: validation, derivation, repair.

Pure (no database). Every problem of every feature is collected as a :class:`Bad` — the caller
writes nothing when there is one. What is missing is derived by stated rules, each noted in
the report:

- counties: from the county file; else the union of the townships, one county per 6-digit code
  prefix (or the manifest's ``[county]``);
- townships from communities (9-digit prefix), communities from grids (12-digit prefix), when
  their files are missing;
- sectors: one per county when there is no sector file;
- zones: from a zone file (polygons, or a list with a grid→zone table or the grids' zone
  column); else one zone per station polygon;
- grids: from a grid file; else the pieces of community ∩ zone, coded community + 3 digits.

Parents are found by column (code, or name), else by code prefix, else by largest overlap.
Topology is repaired by :func:`jurisgrid.geo.topology.repair_coverage` — townships,
communities and zone polygons against the county outline, each community's grids against the
community (so grids tile their community and the county) — or, with ``strict``, refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import shapely

from jurisgrid.onboard.admin import build_counties_townships_communities
from jurisgrid.onboard.derive import Context, outlines_from_grids
from jurisgrid.onboard.manifest import Manifest
from jurisgrid.onboard.personnel import build_persons
from jurisgrid.onboard.plan import (
    Plan,
    Report,
)
from jurisgrid.onboard.points import build_addresses, build_incidents
from jurisgrid.onboard.policing import build_grids, build_sectors, build_stations, build_zones
from jurisgrid.onboard.readers import Table


def build(
    tables: dict[str, Table],
    manifest: Manifest,
    *,
    categories: dict[str, str],
    tolerance_m: float,
    strict: bool,
    report: Report,
    now: datetime,
    step: Callable[[str], None] = lambda s: None,
) -> Plan:
    """Validate and derive everything; problems go to ``report.bad``."""
    ctx = Context(report, manifest, tolerance_m, strict, categories, now)
    plan = Plan(time_zone=manifest.time_zone)
    for t in tables.values():
        for p in t.problems:
            ctx.bad(t, p.index, p.reason, p.field, p.code)
    step("administrative units")
    build_counties_townships_communities(ctx, tables, plan)
    if not plan.counties:
        return plan
    step("policing units")
    build_sectors(ctx, tables, plan)
    build_stations(ctx, tables, plan)
    build_zones(ctx, tables, plan)
    step("grids")
    build_grids(ctx, tables, plan)
    if "counties" not in tables:
        outlines_from_grids(plan)
    step("points and personnel")
    outline = shapely.union_all([c.geom for c in plan.counties])
    shapely.prepare(outline)
    if "addresses" in tables:
        build_addresses(ctx, tables["addresses"], plan, outline)
    if "incidents" in tables:
        build_incidents(ctx, tables["incidents"], plan, outline)
    build_persons(ctx, tables, plan)
    return plan


