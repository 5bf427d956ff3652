-- name: access.verify_user_session
-- description: The active, unexpired session whose token SHA-256 is $1 (agentry.verify_session_token: the lookup is by
-- description: hash), or no row; sets its last_activity_at, at most once a minute. At most one row (token_hash is
-- description: unique), hence the scalar subquery, which keeps the update on the primary key.
-- param: $1 token_hash bytea = sha256('Vb0dq0p1xJ7H2m9bq2cV8c0vJkRk3s5W6y7z8A9B0C1'::bytea)
-- expect: index pk_user_sessions
-- expect: no-seq-scan user_sessions
WITH
  verified AS (SELECT v.user_session_id, v.user_id, v.expires_at FROM agentry.verify_session_token($1) AS v),
  touched AS (
    UPDATE agentry.user_sessions AS s
    SET
      last_activity_at = now()
    WHERE
      s.id = (SELECT user_session_id FROM verified)
      AND s.last_activity_at < now() - interval '1 minute'
  )
SELECT
  user_session_id,
  user_id,
  expires_at
FROM
  verified
