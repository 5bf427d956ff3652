-- name: fleet.list_agents
-- description: Agents, optionally only those in a status and/or advertising every capability tag of a JSON array
-- description: (jsonb containment, served by idx_agents_capabilities_gin), by name, at most $3.
-- description: A NULL filter is no filter; the DAL's statements are planned with their values, so it folds away.
-- param: $1 status text = NULL
-- param: $2 capabilities jsonb = '["ml:v1"]'
-- param: $3 max_count integer = 100
-- description: Plan: when the capabilities asked for are common (half the agents at demo scale 100), walking
-- description: uq_agents_name in order until $3 match is cheaper than the GIN index and a sort; the planner picks
-- description: between them by selectivity, so the check bounds the cost instead of naming one index.
-- expect: no-seq-scan agents
-- expect: max-cost 2000
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
