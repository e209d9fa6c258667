-- The bounds every tile statement starts with. Parameters: $1 z, $2 x, $3 y, $4 crs
-- ('wgs84' | 'gcj02' | 'bd09'), $5..$8 the WGS 84 box of every row that can reach the tile and
-- its buffer (jurisgrid.tiles.layers.read_box: for a shifted crs, the tile's corners moved back
-- exactly). env: the tile in Web Mercator (in the shifted space when crs is not wgs84); tol: one
-- tile unit in degrees, the simplification tolerance; cell: the clustering cell of point layers
-- (32 tile units, metres).
b AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS env,
           ST_MakeEnvelope($5, $6, $7, $8, 4326) AS q,
           360.0 / (4096.0 * 2 ^ $1) AS tol,
           40075016.68557849 / (4096.0 * 2 ^ $1) * 32 AS cell
)
