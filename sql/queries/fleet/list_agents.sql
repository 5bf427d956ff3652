-- name: fleet.list_agents
-- description: Agents, optionally only those in a status and/or advertising every capability tag of a JSON array
-- description: (jsonb containment, served by idx_agents_capabilities_gin), by name, at most $3.
-- description: A NULL filter is no filter; the DAL's statements are planned with their values, so it folds away.
-- param: $1 status text = NULL
-- param: $2 capabilities jsonb = '["ml:v1"]'
-- param: $3 max_count integer = 100
-- expect: index idx_agents_capabilities_gin
-- expect: no-seq-scan agents
SELECT
  *
FROM
  agentry.agents
WHERE
  ($1::text IS NULL OR status = $1)
  AND ($2::jsonb IS NULL OR capabilities @> $2)
ORDER BY
  name
LIMIT
  $3
