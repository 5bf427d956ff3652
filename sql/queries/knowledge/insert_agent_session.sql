-- name: knowledge.insert_agent_session
-- description: Starts an agent's working session (status active). A NULL for a column with a default means that default.
-- param: $1 agent_id text = (SELECT id FROM agentry.agents LIMIT 1)
-- param: $2 context_snapshot jsonb = '{"task": "refactor parser", "open_files": ["src/parser.ts"]}'
-- param: $3 mobile_session_id text = NULL
-- param: $4 device_info jsonb = '{}'
-- param: $5 metadata jsonb = '{"client": "cli"}'
-- expect: no-seq-scan agent_sessions
INSERT INTO
  agentry.agent_sessions (agent_id, context_snapshot, mobile_session_id, device_info, metadata)
VALUES
  ($1, coalesce($2::jsonb, '{}'), $3, coalesce($4::jsonb, '{}'), coalesce($5::jsonb, '{}'))
RETURNING
  *
