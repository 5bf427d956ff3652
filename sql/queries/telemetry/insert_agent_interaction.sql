-- name: telemetry.insert_agent_interaction
-- description: Records one interaction (handoff, collaboration, review, feedback) from one agent to another.
-- param: $1 workflow_id uuid = (SELECT id FROM agentry.workflows LIMIT 1)
-- param: $2 from_agent_id varchar = (SELECT id FROM agentry.agents ORDER BY id LIMIT 1)
-- param: $3 to_agent_id varchar = (SELECT id FROM agentry.agents ORDER BY id DESC LIMIT 1)
-- param: $4 interaction_type varchar = 'handoff'
-- param: $5 message text = 'schema drafted; please review the indexes'
-- param: $6 payload jsonb = '{"files": ["migrations/1764547204000_work.sql"]}'
-- expect: no-seq-scan agent_interactions
-- expect: max-rows 1
INSERT INTO
  agentry.agent_interactions (workflow_id, from_agent_id, to_agent_id, interaction_type, message, payload)
VALUES
  ($1, $2, $3, $4, $5, $6)
RETURNING
  id,
  workflow_id,
  from_agent_id,
  to_agent_id,
  interaction_type,
  message,
  payload,
  created_at
