-- name: integration.claim_due_deliveries
-- description: The outbox claim: up to $1 due deliveries (pending, failed and due for a retry, or in flight with a lapsed
-- description: lease) of active webhooks, oldest due first, locked FOR UPDATE SKIP LOCKED so that concurrent claimers
-- description: get disjoint sets. Each becomes in_flight for a lease of $2 seconds (next_attempt_at is when the lease
-- description: lapses) and counts an attempt. One whose last allowed attempt's lease lapsed is abandoned instead and
-- description: not returned. Returns the deliveries with the webhook's url and encrypted secret.
-- param: $1 batch_size integer = 50
-- param: $2 lease_seconds integer = 60
-- expect: index idx_webhook_deliveries_due
-- expect: index pk_webhooks
-- expect: no-seq-scan webhook_deliveries
WITH
  due AS (
    SELECT
      d.id,
      d.attempt_count >= w.max_attempts AS exhausted
    FROM
      agentry.webhook_deliveries d
      JOIN agentry.webhooks w ON w.id = d.webhook_id
    WHERE
      d.status IN ('pending', 'failed', 'in_flight')
      AND d.next_attempt_at <= now()
      AND w.active
    ORDER BY
      d.next_attempt_at
    LIMIT
      $1
    FOR UPDATE OF
      d SKIP LOCKED
  ),
  claimed AS (
    UPDATE agentry.webhook_deliveries d
    SET
      status = CASE
        WHEN due.exhausted THEN 'abandoned'
        ELSE 'in_flight'
      END,
      attempt_count = CASE
        WHEN due.exhausted THEN d.attempt_count
        ELSE d.attempt_count + 1
      END,
      last_attempt_at = CASE
        WHEN due.exhausted THEN d.last_attempt_at
        ELSE now()
      END,
      next_attempt_at = CASE
        WHEN due.exhausted THEN d.next_attempt_at
        ELSE now() + make_interval(secs => $2)
      END,
      last_error = CASE
        WHEN due.exhausted THEN 'lease lapsed on the last allowed attempt'
        ELSE d.last_error
      END
    FROM
      due
    WHERE
      d.id = due.id
    RETURNING
      d.*
  )
SELECT
  c.*,
  w.url,
  w.signing_secret_encrypted
FROM
  claimed c
  JOIN agentry.webhooks w ON w.id = c.webhook_id
WHERE
  c.status = 'in_flight'
ORDER BY
  c.id
