-- name: fleet.set_worker_status
-- description: Sets a worker's status (online, offline, busy; chk_workers_status holds the vocabulary).
-- param: $1 worker_id uuid = (SELECT id FROM agentry.workers LIMIT 1)
-- param: $2 status text = 'busy'
-- expect: index pk_workers
-- expect: no-seq-scan workers
UPDATE agentry.workers SET status = $2 WHERE id = $1 RETURNING *
