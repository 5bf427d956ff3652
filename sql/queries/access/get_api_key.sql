-- name: access.get_api_key
-- description: One API key by id, without its hash.
-- param: $1 id uuid = (SELECT id FROM agentry.api_keys LIMIT 1)
-- expect: index pk_api_keys
-- expect: no-seq-scan api_keys
SELECT
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
FROM
  agentry.api_keys
WHERE
  id = $1
