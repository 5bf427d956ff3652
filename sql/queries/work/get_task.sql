-- name: work.get_task
-- description: One task by id, every column.
-- param: $1 id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
-- expect: index pk_tasks
-- expect: no-seq-scan tasks
SELECT * FROM agentry.tasks WHERE id = $1
