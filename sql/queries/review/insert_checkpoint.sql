-- name: review.insert_checkpoint
-- description: Opens a checkpoint (pending_review) of a task, with the ids of the subtasks completed so far.
-- param: $1 task_id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
-- param: $2 subtasks_completed jsonb = (SELECT coalesce(jsonb_agg(id), '[]') FROM (SELECT id FROM agentry.tasks LIMIT 3) s)
-- expect: no-seq-scan checkpoints
INSERT INTO agentry.checkpoints (task_id, subtasks_completed) VALUES ($1, $2) RETURNING *
