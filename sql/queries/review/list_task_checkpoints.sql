-- name: review.list_task_checkpoints
-- description: Every checkpoint of a task, oldest first.
-- param: $1 task_id uuid = (SELECT task_id FROM agentry.checkpoints LIMIT 1)
-- expect: index idx_checkpoints_task
-- expect: no-seq-scan checkpoints
SELECT * FROM agentry.checkpoints WHERE task_id = $1 ORDER BY triggered_at, id
