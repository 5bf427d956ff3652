-- name: integration.list_deliveries
-- description: A webhook's deliveries, newest first, at most $2.
-- param: $1 webhook_id uuid = (SELECT id FROM agentry.webhooks LIMIT 1)
-- param: $2 max_count integer = 50
-- expect: index idx_webhook_deliveries_webhook_created
-- expect: no-seq-scan webhook_deliveries
SELECT * FROM agentry.webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
