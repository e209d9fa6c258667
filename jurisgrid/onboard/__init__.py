"""Bring your own jurisdiction: ``jurisgrid load`` — whole counties from the files a bureau has.

- ``columns``: which file holds which kind, which column which field (names, synonyms).
- ``manifest``: the optional TOML manifest; finding files by name without one.
- ``readers``: GeoPackage / Shapefile / GeoJSON (via ``io.formats``), CSV and Excel → tables.
- ``plan``: what will be written, and the report.
- ``build``: validation, derivation of missing units, topology repair (``geo.topology``).
- ``write``: one transaction, the demo loader's COPY + set-based inserts, invariants checked.
- ``pipeline``: all of it, all or nothing.
"""
