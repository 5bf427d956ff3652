-- name: fleet.update_agent_status
-- description: Sets an agent's status. Retiring stamps deactivated_at (chk_agents_retired_deactivated asks for it);
-- description: leaving retired clears it; an agent going online or busy counts as heard from.
-- param: $1 agent_id text = (SELECT id FROM agentry.agents LIMIT 1)
-- param: $2 status text = 'maintenance'
-- expect: index pk_agents
-- expect: no-seq-scan agents
UPDATE agentry.agents
SET
  status = $2::text,
  deactivated_at = CASE
    WHEN $2::text = 'retired' THEN coalesce(deactivated_at, now())
    WHEN status = 'retired' THEN NULL
    ELSE deactivated_at
  END,
  last_heartbeat = CASE
    WHEN $2::text IN ('online', 'busy') THEN now()
    ELSE last_heartbeat
  END
WHERE
  id = $1
RETURNING
  *
