"""Create / update / retire mutations for stations, zones, communities, personnel assignments,
address points and incidents. Same ``options`` and ``EditResult`` as gql/mutations.py (the
arguments go through the same typed commands, editing/commands.py); points get their grid
automatically (the boundary rule)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from jurisgrid.geo.crs import Crs
from jurisgrid.gql.edit_types import EditResult
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.mutations import DryRun, Effective, Expected, Options, Reason, edit
from jurisgrid.gql.scalars import GeoJSON

W = Crs.WGS84


@strawberry.type
class UnitMutation:
    # -- stations --------------------------------------------------------------------------------
    @strawberry.mutation(description="Create a station (派出所) of a sector, with its seat.")
    async def create_station(
            self, info: Info, code: str, name: str, sector: str, lon: float, lat: float,
            kind: str = "rural", address: str | None = None, phone: str | None = None,
            crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createStation", {"code": code, "name": name, "sector": sector, "lon": lon,
                           "lat": lat, "kind": kind, "address": address, "phone": phone, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Change a station's name, kind, address, phone or seat.")
    async def update_station(
            self, info: Info, code: str, name: str | None = None, kind: str | None = None,
            address: str | None = None, phone: str | None = None, lon: float | None = None,
            lat: float | None = None, crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateStation", {"code": code, "name": name, "kind": kind,
                           "address": address, "phone": phone, "lon": lon, "lat": lat, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a station that has no zones left.")
    async def retire_station(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireStation", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- zones -----------------------------------------------------------------------------------
    @strawberry.mutation(description="A new, empty zone of a station (reassign grids into it).")
    async def create_zone(
            self, info: Info, code: str, name: str, station: str, kind: str = "rural",
            has_office: bool = False,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createZone", {"code": code, "name": name, "station": station, "kind": kind,
                           "hasOffice": has_office},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Change a zone's name, kind or whether it has an office.")
    async def update_zone(
            self, info: Info, code: str, name: str | None = None, kind: str | None = None,
            has_office: bool | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateZone", {"code": code, "name": name, "kind": kind,
                                                "hasOffice": has_office},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a zone that has no grids left.")
    async def retire_zone(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireZone", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- communities -----------------------------------------------------------------------------
    @strawberry.mutation(description="Create a community (村/社区) of a township with its outline.")
    async def create_community(
            self, info: Info, code: str, name: str, township: str, geometry: GeoJSON,
            kind: str = "village", repair: bool = False,
            crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createCommunity", {"code": code, "name": name, "township": township,
                           "geometry": geometry, "kind": kind, "repair": repair, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Change a community's name or kind.")
    async def update_community(
            self, info: Info, code: str, name: str | None = None, kind: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateCommunity", {"code": code, "name": name, "kind": kind},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a community that has no grids left.")
    async def retire_community(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireCommunity", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- personnel assignments -------------------------------------------------------------------
    @strawberry.mutation(description="Assign a person to a station (and a zone, community or "
                         "grid) from validFrom.")
    async def create_assignment(
            self, info: Info, person: str, role: str, station: str, zone: str | None = None,
            community: str | None = None, grid: str | None = None,
            valid_from: datetime | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createAssignment", {
            "person": person, "role": role, "station": station, "zone": zone,
            "community": community, "grid": grid,
            "validFrom": valid_from.isoformat() if valid_from else None},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Change an assignment's role, zone, community or grid.")
    async def update_assignment(
            self, info: Info, id: int, role: str | None = None, zone: str | None = None,
            community: str | None = None, grid: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateAssignment", {"id": id, "role": role, "zone": zone,
                           "community": community, "grid": grid},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="End an assignment (valid_to = effectiveFrom).")
    async def retire_assignment(
            self, info: Info, id: int,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireAssignment", {"id": id},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- address points and incidents ------------------------------------------------------------
    @strawberry.mutation(description="Create an address point (一标三实); its grid follows from "
                         "where it lies.")
    async def create_address_point(
            self, info: Info, code: str, address: str, lon: float, lat: float, households: int = 0,
            population: int = 0, houses: int = 0, units: int = 0,
            crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createAddressPoint", {
            "code": code, "address": address, "lon": lon, "lat": lat, "households": households,
            "population": population, "houses": houses, "units": units, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Change an address point's figures, address or position.")
    async def update_address_point(
            self, info: Info, code: str, address: str | None = None, lon: float | None = None,
            lat: float | None = None, households: int | None = None,
            population: int | None = None,            houses: int | None = None, units: int | None = None,
            crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateAddressPoint", {
            "code": code, "address": address, "lon": lon, "lat": lat, "households": households,
            "population": population, "houses": houses, "units": units, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete an address point.")
    async def retire_address_point(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireAddressPoint", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Record an incident (警情); its grid follows from where it lies.")
    async def create_incident(
            self, info: Info, code: str, category: str, occurred_at: datetime, lon: float,
            lat: float, crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createIncident", {
            "code": code, "category": category, "occurredAt": occurred_at.isoformat(),
            "lon": lon, "lat": lat, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Change an incident's category, time or position.")
    async def update_incident(
            self, info: Info, code: str, category: str | None = None,
            occurred_at: datetime | None = None, lon: float | None = None,
            lat: float | None = None,            crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateIncident", {
            "code": code, "category": category,
            "occurredAt": occurred_at.isoformat() if occurred_at else None,
            "lon": lon, "lat": lat, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete an incident.")
    async def retire_incident(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireIncident", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)
