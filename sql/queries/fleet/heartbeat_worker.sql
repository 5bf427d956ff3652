-- name: fleet.heartbeat_worker
-- description: A worker's heartbeat: stamps last_heartbeat, stores the gauges it sent (a NULL gauge keeps the last value)
-- description: and brings an offline worker back online (a busy one stays busy).
-- param: $1 worker_id uuid = (SELECT id FROM agentry.workers LIMIT 1)
-- param: $2 cpu_percent numeric = 42.5
-- param: $3 memory_percent numeric = 61.25
-- param: $4 disk_percent numeric = NULL
-- expect: index pk_workers
-- expect: no-seq-scan workers
UPDATE agentry.workers
SET
  cpu_percent = coalesce($2, cpu_percent),
  memory_percent = coalesce($3, memory_percent),
  disk_percent = coalesce($4, disk_percent),
  last_heartbeat = now(),
  status = CASE
    WHEN status = 'offline' THEN 'online'
    ELSE status
  END
WHERE
  id = $1
RETURNING
  *
