-- name: fleet.register_worker
-- description: Registers a machine as a worker, or, when its machine_id is known (a restart), refreshes its name,
-- description: system info, tools and status and keeps its id. Either way the registration counts as a heartbeat.
-- param: $1 machine_id text = 'build-host-07'
-- param: $2 machine_name text = 'Build host 7'
-- param: $3 system_info jsonb = '{"os": "linux", "cpu": "AMD EPYC 7B13", "memory_total_gb": 64, "disk_total_gb": 512}'
-- param: $4 tools jsonb = '["claude_code", "ollama"]'
-- param: $5 status text = 'online'
-- expect: no-seq-scan workers
INSERT INTO
  agentry.workers (machine_id, machine_name, system_info, tools, status, last_heartbeat)
VALUES
  ($1, $2, $3, $4, $5, now())
ON CONFLICT ON CONSTRAINT uq_workers_machine_id DO UPDATE
SET
  machine_name = EXCLUDED.machine_name,
  system_info = EXCLUDED.system_info,
  tools = EXCLUDED.tools,
  status = EXCLUDED.status,
  last_heartbeat = EXCLUDED.last_heartbeat
RETURNING
  *
