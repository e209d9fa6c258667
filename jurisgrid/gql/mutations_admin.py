"""Create / update / retire mutations for counties, sectors, townships, grids (as units) and
persons (editing/admin_units.py) — with gql/mutations_units.py, complete CRUD in GraphQL for
every unit (issue 11 item 6). Same ``options``, typed commands and ``EditResult`` as every edit."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from jurisgrid.geo.crs import Crs
from jurisgrid.gql.edit_types import EditResult
from jurisgrid.gql.geometry import CrsEnum
from jurisgrid.gql.mutations import DryRun, Effective, Expected, Options, Reason, edit
from jurisgrid.gql.scalars import GeoJSON

W = Crs.WGS84
CountyArg = Annotated[str, strawberry.argument(description="the county's code (区县, 6 digits)")]


@strawberry.type
class AdminUnitMutation:
    # -- counties --------------------------------------------------------------------------------
    @strawberry.mutation(description="Create a county (区县) with its outline (admins; it must not "
                         "overlap another county).")
    async def create_county(
            self, info: Info, code: str, name: str, geometry: GeoJSON, repair: bool = False,
            crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createCounty", {"code": code, "name": name, "geometry": geometry,
                                          "repair": repair, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Rename a county.")
    async def update_county(
            self, info: Info, code: str, name: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateCounty", {"code": code, "name": name},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a county no sector or township refers to.")
    async def retire_county(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireCounty", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- sectors ---------------------------------------------------------------------------------
    @strawberry.mutation(description="Create a sector (警务片区) of a county: the level stations belong "
                         "to.")
    async def create_sector(
            self, info: Info, code: str, name: str, county: CountyArg,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createSector", {"code": code, "name": name, "county": county},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Rename a sector.")
    async def update_sector(
            self, info: Info, code: str, name: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateSector", {"code": code, "name": name},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a sector no station refers to.")
    async def retire_sector(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireSector", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- townships -------------------------------------------------------------------------------
    @strawberry.mutation(description="Create a township (乡镇/街道) of a county with its outline and "
                         "optional seat; it must lie in the county and overlap no other "
                         "township.")
    async def create_township(
            self, info: Info, code: str, name: str, county: CountyArg, geometry: GeoJSON,
            kind: str = "town", lon: float | None = None, lat: float | None = None,
            repair: bool = False, crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createTownship", {"code": code, "name": name, "county": county,
                                            "geometry": geometry, "kind": kind, "lon": lon,
                                            "lat": lat, "repair": repair, "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Rename a township or change its kind (street, town, township).")
    async def update_township(
            self, info: Info, code: str, name: str | None = None, kind: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateTownship", {"code": code, "name": name, "kind": kind},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a township no community refers to.")
    async def retire_township(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireTownship", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- grids as units --------------------------------------------------------------------------
    @strawberry.mutation(description="Create a grid on land no grid covers yet (a county being built"
                         " up): inside its community, overlapping no grid. Where grids "
                         "tile the county, use splitGrid.")
    async def create_grid(
            self, info: Info, code: str, name: str, community: str, zone: str, geometry: GeoJSON,
            repair: bool = False, crs: CrsEnum = W,  # type: ignore[valid-type]
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createGrid", {"code": code, "name": name, "community": community,
                                        "zone": zone, "geometry": geometry, "repair": repair,
                                        "crs": Crs(crs)},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Rename a grid (its zone: reassignGrids; its shape: "
                         "redrawGrid).")
    async def update_grid(
            self, info: Info, code: str, name: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updateGrid", {"code": code, "name": name},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a grid nothing refers to; where grids tile the county "
                         "the gap it would leave is refused (merge it into a neighbour "
                         "instead: mergeGrids).")
    async def retire_grid(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retireGrid", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)

    # -- persons ---------------------------------------------------------------------------------
    @strawberry.mutation(description="Create a person (民警, 辅警, 网格员); assign them with "
                         "createAssignment.")
    async def create_person(
            self, info: Info, code: str, name: str, phone: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "createPerson", {"code": code, "name": name, "phone": phone},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Change a person's name or phone.")
    async def update_person(
            self, info: Info, code: str, name: str | None = None, phone: str | None = None,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "updatePerson", {"code": code, "name": name, "phone": phone},
                          options, reason, effective_from, expected_revision, dry_run)

    @strawberry.mutation(description="Delete a person who was never assigned (otherwise end the "
                         "assignments: retireAssignment).")
    async def retire_person(
            self, info: Info, code: str,
            options: Options = None, reason: Reason = None, effective_from: Effective = None,
            expected_revision: Expected = None, dry_run: DryRun = None) -> EditResult:
        return await edit(info, "retirePerson", {"code": code},
                          options, reason, effective_from, expected_revision, dry_run)
