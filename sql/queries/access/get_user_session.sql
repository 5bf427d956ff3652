-- name: access.get_user_session
-- description: One user session by id, without its token hash.
-- param: $1 id uuid = (SELECT id FROM agentry.user_sessions LIMIT 1)
-- expect: index pk_user_sessions
-- expect: no-seq-scan user_sessions
SELECT
  id,
  user_id,
  device_info,
  ip_address,
  status,
  started_at,
  last_activity_at,
  expires_at
FROM
  agentry.user_sessions
WHERE
  id = $1
