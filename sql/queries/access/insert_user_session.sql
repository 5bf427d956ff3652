-- name: access.insert_user_session
-- description: Stores a new session of a user by its token's SHA-256 (the token is never stored), expiring $5 seconds
-- description: from now; returns it without the hash. A NULL device_info stands for the column's default ('{}').
-- param: $1 user_id uuid = (SELECT id FROM agentry.users LIMIT 1)
-- param: $2 token_hash bytea = sha256('Vb0dq0p1xJ7H2m9bq2cV8c0vJkRk3s5W6y7z8A9B0C1'::bytea)
-- param: $3 device_info jsonb = '{"os": "macOS", "client": "agentry-web"}'
-- param: $4 ip_address inet = '198.51.100.23'
-- param: $5 ttl_seconds float8 = 86400
-- expect: no-seq-scan user_sessions
-- expect: max-rows 1
INSERT INTO
  agentry.user_sessions (user_id, token_hash, device_info, ip_address, expires_at)
VALUES
  ($1, $2, coalesce($3::jsonb, '{}'), $4, now() + make_interval(secs => $5))
RETURNING
  id,
  user_id,
  device_info,
  ip_address,
  status,
  started_at,
  last_activity_at,
  expires_at
