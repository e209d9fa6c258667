"""Descriptions for the schema's recurring argument names and the root fields that had none.

Every query, mutation and argument is described in the schema (GraphiQL and the committed SDL show
them). Arguments that recur under one name across many fields — ``code``, ``crs``, ``first`` … —
are described here once, in one glossary, instead of at each of their 20–36 places; a field's own
description, where it has one, always wins. :func:`describe` fills the gaps of a built schema.
"""

from __future__ import annotations

from graphql import GraphQLObjectType, GraphQLSchema

ARGUMENTS: dict[str, str] = {
    "code": "the unit's code (its stable public identifier)",
    "codes": "only these codes",
    "crs": "coordinate system of the coordinates sent and returned: WGS84, CGCS2000, GCJ02 "
           "(AMap/Tencent) or BD09 (Baidu)",
    "first": "page size (default JURISGRID_PAGE_SIZE_DEFAULT, at most JURISGRID_PAGE_SIZE_MAX)",
    "after": "the cursor of the last item of the previous page (pageInfo.endCursor)",
    "before": "only revisions older than this one (paging back through the history)",
    "kind": "the unit's kind (station: urban | central | rural; zone: urban | rural; community: "
            "community | village; township: street | town | township) — or, for revisions, the "
            "mutation that made them",
    "withinDistance": "only units within `distanceM` metres of a point (in `crs`)",
    "lon": "longitude in `crs`",
    "lat": "latitude in `crs`",
    "grid": "a grid code",
    "grids": "grid codes",
    "name": "the name (not empty, no control characters)",
    "station": "a station code (派出所)",
    "zone": "a zone code (警务责任区)",
    "community": "a community code (村/社区, 12 digits)",
    "township": "a township code (乡镇/街道, 9 digits)",
    "sector": "a sector code (片区)",
    "address": "the standard address (标准地址)",
    "category": "an incident category code (e.g. CRIMINAL, PUBLIC_ORDER, DISPUTE, TRAFFIC, FIRE)",
    "id": "the row's id as the API returned it",
    "since": "from this instant (inclusive)",
    "until": "to this instant (exclusive)",
    "scope": "the level the figures are taken over (county, sector or station)",
    "toZone": "the zone code the grids move to",
    "toStation": "the station code the zone moves to",
    "geometry": "a GeoJSON (or WKT) geometry in `crs`",
    "repair": "fix an invalid geometry (e.g. a self-intersection) and report what was changed, "
              "instead of refusing it",
    "giveTo": "the neighbouring grid that receives the land the redrawn grid gives up",
    "line": "a GeoJSON LineString in `crs` that cuts the grid in two",
    "newCodes": "the codes of the two grids the split makes",
    "phone": "a phone number",
    "hasOffice": "whether the zone has a 警务室 (community police office)",
    "role": "chief, instructor, deputy_chief, officer, community_officer, auxiliary or grid_worker "
            "(所长, 教导员, 副所长, 民警, 社区民警, 辅警, 网格员)",
    "households": "households (户数)",
    "population": "actual population (实有人口)",
    "houses": "houses (实有房屋)",
    "units": "units (实有单位)",
    "occurredAt": "when the incident happened",
    "points": "[lon, lat] pairs in `crs`, at most JURISGRID_BATCH_MAX_POINTS",
    "actor": "only revisions made by this actor",
    "pending": "only the edits still waiting for their instant",
    "measure": "what is balanced: population, households, incidents or workload",
    "revision": "a revision id",
    "person": "a person code",
    "validFrom": "when the assignment starts",
    "changes": "the fields to change (those left out keep their values)",
    "reason": "why (recorded on the revision)",
}

FIELDS: dict[str, str] = {
    "sector": "One sector (片区) by code.",
    "township": "One township (乡镇/街道) by code.",
    "community": "One community or village (村/社区) by code.",
    "station": "One police station (派出所) by code.",
    "zone": "One community-policing responsibility zone (警务责任区) by code.",
    "grid": "One grid (网格) by code.",
    "addressPoint": "One standard address point (标准地址) by code.",
    "incident": "One incident (警情) by code.",
    "person": "One person (人员) by code.",
    "sectors": "Sectors, paged (Relay connection).",
    "townships": "Townships, paged, with spatial filters.",
    "communities": "Communities and villages, paged, with spatial and parent filters.",
    "stations": "Police stations, paged, with spatial and parent filters.",
    "zones": "Responsibility zones, paged, with spatial and parent filters.",
    "grids": "Grids, paged, with spatial and parent filters.",
    "addressPoints": "Standard address points, paged, with spatial and parent filters.",
    "incidents": "Incidents, paged, with spatial, category and time filters.",
    "persons": "Personnel, paged.",
    "createStation": "Create a police station (a seat point; its jurisdiction is derived from its zones).",
    "updateStation": "Change a station's name, kind, phone, seat or sector.",
    "updateZone": "Change a zone's name, kind or 警务室 flag.",
    "createCommunity": "Create a community or village from grids' land (checked for overlap and "
                       "containment in its township).",
    "updateCommunity": "Change a community's name or kind.",
    "createAssignment": "Assign a person to a station, zone, community or grid in a role.",
    "updateAssignment": "Change an assignment's role or unit.",
    "createAddressPoint": "Add a standard address point (its grid is found by the boundary rule).",
    "updateAddressPoint": "Change an address point's figures, address or place.",
    "retireAddressPoint": "Remove an address point (kept in the revision's record).",
    "createIncident": "Record an incident (its grid is found by the boundary rule).",
    "updateIncident": "Change an incident's category, time or place.",
    "retireIncident": "Remove an incident (kept in the revision's record).",
}


def describe(schema: GraphQLSchema) -> GraphQLSchema:
    """Fill in the descriptions the root fields and their arguments lack (in place)."""
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if not isinstance(root, GraphQLObjectType):
            continue
        for name, field in root.fields.items():
            if not field.description and name in FIELDS:
                field.description = FIELDS[name]
            for arg_name, arg in field.args.items():
                if not arg.description and arg_name in ARGUMENTS:
                    arg.description = ARGUMENTS[arg_name]
    return schema
