-- name: knowledge.insert_context_vector
-- description: Adds a context vector to a session and marks the session active just now (last_activity_at), in one
-- description: statement. No row back means the session does not exist.
-- param: $1 session_id uuid = (SELECT id FROM agentry.agent_sessions LIMIT 1)
-- param: $2 vector_data real[] = ARRAY[0.12, -0.5, 0.33, 0.9]::real[]
-- param: $3 context_type text = 'semantic'
-- param: $4 confidence_score numeric = 0.8
-- expect: index pk_agent_sessions
-- expect: no-seq-scan agent_sessions
WITH
  session AS (UPDATE agentry.agent_sessions SET last_activity_at = now() WHERE id = $1 RETURNING id)
INSERT INTO
  agentry.context_vectors (agent_session_id, vector_data, context_type, confidence_score)
SELECT
  session.id,
  $2,
  $3,
  $4
FROM
  session
RETURNING
  *
