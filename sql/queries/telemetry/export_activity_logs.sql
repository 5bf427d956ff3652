-- name: telemetry.export_activity_logs
-- description: Activity-log rows created in [$1, $2), oldest first (id breaks ties), streamed by exportActivityLogs.
-- description: The index on created_at feeds an incremental sort: only rows with equal created_at are sorted together.
-- param: $1 created_from timestamptz = (SELECT max(created_at) - interval '1 hour' FROM agentry.activity_logs)
-- param: $2 created_to timestamptz = (SELECT max(created_at) FROM agentry.activity_logs)
-- expect: index idx_activity_logs_created_at
-- expect: partitions activity_logs <= 2
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
  created_at >= $1
  AND created_at < $2
ORDER BY
  created_at,
  id
