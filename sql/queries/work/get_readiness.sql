-- name: work.get_readiness
-- description: Readiness (task_readiness) of the given tasks: dependencies not yet completed and
-- description: whether the task is blocked. Tasks that do not exist have no row.
-- param: $1 task_ids uuid[] = ARRAY(SELECT id FROM agentry.tasks LIMIT 3)
-- expect: index pk_tasks
-- expect: no-seq-scan tasks
SELECT
  r.task_id,
  r.unmet_dependencies,
  r.blocked_by,
  r.is_blocked
FROM
  agentry.task_readiness r
WHERE
  r.task_id = ANY ($1::uuid[])
