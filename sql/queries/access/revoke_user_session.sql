-- name: access.revoke_user_session
-- description: Revokes an active session and returns it; no row when the session is missing or no longer active.
-- param: $1 id uuid = (SELECT id FROM agentry.user_sessions WHERE status = 'active' LIMIT 1)
-- expect: index pk_user_sessions
-- expect: no-seq-scan user_sessions
UPDATE agentry.user_sessions
SET
  status = 'revoked'
WHERE
  id = $1
  AND status = 'active'
RETURNING
  id,
  user_id,
  device_info,
  ip_address,
  status,
  started_at,
  last_activity_at,
  expires_at
