-- name: integration.mark_failed
-- description: Records a failed attempt of an in-flight delivery (of attempt $6 when given). Under the webhook's
-- description: max_attempts it becomes failed, due again after least($5, $4 * 2^(attempt - 1)) seconds (30 s, 60 s,
-- description: 120 s ... by default); at max_attempts it is abandoned. The webhook's failure streak and last_failure_at
-- description: follow. No row back: missing, not in flight, or another attempt.
-- param: $1 delivery_id bigint = (SELECT id FROM agentry.webhook_deliveries WHERE status = 'in_flight' LIMIT 1)
-- param: $2 error text = 'HTTP 503 Service Unavailable'
-- param: $3 response_status integer = 503
-- param: $4 backoff_base_seconds double precision = 30
-- param: $5 backoff_max_seconds double precision = 3600
-- param: $6 attempt integer = NULL
-- expect: index pk_webhook_deliveries
-- expect: index pk_webhooks
-- expect: no-seq-scan webhook_deliveries
WITH
  failed AS (
    UPDATE agentry.webhook_deliveries d
    SET
      status = CASE
        WHEN d.attempt_count >= w.max_attempts THEN 'abandoned'
        ELSE 'failed'
      END,
      next_attempt_at = CASE
        WHEN d.attempt_count >= w.max_attempts THEN d.next_attempt_at
        ELSE now() + make_interval(secs => least($5, $4 * 2 ^ (d.attempt_count - 1)))
      END,
      last_error = $2,
      response_status = $3
    FROM
      agentry.webhooks w
    WHERE
      d.id = $1
      AND w.id = d.webhook_id
      AND d.status = 'in_flight'
      AND ($6::integer IS NULL OR d.attempt_count = $6)
    RETURNING
      d.*
  ),
  webhook AS (
    UPDATE agentry.webhooks w
    SET
      consecutive_failures = w.consecutive_failures + 1,
      last_failure_at = now()
    FROM
      failed
    WHERE
      w.id = failed.webhook_id
  )
SELECT
  *
FROM
  failed
