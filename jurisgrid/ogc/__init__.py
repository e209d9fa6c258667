"""OGC API - Features beyond Part 1: CQL2 filters (Part 3), sorting, queryables and the HTML
views. Pure: it builds SQL fragments, JSON Schema and HTML from the collections of
jurisgrid/tiles/features.py; jurisgrid/routes/ogc.py runs them."""
