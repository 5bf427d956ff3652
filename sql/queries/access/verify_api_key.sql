-- name: access.verify_api_key
-- description: The active, unexpired key whose SHA-256 is $1 (agentry.verify_api_key: the lookup is by hash, so no
-- description: secret is compared byte by byte), or no row; sets its last_used_at, at most once a minute so that a
-- description: busy key does not turn every request into a write on its row. The key is unique by hash, so verified
-- description: has at most one row (a scalar subquery: the planner would guess 1000 rows of a function and seq-scan).
-- param: $1 key_hash bytea = sha256('ains_Q2xhdWRlQ29kZXJldmlld2Vyc2VjcmV0dG9rZW4xMjM0NTY3'::bytea)
-- expect: index pk_api_keys
-- expect: no-seq-scan api_keys
WITH
  verified AS (
    SELECT
      v.api_key_id,
      v.client_id,
      v.key_prefix,
      v.scopes,
      v.rate_limit_per_minute,
      v.rate_limit_per_hour
    FROM
      agentry.verify_api_key($1) AS v
  ),
  touched AS (
    UPDATE agentry.api_keys AS k
    SET
      last_used_at = now()
    WHERE
      k.id = (SELECT api_key_id FROM verified)
      AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute')
  )
SELECT
  api_key_id,
  client_id,
  key_prefix,
  scopes,
  rate_limit_per_minute,
  rate_limit_per_hour
FROM
  verified
