-- name: work.mark_timed_out
-- description: Moves up to $1 running tasks whose timeout_seconds have passed since started_at to
-- description: timeout (a terminal status), oldest start first, recording why in error_message and last_error.
-- description: SKIP LOCKED: a task being updated right now is left for the next run.
-- param: $1 batch_size integer = 100
-- expect: no-seq-scan tasks
WITH
  overdue AS (
    SELECT
      t.id
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
