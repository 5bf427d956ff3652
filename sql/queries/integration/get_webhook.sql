-- name: integration.get_webhook
-- description: One webhook by id, without its signing secret.
-- param: $1 webhook_id uuid = (SELECT id FROM agentry.webhooks LIMIT 1)
-- expect: index pk_webhooks
-- expect: no-seq-scan webhooks
SELECT
  id,
  agent_id,
  client_id,
  url,
  events,
  description,
  active,
  max_attempts,
  consecutive_failures,
  last_success_at,
  last_failure_at,
  created_at,
  updated_at
FROM
  agentry.webhooks
WHERE
  id = $1
