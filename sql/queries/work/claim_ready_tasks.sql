-- name: work.claim_ready_tasks
-- description: Claims up to $3 ready tasks for a worker and/or agent: queued, every dependency completed,
-- description: most urgent first (priority 10 first, then oldest), optionally only of the given types
-- description: and required capability. FOR UPDATE SKIP LOCKED lets concurrent claimers take disjoint
-- description: batches without waiting on each other. Moves them to $6 ('assigned' or 'running'),
-- description: records who claimed them (worker_id, agent_id: NULL when not given) and returns them in claim order.
-- param: $1 worker_id uuid = (SELECT id FROM agentry.workers LIMIT 1)
-- param: $2 agent_id varchar = NULL
-- param: $3 batch_size integer = 10
-- param: $4 types varchar[] = NULL
-- param: $5 capability varchar = NULL
-- param: $6 to_status agentry.task_status = 'assigned'
-- expect: index idx_tasks_status_priority
-- expect: no-seq-scan tasks
WITH
  picked AS (
    SELECT
      t.id
    FROM
      agentry.tasks t
    WHERE
      t.status = 'queued'
      AND ($4::varchar[] IS NULL OR t.type = ANY ($4::varchar[]))
      AND ($5::varchar IS NULL OR t.capability_required = $5::varchar)
      -- Ready: no dependency that is not completed (completed is terminal, so a task once ready stays ready).
      AND NOT EXISTS (
        SELECT
          1
        FROM
          agentry.task_dependencies d
          JOIN agentry.tasks dep ON dep.id = d.depends_on_id
        WHERE
          d.task_id = t.id
          AND dep.status <> 'completed'
      )
    ORDER BY
      t.priority DESC,
      t.created_at
    LIMIT
      $3
    FOR UPDATE OF
      t SKIP LOCKED
  ),
  claimed AS (
    UPDATE agentry.tasks t
    SET
      status = $6,
      worker_id = $1,
      agent_id = $2
    FROM
      picked
    WHERE
      t.id = picked.id
    RETURNING
      t.*
  )
SELECT
  *
FROM
  claimed
ORDER BY
  priority DESC,
  created_at,
  id
