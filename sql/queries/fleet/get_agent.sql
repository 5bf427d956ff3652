-- name: fleet.get_agent
-- description: One agent by its text id, every column.
-- param: $1 agent_id text = (SELECT id FROM agentry.agents LIMIT 1)
-- expect: index pk_agents
-- expect: no-seq-scan agents
SELECT * FROM agentry.agents WHERE id = $1
