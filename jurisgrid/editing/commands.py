"""Typed edit commands: one pydantic model per operation.

Every writer — the GraphQL mutations, ``jurisgrid edit`` and the grid import — hands an
operation's arguments to :func:`parse`, which turns them into the operation's model or raises
:class:`jurisgrid.errors.InvalidInput` naming each bad field (``details``: ``{field, reason}``).
The operations (editing/grids.py, units.py, revert.py) then read typed attributes
(``cmd.to_zone``), never a dict.

Arguments travel as plain JSON with camelCase keys (``{"grids": [...], "toZone": "…"}``): that
is what GraphQL gives, what the CLI reads and what a scheduled edit stores
(:meth:`Command.as_args`), so a stored edit is parsed by the same model when it takes effect.
What needs the database (a code's format under its parent, a duplicate code, a point inside the
county) is editing/validation.py; what needs no database is here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from jurisgrid.errors import InvalidInput
from jurisgrid.geo.crs import CoordinateError, Crs, UnknownCrs, check_lonlat, to_wgs84

C = TypeVar("C", bound="Command")


class Command(BaseModel):
    """The arguments of one edit operation. Unknown fields are refused (a misspelt ``tozone``
    must not silently become "no target")."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              frozen=True)

    def as_args(self) -> dict[str, Any]:
        """The command as plain JSON (camelCase keys, no nulls): what a scheduled edit stores."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _codes_list(value: list[str], field: str) -> list[str]:
    if not value:
        raise ValueError(f"{field} must be a non-empty list of codes")
    if len(set(value)) != len(value):
        raise ValueError(f"{field}: a code is listed twice")
    return value


class WithCrs(Command):
    """Coordinates in ``crs`` (WGS84, CGCS2000, GCJ02, BD09); stored in WGS 84."""

    crs: str = "WGS84"

    @field_validator("crs", mode="before")
    @classmethod
    def _crs(cls, v: Any) -> str:
        if isinstance(v, Crs):
            return v.value
        try:
            return Crs.parse(str(v)).value
        except UnknownCrs as exc:
            raise ValueError(str(exc)) from None

    @property
    def crs_value(self) -> Crs:
        return Crs(self.crs)


class WithPoint(WithCrs):
    lon: float | None = None
    lat: float | None = None

    def point(self) -> tuple[float, float] | None:
        """(lon, lat) in WGS 84, or None when neither is given; InvalidInput when only one is,
        or out of range (editing/validation.py checks it lies in a county)."""
        if self.lon is None and self.lat is None:
            return None
        if self.lon is None or self.lat is None:
            missing = "lon" if self.lon is None else "lat"
            raise InvalidInput(f"lon/lat: give both ({missing} is missing)", details=[{"field": missing}])
        try:
            check_lonlat(self.lon, self.lat)
        except CoordinateError as exc:
            raise InvalidInput(f"lon/lat: {exc}", details=[{"field": "lon/lat"}]) from None
        x, y = to_wgs84(self.crs_value, self.lon, self.lat)
        return float(x), float(y)


class WithArea(WithCrs):
    geometry: Any  # GeoJSON; geo/validate.validate_area checks it, with typed problems
    repair: bool = False


# -- the policing geography ------------------------------------------------------------------
class ReassignGrids(Command):
    grids: list[str]
    to_zone: str

    @field_validator("grids")
    @classmethod
    def _grids(cls, v: list[str]) -> list[str]:
        return _codes_list(v, "grids")


class ReassignCommunity(Command):
    community: str
    to_zone: str


class MoveZone(Command):
    zone: str
    to_station: str


class RedrawGrid(WithArea):
    grid: str
    give_to: str | None = None


class SplitGrid(WithCrs):
    grid: str
    line: Any  # GeoJSON LineString; geo/validate.parse_line checks it
    new_codes: list[str] | None = None


class MergeGrids(Command):
    grids: list[str]

    @field_validator("grids")
    @classmethod
    def _grids(cls, v: list[str]) -> list[str]:
        v = _codes_list(v, "grids")
        if len(v) < 2:
            raise ValueError("merge needs at least two grids")
        return v


class Revert(Command):
    revision: int

    @field_validator("revision")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("revision must be the id of a committed edit (> 0)")
        return v


# -- units ---------------------------------------------------------------------------------------
class ByCode(Command):
    """Retire (delete) the unit with this code."""

    code: str


class CreateStation(WithPoint):
    code: str
    name: str
    sector: str
    kind: str = "rural"
    address: str | None = None
    phone: str | None = None


class UpdateStation(WithPoint):
    code: str
    name: str | None = None
    kind: str | None = None
    address: str | None = None
    phone: str | None = None


class CreateZone(Command):
    code: str
    name: str
    station: str
    kind: str = "rural"
    has_office: bool = False


class UpdateZone(Command):
    code: str
    name: str | None = None
    kind: str | None = None
    has_office: bool | None = None


class CreateCommunity(WithArea):
    code: str
    name: str
    township: str
    kind: str = "village"


class UpdateCommunity(Command):
    code: str
    name: str | None = None
    kind: str | None = None


class CreateAssignment(Command):
    person: str
    role: str
    station: str
    zone: str | None = None
    community: str | None = None
    grid: str | None = None
    valid_from: datetime | None = None


class UpdateAssignment(Command):
    id: int
    role: str | None = None
    zone: str | None = None
    community: str | None = None
    grid: str | None = None


class ById(Command):
    id: int


class CreateAddressPoint(WithPoint):
    code: str
    address: str
    households: int = 0
    population: int = 0
    houses: int = 0
    units: int = 0


class UpdateAddressPoint(WithPoint):
    code: str
    address: str | None = None
    households: int | None = None
    population: int | None = None
    houses: int | None = None
    units: int | None = None


class CreateIncident(WithPoint):
    code: str
    category: str
    occurred_at: datetime


class UpdateIncident(WithPoint):
    code: str
    category: str | None = None
    occurred_at: datetime | None = None


class CreateCounty(WithArea):
    code: str
    name: str


class UpdateCounty(Command):
    code: str
    name: str | None = None


class CreateSector(Command):
    code: str
    name: str
    county: str


class UpdateSector(Command):
    code: str
    name: str | None = None


class CreateTownship(WithArea, WithPoint):
    """A township (乡镇/街道) with its outline; lon/lat: its seat (optional)."""

    code: str
    name: str
    county: str
    kind: Literal["street", "town", "township"] = "town"


class UpdateTownship(Command):
    code: str
    name: str | None = None
    kind: Literal["street", "town", "township"] | None = None


class CreateGrid(WithArea):
    code: str
    name: str
    community: str
    zone: str


class UpdateGrid(Command):
    code: str
    name: str | None = None


class CreatePerson(Command):
    code: str
    name: str
    phone: str | None = None


class UpdatePerson(Command):
    code: str
    name: str | None = None
    phone: str | None = None


# -- the grid import --------------------------------------------------------------------------
class GridRecord(Command):
    """One checked feature of a grid layer (io/kinds.py has parsed and checked its geometry)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    code: str
    name: str
    community: str | None = None
    zone: str | None = None
    geom: Any  # a Shapely (Multi)Polygon in WGS 84


class ImportGrids(Command):
    """Update grids by code and add new ones, as one revision (``jurisgrid import grids``).
    Not plain JSON (Shapely geometries): it cannot be scheduled."""

    records: list[GridRecord]


# -- parsing -------------------------------------------------------------------------------------
def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(arguments)"


def parse(op: str, model: type[C], args: dict[str, Any] | Command) -> C:
    """``args`` as ``model``, or InvalidInput naming every bad field (nothing is written)."""
    if isinstance(args, model):
        return args
    if isinstance(args, Command):
        raise InvalidInput(f"{op}: got a {type(args).__name__} command, expected {model.__name__}")
    if not isinstance(args, dict):
        raise InvalidInput(f"{op}: the arguments must be an object of fields")
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        problems = [{"field": _field(e["loc"]),
                     "reason": str(e["msg"]).removeprefix("Value error, "),
                     "type": e["type"]} for e in exc.errors(include_url=False)]
        text = "; ".join(f"{p['field']}: {p['reason']}" for p in problems)
        raise InvalidInput(f"{op}: {text}", details=problems) from None
