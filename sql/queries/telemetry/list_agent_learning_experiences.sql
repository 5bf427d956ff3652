-- name: telemetry.list_agent_learning_experiences
-- description: Learning experiences of one agent, of one task type when $2 is given (NULL: every task type), newest first.
-- param: $1 agent_id varchar = (SELECT id FROM agentry.agents ORDER BY id LIMIT 1)
-- param: $2 task_type varchar = (SELECT name FROM agentry.task_types ORDER BY name LIMIT 1)
-- param: $3 max_rows integer = 100
-- expect: index idx_learning_experiences_agent_task_type
-- expect: no-seq-scan learning_experiences
SELECT
  id,
  agent_id,
  task_type,
  task_id,
  correction_id,
  source,
  context,
  action,
  outcome,
  reward,
  lesson,
  times_applied,
  created_at
FROM
  agentry.learning_experiences
WHERE
  agent_id = $1
  AND ($2::varchar IS NULL OR task_type = $2::varchar)
ORDER BY
  created_at DESC,
  id
LIMIT
  $3
