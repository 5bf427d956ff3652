-- name: fleet.find_agents_for_task_type
-- description: Agents a task type routes to (agents.type = task_types.agent_type) in one of the given statuses,
-- description: most trusted first, at most $3. task_types is a reference table of a few dozen rows (reading it
-- description: sequentially is the cheap plan); the agents come by idx_agents_trust_score in order or by idx_agents_type,
-- description: whichever the type's share of the fleet makes cheaper.
-- param: $1 task_type text = 'code_review'
-- param: $2 statuses text[] = ARRAY['online']
-- param: $3 max_count integer = 20
-- expect: no-seq-scan agents
SELECT
  a.*
FROM
  agentry.task_types t
  JOIN agentry.agents a ON a.type = t.agent_type
WHERE
  t.name = $1
  AND a.status = ANY ($2)
ORDER BY
  a.trust_score DESC,
  a.id
LIMIT
  $3
