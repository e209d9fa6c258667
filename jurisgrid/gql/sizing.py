"""Root fields of sizing (issue 4): ``sizingPolicy``, ``sizingReport``, ``compliance``,
``balance``, ``analysisCells`` and the admin mutation ``updateSizingPolicy``. Thin: the work is
in jurisgrid/analytics."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import shapely
import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON
from strawberry.types import Info

from jurisgrid.analytics import cells as cells_a
from jurisgrid.analytics import compliance as compliance_a
from jurisgrid.analytics import report
from jurisgrid.analytics.policy import Band
from jurisgrid.auth.checks import require_role
from jurisgrid.auth.principal import Role
from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import Crs, transform_geometry
from jurisgrid.geo.geojson import GeoJSONError, format_geometry, parse_geojson
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.inputs import point_to_wgs84
from jurisgrid.gql.scalars import GeoJSON
from jurisgrid.models import policy as policy_m


@strawberry.enum(description="A set of zones: those of a station, a sector or the county.")
class Scope(Enum):
    STATION = "station"
    SECTOR = "sector"
    COUNTY = "county"


@strawberry.enum
class Measure(Enum):
    POPULATION = "population"
    WORKLOAD = "workload"


@strawberry.enum(description="HEX: H3 hexagons at `resolution`; SQUARE: squares of `sizeM` metres.")
class CellKind(Enum):
    HEX = "hex"
    SQUARE = "square"


@strawberry.type(description="A zone class for values in [lower, upper); upper null = no bound.")
class ClassBand:
    zone_class: str
    lower: float
    upper: float | None


@strawberry.type
class CategoryWeight:
    category: str
    weight: float


@strawberry.type(description="A version of the sizing policy (DESIGN §7 defaults = version 0).")
class SizingPolicy:
    version: int
    actor: str | None
    reason: str | None
    created_at: datetime | None
    category_weights: list[CategoryWeight]
    default_weight: float
    population_weight: float
    rate_categories: list[str]
    population_bands: list[ClassBand]
    incident_rate_bands: list[ClassBand]
    population_per_officer_urban: float
    population_per_officer_rural: float
    workload_per_officer: float
    min_officers_per_office: int
    grid_households_min: int
    grid_households_max: int
    window_days: int
    time_zone: str
    document: JSON = strawberry.field(
        description="The whole policy as JSON (the shape updateSizingPolicy takes)."
    )


def _bands(bands: tuple[Band, ...]) -> list[ClassBand]:
    return [ClassBand(zone_class=b.zone_class, lower=b.lower, upper=b.upper) for b in bands]


def policy_type(pv: policy_m.PolicyVersion) -> SizingPolicy:
    p = pv.policy
    return SizingPolicy(
        version=pv.version,
        actor=pv.actor,
        reason=pv.reason,
        created_at=pv.created_at,
        category_weights=[
            CategoryWeight(category=k, weight=v) for k, v in sorted(p.category_weights.items())
        ],
        default_weight=p.default_weight,
        population_weight=p.population_weight,
        rate_categories=list(p.rate_categories),
        population_bands=_bands(p.population_bands),
        incident_rate_bands=_bands(p.incident_rate_bands),
        population_per_officer_urban=p.population_per_officer["urban"],
        population_per_officer_rural=p.population_per_officer["rural"],
        workload_per_officer=p.workload_per_officer,
        min_officers_per_office=p.min_officers_per_office,
        grid_households_min=p.grid_households_min,
        grid_households_max=p.grid_households_max,
        window_days=p.window_days,
        time_zone=p.time_zone,
        document=p.to_json(),  # type: ignore[arg-type]  # JSON is a NewType over Any
    )


@strawberry.type(description="One zone of a sizing report.")
class ZoneSizingRow:
    zone: str
    name: str
    station: str
    kind: str
    has_office: bool
    households: int
    population: int
    incidents: int
    community_officers: int
    workload: float
    incident_rate: float
    population_class: str
    incident_rate_class: str
    zone_class: str
    recommended_officers: int


@strawberry.type
class SizingReport:
    policy_version: int
    since: datetime
    until: datetime
    zones: list[ZoneSizingRow]


@strawberry.type(description="A breach of a staffing norm.")
class Breach:
    rule: str = strawberry.field(
        description="ZONE_POPULATION_PER_OFFICER, ZONE_WITHOUT_COMMUNITY_"
        "OFFICER, OFFICE_UNDERSTAFFED, COMMUNITY_WITHOUT_AUXILIARY, "
        "GRID_HOUSEHOLDS_OUT_OF_RANGE"
    )
    rule_text: str
    level: str
    code: str
    name: str
    station: str
    value: float
    limit: float
    message: str


@strawberry.type
class RuleCount:
    rule: str
    count: int


@strawberry.type
class ComplianceReport:
    policy_version: int
    breaches: list[Breach]
    by_rule: list[RuleCount]


@strawberry.type
class ZoneValue:
    zone: str
    value: float
    deviation: float


@strawberry.type(description="How evenly a measure is spread over the zones of a scope.")
class Balance:
    measure: Measure
    zones: int
    total: float
    ideal: float = strawberry.field(description="the mean over the zones")
    worst_deviation: float = strawberry.field(description="max |value − ideal|")
    worst_zone: str | None
    worst_relative_deviation: float | None = strawberry.field(description="worstDeviation / ideal")
    range_over_ideal: float | None = strawberry.field(description="(max − min) / ideal")
    coefficient_of_variation: float | None = strawberry.field(description="population std / mean")
    values: list[ZoneValue]


@strawberry.type
class AnalysisCell:
    id: str
    incidents: int
    population: int
    households: int
    geometry: GeoJSON  # type: ignore[valid-type]


@strawberry.type
class AnalysisCells:
    kind: CellKind
    count: int
    cells: list[AnalysisCell]
    feature_collection: JSON = strawberry.field(
        description="The cells as a GeoJSON FeatureCollection (properties: id and counts)."
    )


Since = Annotated[datetime | None, strawberry.argument(description="window start (inclusive)")]
Until = Annotated[datetime | None, strawberry.argument(description="window end (exclusive)")]


def _area(bbox: list[float] | None, polygon: Any, crs: Crs) -> shapely.Geometry | None:
    if bbox is not None:
        if len(bbox) != 4:
            raise InvalidInput("bbox needs 4 numbers: [minLon, minLat, maxLon, maxLat]")
        x0, y0 = point_to_wgs84(bbox[0], bbox[1], crs)
        x1, y1 = point_to_wgs84(bbox[2], bbox[3], crs)
        if x0 >= x1 or y0 >= y1:
            raise InvalidInput("bbox minimum must be below its maximum")
        return shapely.box(x0, y0, x1, y1)
    if polygon is not None:
        try:
            geom = parse_geojson(polygon)
        except GeoJSONError as exc:
            raise InvalidInput(str(exc)) from None
        if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
            raise InvalidInput("polygon must be a valid GeoJSON Polygon or MultiPolygon")
        return transform_geometry(geom, crs, Crs.WGS84)
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
    ) -> SizingReport:
        version, window, rows = await info.context.db(
            lambda c: report.sizing_report(
                c, scope=scope.value if scope else None, code=code, since=since, until=until
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
    async def compliance(self, info: Info, station: str | None = None) -> ComplianceReport:
        version, breaches = await info.context.db(lambda c: compliance_a.compliance(c, station=station))
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
        self, info: Info, scope: Scope, code: str, measure: Measure, since: Since = None, until: Until = None
    ) -> Balance:
        b = await info.context.db(
            lambda c: report.balance_report(
                c, scope=scope.value, code=code, measure=measure.value, since=since, until=until
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
            GeoJSON | None,  # type: ignore[valid-type]
            strawberry.argument(
                description="GeoJSON Polygon/MultiPolygon in `crs`"
            ),
        ] = None,
        crs: CrsEnum = Crs.WGS84,  # type: ignore[valid-type]
        since: Since = None,
        until: Until = None,
    ) -> AnalysisCells:
        given = [x for x in (station, bbox, polygon) if x is not None]
        if len(given) != 1:
            raise InvalidInput("give exactly one of station, bbox, polygon")
        out_crs = Crs(crs)
        area = _area(bbox, polygon, out_crs)

        def run(conn: Any) -> list[cells_a.Cell]:
            station_id = None
            a = area
            if station is not None:
                station_id, a = cells_a.station_area(conn, station)
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
        description="Change the sizing policy (admins only): the fields given in "
        "`changes` replace the current ones (objects merge one level deep); the "
        "result is validated as a whole and stored as a new version."
    )
    async def update_sizing_policy(
        self, info: Info, changes: JSON, reason: str | None = None
    ) -> SizingPolicy:
        ctx = info.context
        require_role(ctx.principal, Role.ADMIN)
        if not isinstance(changes, dict):
            raise InvalidInput("changes must be a JSON object")

        def write() -> policy_m.PolicyVersion:
            with ctx.engine.begin() as conn:
                return policy_m.update_policy(conn, changes, actor=ctx.principal.actor, reason=reason)

        return policy_type(await run_in_threadpool(write))
