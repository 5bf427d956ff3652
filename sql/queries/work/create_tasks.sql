-- name: work.create_tasks
-- description: Inserts a batch of tasks and their dependency edges in one statement, so that a cycle,
-- description: an unknown dependency or any refused row leaves nothing behind. $1 is a JSON array of
-- description: task objects (columns of agentry.tasks, typed by jsonb_populate_record) each with an
-- description: optional "depends_on" array of task ids, existing or created in the same batch. Columns
-- description: left out get the column defaults of the work migration (coalesce below: a fixed column
-- description: list cannot fall back to DEFAULT). Rows come back in input order.
-- param: $1 tasks jsonb = '[{"title": "plan check", "priority": 5, "status": "queued", "depends_on": []}]'
-- expect: no-seq-scan tasks
WITH
  input AS MATERIALIZED (
    SELECT
      e.ord,
      coalesce(r.id, gen_random_uuid()) AS id,
      r,
      e.doc -> 'depends_on' AS depends_on
    FROM
      jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(doc, ord)
      CROSS JOIN LATERAL jsonb_populate_record(NULL::agentry.tasks, e.doc) AS r
  ),
  created AS (
    INSERT INTO
      agentry.tasks (
        id,
        type,
        title,
        description,
        status,
        priority,
        input,
        parameters,
        metadata,
        max_retries,
        retry_policy,
        assigned_agent_type,
        parent_task_id,
        workflow_id,
        plan_id,
        chain_id,
        template_id,
        schedule_id,
        user_id,
        client_id,
        capability_required,
        routing_strategy,
        complexity,
        checkpoint_frequency,
        privacy_level,
        tool_preferences,
        recommended_tool,
        tags,
        timeout_seconds,
        expires_at,
        estimated_hours
      )
    SELECT
      i.id,
      (i.r).type,
      (i.r).title,
      (i.r).description,
      coalesce((i.r).status, 'pending'),
      coalesce((i.r).priority, 5),
      (i.r).input,
      (i.r).parameters,
      coalesce((i.r).metadata, '{}'::jsonb),
      coalesce((i.r).max_retries, 3),
      coalesce((i.r).retry_policy, 'exponential'),
      (i.r).assigned_agent_type,
      (i.r).parent_task_id,
      (i.r).workflow_id,
      (i.r).plan_id,
      (i.r).chain_id,
      (i.r).template_id,
      (i.r).schedule_id,
      (i.r).user_id,
      (i.r).client_id,
      (i.r).capability_required,
      coalesce((i.r).routing_strategy, 'round_robin'),
      (i.r).complexity,
      coalesce((i.r).checkpoint_frequency, 'medium'),
      coalesce((i.r).privacy_level, 'normal'),
      (i.r).tool_preferences,
      (i.r).recommended_tool,
      coalesce((i.r).tags, '{}'::text[]),
      (i.r).timeout_seconds,
      (i.r).expires_at,
      (i.r).estimated_hours
    FROM
      input i
    ORDER BY
      i.ord
    RETURNING
      *
  ),
  edges AS (
    -- Foreign keys are checked at the end of the statement, so an edge may point at a
    -- task of this batch; trg_task_dependencies_no_cycle sees the edges inserted before it.
    INSERT INTO
      agentry.task_dependencies (task_id, depends_on_id)
    SELECT DISTINCT
      i.id,
      d.depends_on_id::uuid
    FROM
      input i
      CROSS JOIN LATERAL jsonb_array_elements_text(i.depends_on) AS d(depends_on_id)
  )
SELECT
  c.*
FROM
  created c
  JOIN input i ON i.id = c.id
ORDER BY
  i.ord
