-- name: work.schedule_retry
-- description: Moves a failed task (still at version $2) to retrying when it has retries left and its
-- description: retry_policy is not 'none', and sets next_retry_at = now() + the backoff of retry n
-- description: (n = retry_count + 1, the retry being scheduled; trg_tasks_status_transition counts it):
-- description: fixed $3 s; linear $3 * n s; exponential $3 * 2^(n-1) s; each at most $4 s.
-- description: No row back: no retry (policy 'none', retries used up, not failed, or a newer version).
-- param: $1 id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
-- param: $2 expected_version integer = (SELECT version FROM agentry.tasks LIMIT 1)
-- param: $3 base_seconds numeric = 30
-- param: $4 cap_seconds numeric = 3600
-- expect: no-seq-scan tasks
UPDATE agentry.tasks t
SET
  status = 'retrying',
  next_retry_at = now() + least(
    $3::numeric * CASE t.retry_policy
      WHEN 'fixed' THEN 1
      WHEN 'linear' THEN t.retry_count + 1
      WHEN 'exponential' THEN 2::numeric ^ t.retry_count
    END,
    $4::numeric
  ) * interval '1 second'
WHERE
  t.id = $1
  AND t.version = $2
  AND t.status = 'failed'
  AND t.retry_policy <> 'none'
  AND t.retry_count < t.max_retries
RETURNING
  t.*
