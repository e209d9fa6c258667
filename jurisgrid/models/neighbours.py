"""The grids near a point other than its own: who is responsible just across a nearby boundary.

An officer standing a few metres from a grid, zone or station boundary wants to know who is on
the other side. Distances are metres in the point's local frame (degrees scaled by the metres per
degree there): the grids' edges are straight lines in lon/lat — the boundary rule's geometry —
so a point on a shared edge is 0 m from the neighbour (a geodesic distance would put it a few
centimetres off a long edge). Over the few metres asked for, the local frame is exact to well under
a centimetre. The grids come from the asked source (live, as of an instant, …), nearest first.
"""

from __future__ import annotations

import math

from sqlalchemy import Connection, func, literal_column

from jurisgrid.geo.earth import METRES_PER_DEGREE
from jurisgrid.models.rows import Row, columns, run
from jurisgrid.models.source import Source

MAX_NEIGHBOURS = 8


def grids_near(conn: Connection, *, lon: float, lat: float, within_m: float,
               exclude_code: str | None, source: Source) -> list[tuple[Row, float]]:
    """Grids within ``within_m`` metres of the point, except ``exclude_code`` (the point's own),
    with their distance in metres; nearest first, at most :data:`MAX_NEIGHBOURS`."""
    g = source.rows("grid")
    ky = METRES_PER_DEGREE
    kx = METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01)
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    dist = func.ST_Distance(func.ST_Scale(g.c.geom, kx, ky), func.ST_Scale(point, kx, ky))
    # a box in degrees around the point for the grids' GiST index; the local distance decides
    pad = float(within_m) / kx * 1.01 + 1e-7
    box = func.ST_MakeEnvelope(lon - pad, lat - pad, lon + pad, lat + pad, 4326)
    q = columns(g, "grid").add_columns(dist.label("distance_m")).where(
        g.c.geom.op("&&")(box), dist <= within_m)
    if exclude_code is not None:
        q = q.where(g.c.code != exclude_code)
    q = q.order_by(literal_column("distance_m"), g.c.code).limit(MAX_NEIGHBOURS)
    out = []
    for row in run(conn, source, q):
        d = float(row.pop("distance_m"))
        out.append((row, d))
    return out
