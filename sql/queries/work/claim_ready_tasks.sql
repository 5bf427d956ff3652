-- name: work.claim_ready_tasks
-- description: Claims up to $3 ready tasks for a worker and/or agent: queued, every dependency completed,
-- description: most urgent first (priority 10 first, then oldest), optionally only of the given types
-- description: and required capability. FOR UPDATE SKIP LOCKED lets concurrent claimers take disjoint
-- description: batches without waiting on each other. Moves them to $6 ('assigned' or 'running'),
-- description: records who claimed them (worker_id, agent_id: NULL when not given) and returns them in claim order.
-- description: The roll-up trigger writes a workflow row only on its first start (a claim changes no counter)
-- description: and the agent rows when the claimant changes: those rows are locked first, workflows then agents,
-- description: each in id order (the order of a single-task update: its workflow, then its agent), so that
-- description: concurrent batches cannot deadlock, as they did when the trigger took them in row order. Workflows
-- description: that have started already are not locked: claims in one workflow do not queue on its row.
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
      t.id,
      t.workflow_id,
      t.agent_id
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
  locked_workflows AS (
    SELECT
      w.id
    FROM
      agentry.workflows w
    WHERE
      w.id IN (SELECT p.workflow_id FROM picked p)
      AND $6::agentry.task_status = 'running'
      AND w.started_at IS NULL
    ORDER BY
      w.id
    FOR NO KEY UPDATE OF
      w
  ),
  -- The gate (an init plan, run before the first row is read) takes the workflow locks before these.
  locked_agents AS (
    SELECT
      a.id
    FROM
      agentry.agents a
    WHERE
      (SELECT count(*) FROM locked_workflows) >= 0
      AND a.id IN (SELECT p.agent_id FROM picked p UNION SELECT $2::varchar FROM picked p)
    ORDER BY
      a.id
    FOR NO KEY UPDATE OF
      a
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
      -- The gate: every lock above is taken before the first task is updated.
      AND (SELECT count(*) FROM locked_agents) >= 0
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
