-- name: access.insert_audit_log
-- description: Appends one security event to the audit log (append-only: there is no update or delete statement).
-- description: A NULL metadata stands for the column's default ('{}').
-- param: $1 event_type varchar = 'api_key_revoked'
-- param: $2 client_id varchar = 'ci-pipeline'
-- param: $3 api_key_id uuid = (SELECT id FROM agentry.api_keys LIMIT 1)
-- param: $4 user_id uuid = (SELECT id FROM agentry.users LIMIT 1)
-- param: $5 action varchar = 'revoke_api_key'
-- param: $6 resource_type varchar = 'api_key'
-- param: $7 resource_id varchar = (SELECT id::text FROM agentry.api_keys LIMIT 1)
-- param: $8 ip_address inet = '203.0.113.7'
-- param: $9 user_agent varchar = 'agentry-cli/0.1.0'
-- param: $10 success boolean = true
-- param: $11 error_message varchar = NULL
-- param: $12 metadata jsonb = '{"reason": "rotated"}'
-- expect: no-seq-scan audit_logs
-- expect: max-rows 1
INSERT INTO
  agentry.audit_logs (
    event_type,
    client_id,
    api_key_id,
    user_id,
    action,
    resource_type,
    resource_id,
    ip_address,
    user_agent,
    success,
    error_message,
    metadata
  )
VALUES
  ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, coalesce($12::jsonb, '{}'))
RETURNING
  id,
  event_type,
  client_id,
  api_key_id,
  user_id,
  action,
  resource_type,
  resource_id,
  ip_address,
  user_agent,
  success,
  error_message,
  metadata,
  created_at
