-- Incidents per unit and category at the zone, station, sector and county levels: the full local
-- months of the window from the zone rollup sizing_zone_incidents, the partial months at either
-- end (ranges [a0, a1) and [b0, b1), NULL = none) from the incidents themselves.
SELECT {zkey} AS unit_id, d.category, sum(d.n)::bigint AS n
FROM (
    SELECT r.zone_id, r.category, r.n FROM sizing_zone_incidents r
    WHERE %(use_rollup)s
      AND (%(full_start)s::timestamptz IS NULL OR r.month >= %(full_start)s::timestamptz)
      AND (%(full_end)s::timestamptz IS NULL OR r.month < %(full_end)s::timestamptz)
    UNION ALL
    SELECT g.zone_id, i.category, 1 FROM incident i JOIN grid g ON g.id = i.grid_id
    WHERE (i.occurred_at >= %(a0)s::timestamptz AND i.occurred_at < %(a1)s::timestamptz)
       OR (i.occurred_at >= %(b0)s::timestamptz AND i.occurred_at < %(b1)s::timestamptz)
) d
{zjoins}
WHERE {zkey} = ANY(%(ids)s)
GROUP BY 1, 2
HAVING sum(d.n) > 0
