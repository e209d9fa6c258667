"""The GraphQL types of sizing (issue 4): policy, reports, compliance, balance, cells."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from jurisgrid.analytics.policy import Band
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


@strawberry.type(description="A version of the sizing policy (docs/design.md: its defaults = version 0).")
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
    time_zone: str = strawberry.field(description=(
        "The deployment's default calendar: month and week series are in the time zone of each "
        "unit's county (`County.timeZone`), this one where a unit has none; the per-zone "
        "monthly rollup is kept in it."))
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
    geometry: GeoJSON


@strawberry.type
class AnalysisCells:
    kind: CellKind
    count: int
    cells: list[AnalysisCell]
    feature_collection: JSON = strawberry.field(
        description="The cells as a GeoJSON FeatureCollection (properties: id and counts)."
    )
