"""Import and export of grids, units, address points and incidents (issue 3 §6).

- ``formats``: GeoJSON, GeoPackage, Shapefile and CSV through pyogrio (GDAL), coordinate
  systems (WGS84/CGCS2000/GCJ02/BD09) both ways — files only, no database.
- ``kinds``: per kind of feature, its fields (≤ 10 characters: Shapefile) and the validation of
  one feature — pure, given the reference data (codes, county outline) as arguments.
- ``load``: the database side: reference data, all-or-nothing loading, grids inside a revision.
- ``export``: the database rows of a layer, written by ``formats``.
"""
