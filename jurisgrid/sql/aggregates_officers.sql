-- Current personnel per unit: police officers (distinct persons in a police role), 辅警 and
-- 网格员, from the assignment table. {akey} is the unit id of an assignment at the asked level.
SELECT {akey} AS unit_id,
       count(DISTINCT a.person_id) FILTER (WHERE a.role IN ('chief', 'instructor', 'deputy_chief',
                                                            'officer', 'community_officer')) AS officers,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = 'community_officer') AS community_officers,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = 'auxiliary') AS auxiliaries,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = 'grid_worker') AS grid_workers
FROM assignment a
{ajoins}
WHERE {akey} = ANY(%(ids)s)
  AND a.valid_from <= now() AND (a.valid_to IS NULL OR a.valid_to > now())
GROUP BY {akey}
