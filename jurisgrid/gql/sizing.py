"""Root fields of sizing (issue 4): ``sizingPolicy``, ``sizingReport``, ``compliance``,
``balance``, ``analysisCells`` and the admin mutation ``updateSizingPolicy``. Thin: the work is
in jurisgrid/analytics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import shapely
import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from jurisgrid.analytics import cells as cells_a
from jurisgrid.analytics import compliance as compliance_a
from jurisgrid.analytics import report
from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Role
from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs
from jurisgrid.geo.geojson import format_geometry
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.inputs import bbox_to_wgs84, geojson_to_wgs84
from jurisgrid.gql.planning import require_county_wide
from jurisgrid.gql.scalars import GeoJSON
from jurisgrid.gql.sizing_types import (
    AnalysisCell,
    AnalysisCells,
    Balance,
    Breach,
    CellKind,
    ComplianceReport,
    Measure,
    RuleCount,
    Scope,
    SizingPolicy,
    SizingReport,
    ZoneSizingRow,
    ZoneValue,
    policy_type,
)
from jurisgrid.gql.source import PlanArg, plan_source
from jurisgrid.models import policy as policy_m

Since = Annotated[datetime | None, strawberry.argument(description="window start (inclusive)")]
Until = Annotated[datetime | None, strawberry.argument(description="window end (exclusive)")]


def _area(bbox: list[float] | None, polygon: Any, crs: Crs) -> shapely.Geometry | None:
    if bbox is not None:
        x0, y0, x1, y1 = bbox_to_wgs84(bbox, crs)
        if x0 == x1 or y0 == y1:
            raise InvalidInput("bbox minimum must be below its maximum")
        return shapely.box(x0, y0, x1, y1)
    if polygon is not None:
        geom = geojson_to_wgs84(polygon, crs, "polygon")
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InvalidInput("polygon must be a valid GeoJSON Polygon or MultiPolygon")
        return geom
    return None


@strawberry.type
class SizingQuery:
    @strawberry.field(description="The current sizing policy.")
    async def sizing_policy(self, info: Info) -> SizingPolicy:
        return policy_type(await info.context.db(policy_m.current_policy))

    @strawberry.field(description="Every stored version of the sizing policy, oldest first.")
    async def sizing_policy_versions(self, info: Info) -> list[JSON]:
        rows = await info.context.db(policy_m.policy_versions)
        return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]  # type: ignore[misc]

    @strawberry.field(
        description="Every zone of a scope (default: the county) sized under the current policy."
    )
    async def sizing_report(
        self,
        info: Info,
        scope: Scope | None = None,
        code: str | None = None,
        since: Since = None,
        until: Until = None,
        plan: PlanArg = None,
    ) -> SizingReport:
        src = await plan_source(info, plan)
        version, window, rows = await info.context.db(
            lambda c: report.sizing_report(
                c, scope=scope.value if scope else None, code=code, since=since, until=until,
                source=src,
            )
        )
        return SizingReport(
            policy_version=version,
            since=window.since,
            until=window.until,
            zones=[
                ZoneSizingRow(
                    zone=r.code,
                    name=r.name,
                    station=r.station,
                    kind=r.kind,
                    has_office=r.has_office,
                    households=r.households,
                    population=r.population,
                    incidents=r.incidents,
                    community_officers=r.community_officers,
                    workload=r.sizing.workload,
                    incident_rate=r.sizing.incident_rate,
                    population_class=r.sizing.population_class,
                    incident_rate_class=r.sizing.incident_rate_class,
                    zone_class=r.sizing.zone_class,
                    recommended_officers=r.sizing.recommended_officers,
                )
                for r in rows
            ],
        )

    @strawberry.field(description="Breaches of the staffing norms, of one station or the county.")
    async def compliance(self, info: Info, station: str | None = None,
                         plan: PlanArg = None) -> ComplianceReport:
        src = await plan_source(info, plan)
        version, breaches = await info.context.db(
            lambda c: compliance_a.compliance(c, station=station, source=src))
        counts: dict[str, int] = {}
        for b in breaches:
            counts[b.rule] = counts.get(b.rule, 0) + 1
        return ComplianceReport(
            policy_version=version,
            breaches=[
                Breach(
                    rule=b.rule,
                    rule_text=compliance_a.RULES[b.rule],
                    level=b.level,
                    code=b.code,
                    name=b.name,
                    station=b.station,
                    value=b.value,
                    limit=b.limit,
                    message=b.message,
                )
                for b in breaches
            ],
            by_rule=[RuleCount(rule=k, count=v) for k, v in sorted(counts.items())],
        )

    @strawberry.field(description="Balance of population or workload across the zones of a scope.")
    async def balance(
        self, info: Info, scope: Scope, code: str, measure: Measure, since: Since = None,
        until: Until = None, plan: PlanArg = None,
    ) -> Balance:
        src = await plan_source(info, plan)
        b = await info.context.db(
            lambda c: report.balance_report(
                c, scope=scope.value, code=code, measure=measure.value, since=since, until=until,
                source=src,
            )
        )
        return Balance(
            measure=measure,
            zones=b.zones,
            total=b.total,
            ideal=b.ideal,
            worst_deviation=b.worst_deviation,
            worst_zone=b.worst_zone,
            worst_relative_deviation=b.worst_relative,
            range_over_ideal=b.range_over_ideal,
            coefficient_of_variation=b.cv,
            values=[ZoneValue(zone=k, value=v, deviation=v - b.ideal) for k, v in b.values.items()],
        )

    @strawberry.field(
        description="H3 hexagons or squares over a station, a bbox or a polygon, "
        "with incident (in [since, until)) and population counts — for heat maps."
    )
    async def analysis_cells(
        self,
        info: Info,
        kind: CellKind,
        resolution: Annotated[int | None, strawberry.argument(description="H3 resolution 0–15")] = None,
        size_m: Annotated[float | None, strawberry.argument(description="square side, metres")] = None,
        station: Annotated[
            str | None,
            strawberry.argument(description="a station's jurisdiction; points counted by membership"),
        ] = None,
        bbox: Annotated[
            list[float] | None, strawberry.argument(description="[minLon, minLat, maxLon, maxLat] in `crs`")
        ] = None,
        polygon: Annotated[
            GeoJSON | None,
            strawberry.argument(
                description="GeoJSON Polygon/MultiPolygon in `crs`"
            ),
        ] = None,
        crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
        since: Since = None,
        until: Until = None,
        plan: PlanArg = None,
    ) -> AnalysisCells:
        src = await plan_source(info, plan)
        given = [x for x in (station, bbox, polygon) if x is not None]
        if len(given) != 1:
            raise InvalidInput("give exactly one of station, bbox, polygon")
        out_crs = Crs(crs)
        area = _area(bbox, polygon, out_crs)

        def run(conn: Any) -> list[cells_a.Cell]:
            station_id = None
            a = area
            if station is not None:
                station_id, a = cells_a.station_area(conn, station, src)
            assert a is not None
            return cells_a.analysis_cells(
                conn,
                kind=kind.value,
                area=a,
                resolution=resolution,
                size_m=size_m,
                station_id=station_id,
                since=since,
                until=until,
                source=src,
            )

        cells = await info.context.db(run)
        out = [
            AnalysisCell(
                id=c.id,
                incidents=c.incidents,
                population=c.population,
                households=c.households,
                geometry=format_geometry(c.geometry, crs=out_crs),
            )
            for c in cells
        ]
        fc = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": c.id,
                    "geometry": c.geometry,
                    "properties": {
                        "id": c.id,
                        "incidents": c.incidents,
                        "population": c.population,
                        "households": c.households,
                    },
                }
                for c in out
            ],
        }
        return AnalysisCells(kind=kind, count=len(out), cells=out, feature_collection=fc)  # type: ignore[arg-type]


@strawberry.type
class SizingMutation:
    @strawberry.mutation(
        description="Change the sizing policy (planners and admins with a county-wide token): the "
        "fields given in `changes` replace the current ones (objects merge one level deep); the "
        "result is validated as a whole and stored as a new version."
    )
    async def update_sizing_policy(
        self, info: Info, changes: JSON, reason: str | None = None
    ) -> SizingPolicy:
        ctx = info.context
        require_role(ctx.principal, Role.PLANNER)  # planners may edit the sizing policy (issue 12)
        require_county_wide(ctx.principal, "the sizing policy")
        if not isinstance(changes, dict):
            raise InvalidInput("changes must be a JSON object")

        def write() -> policy_m.PolicyVersion:
            with ctx.engine.begin() as conn:
                return policy_m.update_policy(conn, changes, actor=ctx.principal.actor, reason=reason)

        return policy_type(await run_in_threadpool(write))
