-- name: work.requeue_due_retries
-- description: Moves up to $1 retrying tasks whose next_retry_at has passed back to queued, longest
-- description: due first, and clears next_retry_at. SKIP LOCKED: concurrent runs take disjoint rows.
-- description: retrying -> queued changes no roll-up counter, so the trigger writes no workflow or agent row
-- description: and the batch needs no lock order (migration hot_paths).
-- param: $1 batch_size integer = 100
-- expect: index idx_tasks_retry_due
-- expect: no-seq-scan tasks
WITH
  due AS (
    SELECT
      t.id
    FROM
      agentry.tasks t
    WHERE
      t.status = 'retrying'
      AND t.next_retry_at <= now()
    ORDER BY
      t.next_retry_at
    LIMIT
      $1
    FOR UPDATE OF
      t SKIP LOCKED
  ),
  requeued AS (
    UPDATE agentry.tasks t
    SET
      status = 'queued',
      next_retry_at = NULL
    FROM
      due
    WHERE
      t.id = due.id
    RETURNING
      t.*
  )
SELECT
  *
FROM
  requeued
ORDER BY
  priority DESC,
  created_at,
  id
