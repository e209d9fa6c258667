-- The bounds every tile statement starts with. Parameters: $1 z, $2 x, $3 y, $4 crs
-- ('wgs84' | 'gcj02' | 'bd09'), $5..$8 the WGS 84 box of every row that can reach the tile and
-- its buffer (jurisgrid.tiles.layers.read_box: for a shifted crs, the tile's corners moved back
-- exactly). env: the tile in Web Mercator (in the shifted space when crs is not wgs84); tol: one
-- tile unit in degrees, the simplification tolerance; cell: the clustering cell of point layers
-- (32 tile units, metres); near: the tile plus 32 of its 4096 units each side, in tile
-- coordinates — a polygon whose clipped shape misses it lies only in the 64-unit buffer band,
-- where nothing of it shows (the widest outline the map draws is 6 px, 24 units at 512 px
-- tiles, half of it outside the shape), and is left out of the tile.
b AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           ST_MakeEnvelope($5, $6, $7, $8, 4326) AS q,
           360.0 / (4096.0 * 2 ^ $1) AS tol,
           40075016.68557849 / (4096.0 * 2 ^ $1) * 32 AS cell,
           ST_MakeEnvelope(-32, -32, 4128, 4128, 3857) AS near  -- ST_AsMVTGeom keeps the SRID
)
