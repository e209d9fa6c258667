"""Typed result of the demo-county generator (pure data: Shapely geometries and numpy columns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Point, Polygon

TownshipKind = Literal["street", "town", "township"]
CommunityKind = Literal["community", "village"]
StationKind = Literal["urban", "central", "rural"]
ZoneKind = Literal["urban", "rural"]
Role = Literal[
    "chief", "instructor", "deputy_chief", "officer", "community_officer", "auxiliary", "grid_worker"
]

ROLE_LABELS: dict[str, str] = {
    "chief": "所长",
    "instructor": "教导员",
    "deputy_chief": "副所长",
    "officer": "民警",
    "community_officer": "社区民警",
    "auxiliary": "辅警",
    "grid_worker": "网格员",
}

INCIDENT_CATEGORIES: dict[str, str] = {
    "CRIMINAL": "刑事",
    "PUBLIC_ORDER": "治安",
    "DISPUTE": "纠纷",
    "TRAFFIC": "交通",
    "FIRE": "火灾",
    "ASSISTANCE": "求助",
    "OTHER": "其他",
}


@dataclass
class Township:
    code: str  # 9 digits
    name: str  # 渠江街道 / 临巴镇 / 报恩乡
    kind: TownshipKind
    geom: Polygon
    seat: Point  # an address point of the seat community (strictly inside a grid)


@dataclass
class Community:
    code: str  # 12 digits
    name: str  # 庆丰社区 / 溪口村 (the committee name without 居民委员会 / 民委员会)
    township_code: str
    kind: CommunityKind
    geom: Polygon


@dataclass
class Sector:
    code: str  # 511725SQ01
    name: str  # 城区片区


@dataclass
class Station:
    code: str  # 511725PS01
    name: str  # 渠县公安局渠江派出所
    kind: StationKind
    sector_code: str
    seat: Point  # inside its jurisdiction, at an address point of its main seat community
    address: str
    phone: str
    community_codes: list[str] = field(default_factory=list)  # its jurisdiction


@dataclass
class Zone:
    code: str  # station code + Z + 2 digits
    name: str
    station_code: str
    kind: ZoneKind
    has_office: bool  # 警务室
    community_codes: list[str]


@dataclass
class Grid:
    code: str  # 15 digits: community code + 3-digit sequence
    name: str  # 庆丰社区第1网格
    community_code: str
    zone_code: str
    geom: Polygon


@dataclass
class Person:
    code: str  # P + 6 digits
    name: str
    role: Role
    station_code: str
    zone_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    phone: str | None = None


@dataclass
class AddressArrays:
    """Standard address points (标准地址, 一标三实) as parallel columns."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    households: NDArray[np.int64]
    population: NDArray[np.int64]  # 实有人口
    houses: NDArray[np.int64]  # 实有房屋
    units: NDArray[np.int64]  # 实有单位
    community_idx: NDArray[np.int64]  # index into DemoCounty.communities
    grid_idx: NDArray[np.int64]  # index into DemoCounty.grids
    code: list[str]  # community code + 5 digits
    address: list[str]

    def __len__(self) -> int:
        return len(self.lon)


@dataclass
class IncidentArrays:
    """Incidents (警情) as parallel columns; ``occurred_at`` is UTC (datetime64[s], naive)."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    category: NDArray[np.str_]  # keys of INCIDENT_CATEGORIES
    occurred_at: NDArray[np.datetime64]
    grid_idx: NDArray[np.int64]
    code: list[str]

    def __len__(self) -> int:
        return len(self.lon)


@dataclass
class DemoCounty:
    code: str
    name: str
    outline: Polygon | MultiPolygon  # exactly the union of the grids
    repairs: list[str]
    sectors: list[Sector]
    townships: list[Township]
    communities: list[Community]
    stations: list[Station]
    zones: list[Zone]
    grids: list[Grid]
    addresses: AddressArrays
    incidents: IncidentArrays
    persons: list[Person]
