-- Incidents per unit and category in [since, until), over the stored memberships.
SELECT {key} AS unit_id, i.category, count(*) AS n
FROM incident i
JOIN grid g ON g.id = i.grid_id
{joins}
WHERE {key} = ANY(%(ids)s)
  AND (%(since)s::timestamptz IS NULL OR i.occurred_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR i.occurred_at < %(until)s::timestamptz)
GROUP BY {key}, i.category
