-- name: knowledge.get_agent_session
-- description: One agent session by id, every column.
-- param: $1 session_id uuid = (SELECT id FROM agentry.agent_sessions LIMIT 1)
-- expect: index pk_agent_sessions
-- expect: no-seq-scan agent_sessions
SELECT * FROM agentry.agent_sessions WHERE id = $1
