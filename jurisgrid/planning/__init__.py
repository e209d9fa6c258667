"""Planning core (issue 12, items 2 and 4): plan metrics and automatic balancing.

Pure numeric and graph code over an in-memory ``UnitSet`` (no database, no GraphQL):

- ``units``    — the units of a scope: codes, lon/lat geometries, measures, village and parent keys;
- ``geometry`` — metric areas/perimeters from lon/lat and rook adjacency with shared lengths;
- ``metrics``  — per-district totals, deviations, contiguity, compactness, split villages, moves,
  seat distances for any assignment unit → district;
- ``balance``  — ``Balancer(params).solve(problem)``: METIS start, simulated annealing with
  connectivity kept, a compactness pass, and a diagnosis of what limits the balance;
- ``source``   — the one adapter that reads a scope's grids from the database.
"""
