"""Repair of a messy polygon coverage — independently digitised neighbours (pure Shapely/numpy).

Files a bureau already has were drawn polygon by polygon: neighbours overlap a little, leave
slivers between them, stick out of the county, and now and then a ring crosses itself.
:func:`repair_coverage` turns such a set into a coverage the database's invariants accept, by
stated rules, and lists every repair (what, where, how much, who gained it); in strict mode it
lists the problems and refuses instead.

Units and frame. Inputs are EPSG:4326 longitude/latitude. Lengths and areas are reported in
metres and m², on the equirectangular local scale at the latitude of the middle of the
coverage (``M_PER_DEG`` metres per degree of latitude, times cos φ per degree of longitude),
the scale ``geo/validate.area_m2`` uses: one scale for the whole call, so the areas of the
pieces of one repair add up exactly. The tolerance is applied in degrees of latitude
(``tolerance_m / M_PER_DEG``), i.e. ``tolerance_m · cos φ`` east–west: never more than asked.

Rules, in the order they run:

0. **Clean input is returned untouched.** When every polygon is valid and the overlaps, the
   gaps and the parts outside the outline each total at most ``CLEAN_M2`` (0.01 m², the
   database's invariant tolerance), the input objects come back as they are, with no repair:
   a stored geometry is never treated as an edit of itself, whether or not its coordinates lie
   on the 1e-7° lattice. Otherwise every piece larger than ``NOISE_M2`` (1 mm²) is repaired,
   and every polygon whose shape no repair changed keeps its input geometry exactly.
1. **Invalid rings** are fixed with ``make_valid`` (``structure`` method: shells bound area,
   holes remove it), keeping the polygonal parts — ``made_valid``.
2. **Snapping** (vertex clustering): a vertex of a polygon that takes part in a problem (an
   overlap, a gap or a part outside the outline) moves onto a vertex within the tolerance that
   belongs to another polygon or to the outline and ranks higher — outline vertices first,
   then vertices shared by more polygons (the neighbours' consensus), then the vertex of the
   smaller key. Vertices of the other polygons never move; a move that would make a polygon
   invalid is not applied — ``snapped_vertices``, with the area the shape changed by.
3. **Clip to the outline** (when one is given): parts outside are dropped — ``clipped_to_outline``.
4. **Overlaps.** A polygon lying wholly inside another (an island drawn on top, no hole cut
   for it) keeps its area and the other loses it. Then the coverage is noded (GEOS' coverage
   cleaner; vertices closer than 1e-8°, a tenth of the lattice, ~1 mm, merge) into faces, and
   every face covered by more than one polygon goes to the one of them whose own part (what
   it covers alone, plus the faces already given to it — faces are merged one at a time)
   shares the longest border with the face, in metres. The others lose it —
   ``overlap_assigned``. So a corner poking into a neighbour is cut off (the neighbour
   surrounds it), and a strip along a shifted edge goes to the side it borders longer. An
   exact tie (equal to the last bit; only constructed data has them) goes to the polygon the
   cleaner meets first in its spatial index: deterministic, not always the smallest key.
5. **Gaps**: every piece of the outline that no polygon covers (without an outline: every hole
   of the union) goes to the polygon sharing the longest border with it (tie → smallest key)
   when that is at least a third of the piece's border with polygons, or that border is at
   most 50 m long — ``gap_filled``, or ``hole_filled`` when it was a hole of that polygon
   alone. Otherwise (a long sliver along many polygons, e.g. between the coverage and an
   outline digitised elsewhere) the piece is first cut across wherever the polygon bordering
   it changes (the shortest line from that point to the opposite side), and each part goes
   to the polygon sharing the longest border with it — one ``gap_filled`` per part. A piece
   thinner than the tolerance, or smaller than ``sliver_m2``, is flagged as a sliver. A piece
   that borders no polygon along an edge (a part of the outline with no polygon in it) cannot
   be repaired.
6. **Slivers of a polygon**: a part of a multi-part polygon changed by the steps above, thinner
   than the tolerance (or smaller than ``sliver_m2``), goes to the neighbour sharing the
   longest border with it (if it touches none along an edge, it stays) — ``sliver_dropped``.
   Parts of at most 1 mm² are overlay residue and are dropped unlisted.
7. **No T-junctions**: among the changed polygons and their neighbours, vertices closer than
   1e-9° (0.1 mm) merge, and a vertex of one lying on another's edge is inserted into that
   edge (the database measures areas on the sphere, where a T-junction opens a sliver). This
   moves no shape by more than 0.2 mm and is listed as no repair, but the neighbour counts as
   ``changed``.

Result: polygons in input order, each valid, each Polygon or MultiPolygon (a Polygon input
that stays in one piece stays a Polygon); pairwise overlaps and gaps inside the outline below
0.01 m². Coordinates are not moved to the lattice: untouched polygons keep theirs, repaired
ones keep the input vertices and gain exact intersection points (snapping a repaired polygon to
the lattice would open sub-lattice slivers against untouched neighbours).

Z values are ignored: polygons no repair changed come back as given, repaired ones in 2D.

Each :class:`Repair` says, in ``changes``, by how many m² it changed each polygon it names (the
sum over the repairs of one polygon is its area change, input → output; an invalid input is
counted by the area of its ``make_valid`` repair). A polygon that a repair would leave with no
area (a duplicate, a polygon entirely outside the outline) cannot be repaired: that, bad input
and strict mode raise :class:`TopologyError` with every :class:`Problem`. Nothing here imports
the project's errors: callers map :class:`TopologyError` to their own.

Modules, by step: ``model`` (the public types and thresholds), ``measure`` (the metric scale
and the piece geometry the steps share), ``detect`` (input checks and problems; rule 0),
``noding`` (snapping, the coverage cleaner, T-junctions; rules 2, 4, 7), ``assign`` (clipping,
islands, gaps, slivers; rules 3–6), ``ledger`` (the repairs written down) and ``repair``
(:func:`repair_coverage`, the rules in order). The public names are all here.
"""

from __future__ import annotations

from jurisgrid.geo.topology.assign import GAP_SPLIT_MIN_M, GAP_SPLIT_SHARE
from jurisgrid.geo.topology.detect import find_problems
from jurisgrid.geo.topology.model import (
    CLEAN_M2,
    NOISE_M2,
    CoverageRepair,
    Polygonal,
    Problem,
    ProblemKind,
    Repair,
    RepairKind,
    TopologyError,
)
from jurisgrid.geo.topology.noding import NODE_SNAP_DEG
from jurisgrid.geo.topology.repair import repair_coverage

__all__ = [
    "CLEAN_M2",
    "GAP_SPLIT_MIN_M",
    "GAP_SPLIT_SHARE",
    "NODE_SNAP_DEG",
    "NOISE_M2",
    "CoverageRepair",
    "Polygonal",
    "Problem",
    "ProblemKind",
    "Repair",
    "RepairKind",
    "TopologyError",
    "find_problems",
    "repair_coverage",
]
