"""Vector tiles (ST_AsMVT) with per-tile cache validation, and OGC API - Features queries."""
