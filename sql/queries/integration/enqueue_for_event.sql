-- name: integration.enqueue_for_event
-- description: Fans an event out: one pending delivery per active webhook subscribed to it, by its exact name
-- description: (task.completed) or its context's wildcard (task.*). events && ... is served by idx_webhooks_events_gin.
-- param: $1 event_type text = 'task.completed'
-- param: $2 payload jsonb = '{"task_id": "5b0c6f0e-3d1a-4b7e-9d55-2f7b1c9e8a10", "status": "completed"}'
-- description: Plan: idx_webhooks_events_gin serves events few subscribers listen to; when a third of all
-- description: webhooks match (demo data), one scan of webhooks is cheaper, so the check bounds the cost.
-- expect: max-cost 2000
INSERT INTO
  agentry.webhook_deliveries (webhook_id, event_type, payload)
SELECT
  w.id,
  $1::text,
  $2
FROM
  agentry.webhooks w
WHERE
  w.events && ARRAY[$1::text, split_part($1::text, '.', 1) || '.*']
  AND w.active
ORDER BY
  w.created_at,
  w.id
RETURNING
  *
