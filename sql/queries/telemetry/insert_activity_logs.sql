-- name: telemetry.insert_activity_logs
-- description: Inserts one chunk of activity-log rows given as parallel arrays (row i is element i of every array), in
-- description: array order; returns how many rows were inserted. A NULL created_at stands for the column's default (now()).
-- param: $1 task_ids uuid[] = ARRAY[(SELECT id FROM agentry.tasks LIMIT 1), NULL]
-- param: $2 worker_ids uuid[] = ARRAY[(SELECT id FROM agentry.workers LIMIT 1), NULL]
-- param: $3 levels varchar[] = ARRAY['info', 'error']
-- param: $4 messages text[] = ARRAY['task claimed', 'tool call failed: timeout after 30 s']
-- param: $5 metadata jsonb[] = ARRAY['{"attempt": 1}', NULL]::jsonb[]
-- param: $6 created_ats timestamptz[] = ARRAY[now() - interval '5 seconds', NULL]
-- expect: no-seq-scan activity_logs
-- expect: max-rows 1
WITH
  inserted AS (
    INSERT INTO
      agentry.activity_logs (task_id, worker_id, level, message, metadata, created_at)
    SELECT
      l.task_id,
      l.worker_id,
      l.level,
      l.message,
      l.metadata,
      coalesce(l.created_at, now())
    FROM
      unnest(
        $1::uuid[],
        $2::uuid[],
        $3::varchar[],
        $4::text[],
        $5::jsonb[],
        $6::timestamptz[]
      ) AS l (task_id, worker_id, level, message, metadata, created_at)
    RETURNING
      1
  )
SELECT
  count(*)::integer AS inserted
FROM
  inserted
