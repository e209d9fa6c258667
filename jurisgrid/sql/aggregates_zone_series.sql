-- Incidents per unit and local month at the zone, station, sector and county levels: full months
-- from the zone rollup, the partial months at the window's ends from the incidents themselves.
SELECT {zkey} AS unit_id, d.month AS start, sum(d.n)::bigint AS n
FROM (
    SELECT r.zone_id, r.month, r.n FROM sizing_zone_incidents r
    WHERE %(use_rollup)s
      AND (%(full_start)s::timestamptz IS NULL OR r.month >= %(full_start)s::timestamptz)
      AND (%(full_end)s::timestamptz IS NULL OR r.month < %(full_end)s::timestamptz)
    UNION ALL
    SELECT g.zone_id, date_trunc('month', i.occurred_at AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s, 1
    FROM incident i JOIN grid g ON g.id = i.grid_id
    WHERE (i.occurred_at >= %(a0)s::timestamptz AND i.occurred_at < %(a1)s::timestamptz)
       OR (i.occurred_at >= %(b0)s::timestamptz AND i.occurred_at < %(b1)s::timestamptz)
) d
{zjoins}
WHERE {zkey} = ANY(%(ids)s)
GROUP BY 1, 2
HAVING sum(d.n) > 0
ORDER BY 1, 2
