-- name: integration.insert_webhook
-- description: Registers a webhook of an agent or an API client. The signing secret arrives already encrypted by the
-- description: DAL (AES-256-GCM, iv || tag || ciphertext); it is not returned. A NULL for a column with a default means that default.
-- param: $1 agent_id text = (SELECT id FROM agentry.agents LIMIT 1)
-- param: $2 client_id text = NULL
-- param: $3 url text = 'https://hooks.example.com/agentry'
-- param: $4 events text[] = ARRAY['task.completed', 'checkpoint.*']
-- param: $5 signing_secret_encrypted bytea = '\x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b'
-- param: $6 description text = 'CI notifications'
-- param: $7 active boolean = true
-- param: $8 max_attempts integer = 8
-- expect: no-seq-scan webhooks
INSERT INTO
  agentry.webhooks (agent_id, client_id, url, events, signing_secret_encrypted, description, active, max_attempts)
VALUES
  ($1, $2, $3, $4, $5, $6, coalesce($7::boolean, true), coalesce($8::integer, 8))
RETURNING
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
