-- name: work.get_task_version
-- description: The current version and status of a task (no row: there is no such task). Tells a stale
-- description: optimistic-lock version apart from a missing task after an update matched nothing.
-- param: $1 id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
-- expect: index pk_tasks
-- expect: no-seq-scan tasks
SELECT version, status FROM agentry.tasks WHERE id = $1
