-- name: review.move_task_to_checkpoint
-- description: Moves a running task to checkpoint, only at the version the caller read (optimistic lock).
-- description: No row back means the task is missing, was changed since, or is at checkpoint already (the trigger judges changes only, so the statement excludes checkpoint -> checkpoint); trg_tasks_status_transition refuses any other move.
-- param: $1 task_id uuid = (SELECT id FROM agentry.tasks WHERE status = 'running' LIMIT 1)
-- param: $2 expected_version integer = (SELECT version FROM agentry.tasks WHERE status = 'running' LIMIT 1)
-- expect: index pk_tasks
-- expect: no-seq-scan tasks
UPDATE agentry.tasks SET status = 'checkpoint' WHERE id = $1 AND version = $2 AND status <> 'checkpoint' RETURNING *
