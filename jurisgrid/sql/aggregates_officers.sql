-- Current personnel per unit: police officers (distinct persons in a police role), 辅警 and
-- 网格员, from the assignment table. {akey} is the unit id of an assignment at the asked level.
-- "Current" is now — or, inside an edit, the edit's effective instant (jurisgrid.effective), so
-- a dry run's staffing check sees an assignment it ends as ended (editing/staffing.py).
SELECT {akey} AS unit_id,
       count(DISTINCT a.person_id) FILTER (WHERE a.role IN ('chief', 'instructor', 'deputy_chief',
                                                            'officer', 'community_officer')) AS officers,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = 'community_officer') AS community_officers,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = 'auxiliary') AS auxiliaries,
       count(DISTINCT a.person_id) FILTER (WHERE a.role = 'grid_worker') AS grid_workers
FROM assignment a
{ajoins}
WHERE {akey} = ANY(%(ids)s)
  AND a.valid_from <= coalesce(nullif(current_setting('jurisgrid.effective', true), '')::timestamptz, now())
  AND (a.valid_to IS NULL
       OR a.valid_to > coalesce(nullif(current_setting('jurisgrid.effective', true), '')::timestamptz, now()))
GROUP BY {akey}
