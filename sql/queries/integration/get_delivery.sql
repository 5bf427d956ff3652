-- name: integration.get_delivery
-- description: One delivery by id, every column.
-- param: $1 delivery_id bigint = (SELECT id FROM agentry.webhook_deliveries LIMIT 1)
-- expect: index pk_webhook_deliveries
-- expect: no-seq-scan webhook_deliveries
SELECT * FROM agentry.webhook_deliveries WHERE id = $1
