-- name: telemetry.list_task_type_learning_experiences
-- description: Learning experiences of one task type, whichever agent (or none) learned them, newest first.
-- param: $1 task_type varchar = (SELECT name FROM agentry.task_types ORDER BY name LIMIT 1)
-- param: $2 max_rows integer = 100
-- expect: index idx_learning_experiences_task_type
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
  task_type = $1
ORDER BY
  created_at DESC,
  id
LIMIT
  $2
