-- name: integration.mark_delivered
-- description: Records a successful delivery of an in-flight delivery (of attempt $3 when given: a worker whose lease
-- description: lapsed and was reclaimed cannot overwrite the newer attempt), and resets the webhook's failure streak.
-- description: No row back: missing, not in flight, or another attempt.
-- param: $1 delivery_id bigint = (SELECT id FROM agentry.webhook_deliveries WHERE status = 'in_flight' LIMIT 1)
-- param: $2 response_status integer = 200
-- param: $3 attempt integer = NULL
-- expect: index pk_webhook_deliveries
-- expect: index pk_webhooks
-- expect: no-seq-scan webhook_deliveries
WITH
  delivered AS (
    UPDATE agentry.webhook_deliveries d
    SET
      status = 'delivered',
      delivered_at = now(),
      response_status = $2,
      last_error = NULL
    WHERE
      d.id = $1
      AND d.status = 'in_flight'
      AND ($3::integer IS NULL OR d.attempt_count = $3)
    RETURNING
      d.*
  ),
  webhook AS (
    UPDATE agentry.webhooks w
    SET
      consecutive_failures = 0,
      last_success_at = now()
    FROM
      delivered
    WHERE
      w.id = delivered.webhook_id
  )
SELECT
  *
FROM
  delivered
