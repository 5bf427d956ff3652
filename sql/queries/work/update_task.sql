-- name: work.update_task
-- description: Updates a task under optimistic locking (only while its version is still $2): moves it to
-- description: status $3 (NULL: keeps its status), applies the patch $4 (a JSON object of the columns listed;
-- description: keys left out keep their value) and adds the usage $5 tokens / $6 USD to its totals.
-- description: trg_tasks_status_transition refuses a move the state machine does not list. A move to the
-- description: status the task already has is no move (the trigger would let it through as a plain update),
-- description: so it matches nothing. No row back: a stale version, no such task, or already in status $3.
-- param: $1 id uuid = (SELECT id FROM agentry.tasks WHERE status = 'queued' LIMIT 1)
-- param: $2 expected_version integer = (SELECT version FROM agentry.tasks WHERE status = 'queued' LIMIT 1)
-- param: $3 to_status agentry.task_status = 'running'
-- param: $4 patch jsonb = '{"progress": 50}'
-- param: $5 tokens_delta integer = 0
-- param: $6 cost_delta numeric = 0
-- expect: index pk_tasks
-- expect: no-seq-scan tasks
UPDATE agentry.tasks t
SET
  status = coalesce($3::agentry.task_status, t.status),
  (
    output,
    error_message,
    error_details,
    last_error,
    progress,
    metadata,
    parameters,
    assigned_tool,
    recommended_tool,
    actual_hours,
    worker_id,
    agent_id,
    cancelled_by,
    cancellation_reason
  ) = (
    SELECT
      p.output,
      p.error_message,
      p.error_details,
      p.last_error,
      p.progress,
      p.metadata,
      p.parameters,
      p.assigned_tool,
      p.recommended_tool,
      p.actual_hours,
      p.worker_id,
      p.agent_id,
      p.cancelled_by,
      p.cancellation_reason
    FROM
      jsonb_populate_record(t, $4::jsonb) AS p
  ),
  tokens_used = t.tokens_used + $5,
  cost_usd = t.cost_usd + $6
WHERE
  t.id = $1
  AND t.version = $2
  AND ($3::agentry.task_status IS NULL OR t.status IS DISTINCT FROM $3::agentry.task_status)
RETURNING
  t.*
