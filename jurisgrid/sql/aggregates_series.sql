-- Incidents per unit and period (month or week of the local calendar in the policy's time zone)
-- in [since, until); start is the instant the local period begins.
SELECT {key} AS unit_id,
       date_trunc(%(interval)s, i.occurred_at AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s AS start,
       count(*) AS n
FROM incident i
JOIN grid g ON g.id = i.grid_id
{joins}
WHERE {key} = ANY(%(ids)s)
  AND (%(since)s::timestamptz IS NULL OR i.occurred_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR i.occurred_at < %(until)s::timestamptz)
GROUP BY 1, 2
ORDER BY 1, 2
