-- name: knowledge.end_agent_session
-- description: Ends a session that has not ended yet: final status, ended_at (duration is generated from it), and the
-- description: task count and success rate when given (NULL keeps them). No row back: missing, or already ended.
-- param: $1 session_id uuid = (SELECT id FROM agentry.agent_sessions WHERE ended_at IS NULL LIMIT 1)
-- param: $2 status text = 'completed'
-- param: $3 task_count integer = 12
-- param: $4 success_rate numeric = 0.9167
-- expect: index pk_agent_sessions
-- expect: no-seq-scan agent_sessions
UPDATE agentry.agent_sessions
SET
  status = $2,
  ended_at = now(),
  last_activity_at = now(),
  task_count = coalesce($3, task_count),
  success_rate = coalesce($4, success_rate)
WHERE
  id = $1
  AND ended_at IS NULL
RETURNING
  *
