-- name: review.get_task_version
-- description: A task's id, status and version: tells a missing task from a stale version after an optimistic update matched nothing.
-- param: $1 task_id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
-- expect: index pk_tasks
-- expect: no-seq-scan tasks
SELECT id, status, version FROM agentry.tasks WHERE id = $1
