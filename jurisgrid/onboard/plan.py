"""What a load will write: the units of one or more counties, and what the report says.

Pure data (no database, no files): :mod:`jurisgrid.onboard.build` fills a :class:`Plan` from the
tables read, :mod:`jurisgrid.onboard.write` writes it, :mod:`jurisgrid.onboard.pipeline` runs both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry


@dataclass
class Bad:
    """One bad feature: its source (``file`` or ``file:layer``), 0-based index, why."""

    source: str
    index: int | None
    reason: str
    field: str | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "reason": self.reason,
        }


@dataclass
class County:
    code: str
    name: str
    geom: BaseGeometry


@dataclass
class Township:
    code: str
    name: str
    kind: str
    county: str
    geom: BaseGeometry


@dataclass
class Community:
    code: str
    name: str
    kind: str
    township: str
    geom: BaseGeometry


@dataclass
class Sector:
    code: str
    name: str
    county: str


@dataclass
class Station:
    code: str
    name: str
    kind: str
    sector: str
    address: str | None
    phone: str | None
    seat: BaseGeometry
    area: BaseGeometry | None = None  # a jurisdiction polygon, when the file has one


@dataclass
class Zone:
    code: str
    name: str
    kind: str | None
    has_office: bool
    station: str
    geom: BaseGeometry | None = None


@dataclass
class Grid:
    code: str
    name: str
    community: str
    zone: str
    geom: BaseGeometry


@dataclass
class Address:
    code: str
    address: str
    households: int
    population: int
    houses: int
    units: int
    lon: float
    lat: float


@dataclass
class Incident:
    code: str
    category: str
    occurred_at: datetime
    lon: float
    lat: float


@dataclass
class Person:
    code: str
    name: str
    phone: str | None


@dataclass
class Assignment:
    person: str
    role: str
    station: str
    zone: str | None
    community: str | None
    grid: str | None
    valid_from: datetime
    valid_to: datetime | None = None


@dataclass
class Plan:
    counties: list[County] = field(default_factory=list)
    time_zone: str = "Asia/Shanghai"  # the manifest's: stored as each county's (county.time_zone)
    townships: list[Township] = field(default_factory=list)
    communities: list[Community] = field(default_factory=list)
    sectors: list[Sector] = field(default_factory=list)
    stations: list[Station] = field(default_factory=list)
    zones: list[Zone] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    new_categories: dict[str, str] = field(default_factory=dict)  # code → name, to add

    def counts(self) -> dict[str, int]:
        return {
            k: len(getattr(self, k))
            for k in (
                "counties",
                "townships",
                "communities",
                "sectors",
                "stations",
                "zones",
                "grids",
                "addresses",
                "incidents",
                "persons",
                "assignments",
            )
        }


@dataclass
class Report:
    """Everything a load did or refused, for the console and ``--report FILE`` (JSON)."""

    source: str
    sources: dict[str, str] = field(default_factory=dict)  # kind → file[:layer]
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # kind → field → column
    crs: dict[str, str] = field(default_factory=dict)  # kind → coordinate system
    counts: dict[str, int] = field(default_factory=dict)
    derived: list[str] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    unknown_categories: list[dict[str, Any]] = field(default_factory=list)
    bad: list[Bad] = field(default_factory=list)
    tolerance_m: float = 0.5
    strict: bool = False
    dry_run: bool = False
    written: bool = False
    revision: int | None = None  # the load's revision (None: refused, or a dry run)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # where the time went, in order

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "written": self.written,
            "revision": self.revision,
            "dryRun": self.dry_run,
            "strict": self.strict,
            "toleranceM": self.tolerance_m,
            "seconds": round(self.seconds, 2),
            "stageSeconds": {k: round(v, 2) for k, v in self.stage_seconds.items()},
            "sources": self.sources,
            "columns": self.columns,
            "crs": self.crs,
            "counts": self.counts,
            "derived": self.derived,
            "repairs": self.repairs,
            "unknownCategories": self.unknown_categories,
            "bad": [b.as_dict() for b in self.bad],
        }
