-- name: fleet.add_agent_capability
-- description: Adds a capability tag to an agent's capabilities array, once (an agent that has it is left as it is).
-- param: $1 agent_id text = (SELECT id FROM agentry.agents LIMIT 1)
-- param: $2 capability text = 'data:v2'
-- expect: index pk_agents
-- expect: no-seq-scan agents
UPDATE agentry.agents
SET
  capabilities = CASE
    WHEN capabilities @> jsonb_build_array($2::text) THEN capabilities
    ELSE capabilities || jsonb_build_array($2::text)
  END
WHERE
  id = $1
RETURNING
  *
