-- name: telemetry.export_activity_logs
-- description: Activity-log rows created in [$1, $2), oldest first (id breaks ties), streamed by exportActivityLogs.
-- description: The index on created_at feeds an incremental sort: only rows with equal created_at are sorted together.
-- description: The example hour is the middle of the data, inside a whole month: the data's last hour may fall in a month
-- description: a few days old, whose partition is small enough that reading it whole is the cheaper plan.
-- param: $1 created_from timestamptz = (SELECT min(created_at) + (max(created_at) - min(created_at)) / 2 FROM agentry.activity_logs)
-- param: $2 created_to timestamptz = (SELECT min(created_at) + (max(created_at) - min(created_at)) / 2 + interval '1 hour' FROM agentry.activity_logs)
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
