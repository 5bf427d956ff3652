-- name: work.get_workflow_progress
-- description: A workflow's progress from the counters the task roll-up triggers keep: tasks in all
-- description: and per end state, those still to finish, percent finished (completed, failed, timed out
-- description: or cancelled, of all; 0 while it has no task), usage and times. No row: no such workflow.
-- param: $1 workflow_id uuid = (SELECT id FROM agentry.workflows LIMIT 1)
-- expect: index pk_workflows
-- expect: no-seq-scan workflows
SELECT
  w.id,
  w.name,
  w.status,
  w.total_tasks,
  w.completed_tasks,
  w.failed_tasks,
  w.cancelled_tasks,
  w.total_tasks - w.completed_tasks - w.failed_tasks - w.cancelled_tasks AS remaining_tasks,
  (
    CASE
      WHEN w.total_tasks = 0 THEN 0
      ELSE 100.0 * (w.completed_tasks + w.failed_tasks + w.cancelled_tasks) / w.total_tasks
    END
  )::numeric(5, 2) AS percent_complete,
  w.total_tokens_used,
  w.total_cost_usd,
  w.started_at,
  w.completed_at,
  w.duration_ms
FROM
  agentry.workflows w
WHERE
  w.id = $1
