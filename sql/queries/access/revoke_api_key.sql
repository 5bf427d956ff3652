-- name: access.revoke_api_key
-- description: Deactivates an active API key and returns it; no row when the key is missing or already revoked.
-- param: $1 id uuid = (SELECT id FROM agentry.api_keys WHERE active LIMIT 1)
-- expect: index pk_api_keys
-- expect: no-seq-scan api_keys
UPDATE agentry.api_keys
SET
  active = false
WHERE
  id = $1
  AND active
RETURNING
  id,
  key_prefix,
  client_id,
  name,
  description,
  scopes,
  active,
  rate_limit_per_minute,
  rate_limit_per_hour,
  created_by,
  created_at,
  expires_at,
  last_used_at
