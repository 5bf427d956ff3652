-- name: integration.enqueue_delivery
-- description: Puts one delivery of an event to one webhook in the outbox (pending, due now), whatever the webhook
-- description: subscribes to (a replay, a test ping). No row back means the webhook does not exist.
-- param: $1 webhook_id uuid = (SELECT id FROM agentry.webhooks LIMIT 1)
-- param: $2 event_type text = 'task.completed'
-- param: $3 payload jsonb = '{"task_id": "5b0c6f0e-3d1a-4b7e-9d55-2f7b1c9e8a10", "status": "completed"}'
-- expect: index pk_webhooks
-- expect: no-seq-scan webhooks
INSERT INTO
  agentry.webhook_deliveries (webhook_id, event_type, payload)
SELECT
  w.id,
  $2,
  $3
FROM
  agentry.webhooks w
WHERE
  w.id = $1
RETURNING
  *
