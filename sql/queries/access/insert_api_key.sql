-- name: access.insert_api_key
-- description: Stores a new API key by its SHA-256 and public prefix (the key itself is never stored) and returns it
-- description: without the hash. NULL rate limits stand for the columns' defaults (60 a minute, 1000 an hour; the
-- description: access tests compare these with the table's defaults).
-- param: $1 key_prefix varchar = 'ains_Q2xhdWRlQ29kZ'
-- param: $2 key_hash bytea = sha256('ains_Q2xhdWRlQ29kZXJldmlld2Vyc2VjcmV0dG9rZW4xMjM0NTY3'::bytea)
-- param: $3 client_id varchar = 'ci-pipeline'
-- param: $4 name varchar = 'CI pipeline (deploys)'
-- param: $5 description varchar = 'Used by the release workflow to create tasks'
-- param: $6 scopes text[] = ARRAY['tasks:read', 'tasks:write']
-- param: $7 rate_limit_per_minute integer = 120
-- param: $8 rate_limit_per_hour integer = NULL
-- param: $9 created_by varchar = 'ops@example.com'
-- param: $10 expires_at timestamptz = now() + interval '90 days'
-- expect: no-seq-scan api_keys
-- expect: max-rows 1
INSERT INTO
  agentry.api_keys (
    key_prefix,
    key_hash,
    client_id,
    name,
    description,
    scopes,
    rate_limit_per_minute,
    rate_limit_per_hour,
    created_by,
    expires_at
  )
VALUES
  ($1, $2, $3, $4, $5, $6, coalesce($7::integer, 60), coalesce($8::integer, 1000), $9, $10)
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
