-- name: telemetry.export_task_activity_logs
-- description: Activity-log rows of one task created in [$2, $3), oldest first (id breaks ties), streamed by exportActivityLogs.
-- param: $1 task_id uuid = (SELECT task_id FROM agentry.activity_logs WHERE task_id IS NOT NULL LIMIT 1)
-- param: $2 created_from timestamptz = (SELECT min(created_at) FROM agentry.activity_logs)
-- param: $3 created_to timestamptz = (SELECT max(created_at) + interval '1 second' FROM agentry.activity_logs)
-- expect: index idx_activity_logs_task
-- expect: no-seq-scan activity_logs
SELECT
  id,
  task_id,
  worker_id,
  level,
  message,
  metadata,
  created_at
FROM
  agentry.activity_logs
WHERE
  task_id = $1
  AND created_at >= $2
  AND created_at < $3
ORDER BY
  created_at,
  id
