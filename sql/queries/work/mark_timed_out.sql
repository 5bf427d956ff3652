-- name: work.mark_timed_out
-- description: Moves up to $1 running tasks whose timeout_seconds have passed since started_at to
-- description: timeout (a terminal status), oldest start first, recording why in error_message and last_error.
-- description: SKIP LOCKED: a task being updated right now is left for the next run. The workflow and
-- description: agent rows the roll-up trigger updates are locked first, workflows then agents, each in id
-- description: order, so that the batch cannot deadlock with single-task updates, claims or another batch.
-- param: $1 batch_size integer = 100
-- expect: no-seq-scan tasks
WITH
  overdue AS (
    SELECT
      t.id,
      t.workflow_id,
      t.agent_id
    FROM
      agentry.tasks t
    WHERE
      t.status = 'running'
      AND t.timeout_seconds IS NOT NULL
      AND t.started_at + t.timeout_seconds * interval '1 second' < now()
    ORDER BY
      t.started_at
    LIMIT
      $1
    FOR UPDATE OF
      t SKIP LOCKED
  ),
  locked_workflows AS (
    SELECT
      w.id
    FROM
      agentry.workflows w
    WHERE
      w.id IN (SELECT o.workflow_id FROM overdue o)
    ORDER BY
      w.id
    FOR NO KEY UPDATE OF
      w
  ),
  locked_agents AS (
    SELECT
      a.id
    FROM
      agentry.agents a
    WHERE
      (SELECT count(*) FROM locked_workflows) >= 0
      AND a.id IN (SELECT o.agent_id FROM overdue o)
    ORDER BY
      a.id
    FOR NO KEY UPDATE OF
      a
  ),
  timed_out AS (
    UPDATE agentry.tasks t
    SET
      status = 'timeout',
      error_message = format('timed out: still running %s s after it started', t.timeout_seconds),
      last_error = format('timed out: still running %s s after it started', t.timeout_seconds)
    FROM
      overdue
    WHERE
      t.id = overdue.id
      -- The gate: every lock above is taken before the first task is updated.
      AND (SELECT count(*) FROM locked_agents) >= 0
    RETURNING
      t.*
  )
SELECT
  *
FROM
  timed_out
ORDER BY
  started_at,
  id
