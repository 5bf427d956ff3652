-- name: work.requeue_due_retries
-- description: Moves up to $1 retrying tasks whose next_retry_at has passed back to queued, longest
-- description: due first, and clears next_retry_at. SKIP LOCKED: concurrent runs take disjoint rows.
-- description: The workflow rows the roll-up trigger updates are locked first, in id order, so that the
-- description: batch cannot deadlock with a claim or another batch over the same workflows.
-- param: $1 batch_size integer = 100
-- expect: index idx_tasks_retry_due
-- expect: no-seq-scan tasks
WITH
  due AS (
    SELECT
      t.id,
      t.workflow_id
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
  locked_workflows AS (
    SELECT
      w.id
    FROM
      agentry.workflows w
    WHERE
      w.id IN (SELECT d.workflow_id FROM due d)
    ORDER BY
      w.id
    FOR NO KEY UPDATE OF
      w
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
      -- The gate: the workflow locks are taken before the first task is updated.
      AND (SELECT count(*) FROM locked_workflows) >= 0
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
