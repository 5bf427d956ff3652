-- Up Migration
-- Access: users, their sessions, API keys, rate-limit windows and the
-- append-only audit log (seeds 001, 002, 003). Secrets are stored as SHA-256
-- hashes only; the plain key or token is shown to its owner once.
SET LOCAL ROLE agentry_owner;

CREATE TABLE agentry.users (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  username varchar(50) NOT NULL,
  email varchar(255) NOT NULL,
  password_hash varchar(255) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_login timestamptz,
  CONSTRAINT pk_users PRIMARY KEY (id),
  CONSTRAINT uq_users_username UNIQUE (username),
  CONSTRAINT chk_users_username_format CHECK (username ~ '^[A-Za-z0-9_.-]{3,50}$'),
  CONSTRAINT chk_users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
  CONSTRAINT chk_users_password_hash_format CHECK (
    password_hash ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'
    OR password_hash ~ '^\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$'
  )
);
-- One account per address whatever its case (replaces seed 001's users_email_key and idx_users_email).
CREATE UNIQUE INDEX uq_users_email ON agentry.users (lower(email));
COMMENT ON COLUMN agentry.users.password_hash IS 'A bcrypt ($2a/$2b/$2y) or argon2id PHC string; nothing else is accepted.';

CREATE TABLE agentry.user_sessions (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  token_hash bytea NOT NULL,
  device_info jsonb NOT NULL DEFAULT '{}',
  ip_address inet,
  status varchar(10) NOT NULL DEFAULT 'active',
  started_at timestamptz NOT NULL DEFAULT now(),
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  CONSTRAINT pk_user_sessions PRIMARY KEY (id),
  CONSTRAINT fk_user_sessions_user_id FOREIGN KEY (user_id)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT uq_user_sessions_token_hash UNIQUE (token_hash),
  CONSTRAINT chk_user_sessions_token_hash_sha256 CHECK (octet_length(token_hash) = 32),
  CONSTRAINT chk_user_sessions_device_info_object CHECK (jsonb_typeof(device_info) = 'object'),
  CONSTRAINT chk_user_sessions_status CHECK (status IN ('active', 'expired', 'revoked')),
  CONSTRAINT chk_user_sessions_activity_after_start CHECK (last_activity_at >= started_at),
  CONSTRAINT chk_user_sessions_expires_after_start CHECK (expires_at > started_at)
);
CREATE INDEX idx_user_sessions_user ON agentry.user_sessions (user_id);
COMMENT ON COLUMN agentry.user_sessions.token_hash IS 'SHA-256 of the session token; the token itself is never stored.';

CREATE TABLE agentry.api_keys (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  key_prefix varchar(32) NOT NULL,
  key_hash bytea NOT NULL,
  client_id varchar(64) NOT NULL,
  name varchar(255) NOT NULL,
  description varchar(512),
  scopes text[] NOT NULL DEFAULT '{}',
  active boolean NOT NULL DEFAULT true,
  rate_limit_per_minute integer NOT NULL DEFAULT 60,
  rate_limit_per_hour integer NOT NULL DEFAULT 1000,
  created_by varchar(64),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  CONSTRAINT pk_api_keys PRIMARY KEY (id),
  CONSTRAINT uq_api_keys_key_prefix UNIQUE (key_prefix),
  CONSTRAINT uq_api_keys_key_hash UNIQUE (key_hash),
  CONSTRAINT chk_api_keys_key_prefix_format CHECK (key_prefix ~ '^[A-Za-z0-9_]{4,32}$'),
  CONSTRAINT chk_api_keys_key_hash_sha256 CHECK (octet_length(key_hash) = 32),
  CONSTRAINT chk_api_keys_scopes_format CHECK (
    array_position(scopes, NULL) IS NULL
    AND (cardinality(scopes) = 0 OR array_to_string(scopes, ',') ~ '^[a-z0-9_:.*-]+(,[a-z0-9_:.*-]+)*$')
  ),
  CONSTRAINT chk_api_keys_rate_limit_per_minute_positive CHECK (rate_limit_per_minute > 0),
  CONSTRAINT chk_api_keys_rate_limit_per_hour_positive CHECK (rate_limit_per_hour > 0),
  CONSTRAINT chk_api_keys_rate_limits_consistent CHECK (rate_limit_per_hour >= rate_limit_per_minute),
  CONSTRAINT chk_api_keys_expires_after_created CHECK (expires_at > created_at)
);
CREATE INDEX idx_api_keys_client_active ON agentry.api_keys (client_id, active);
COMMENT ON COLUMN agentry.api_keys.key_prefix IS 'Public, non-secret handle of the key (seed 002 key_id); shown in listings and logs.';
COMMENT ON COLUMN agentry.api_keys.key_hash IS 'SHA-256 of the whole key; the key itself is returned once at creation and never stored.';

CREATE TABLE agentry.rate_limit_windows (
  api_key_id uuid NOT NULL,
  window_type varchar(10) NOT NULL,
  window_start timestamptz NOT NULL,
  request_count integer NOT NULL DEFAULT 0,
  CONSTRAINT pk_rate_limit_windows PRIMARY KEY (api_key_id, window_type, window_start),
  CONSTRAINT fk_rate_limit_windows_api_key_id FOREIGN KEY (api_key_id)
    REFERENCES agentry.api_keys (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_rate_limit_windows_window_type CHECK (window_type IN ('minute', 'hour')),
  CONSTRAINT chk_rate_limit_windows_window_aligned CHECK (
    date_trunc(window_type, window_start AT TIME ZONE 'UTC') = window_start AT TIME ZONE 'UTC'
  ),
  CONSTRAINT chk_rate_limit_windows_request_count_nonnegative CHECK (request_count >= 0)
);
-- The primary key (api_key_id, ...) is the index on the foreign key.

CREATE TABLE agentry.audit_logs (
  id bigint GENERATED ALWAYS AS IDENTITY,
  event_type varchar(64) NOT NULL,
  client_id varchar(64),
  api_key_id uuid,
  user_id uuid,
  action varchar(128) NOT NULL,
  resource_type varchar(64),
  resource_id varchar(128),
  ip_address inet,
  user_agent varchar(512),
  success boolean NOT NULL,
  error_message varchar(512),
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_audit_logs PRIMARY KEY (id, created_at),
  -- History outlives keys and users: revoke a key or disable a user instead of deleting it.
  CONSTRAINT fk_audit_logs_api_key_id FOREIGN KEY (api_key_id)
    REFERENCES agentry.api_keys (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
  CONSTRAINT fk_audit_logs_user_id FOREIGN KEY (user_id)
    REFERENCES agentry.users (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
  CONSTRAINT chk_audit_logs_event_type CHECK (
    event_type IN (
      'authentication',
      'api_key_created',
      'api_key_revoked',
      'rate_limit_exceeded',
      'task_created',
      'agent_registered'
    )
  ),
  CONSTRAINT chk_audit_logs_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
)
PARTITION BY
  RANGE (created_at);
CREATE TABLE agentry.audit_logs_default PARTITION OF agentry.audit_logs DEFAULT;
CREATE INDEX idx_audit_logs_created_at ON agentry.audit_logs (created_at DESC);
CREATE INDEX idx_audit_logs_client_event ON agentry.audit_logs (client_id, event_type);
CREATE INDEX idx_audit_logs_event_type ON agentry.audit_logs (event_type);
CREATE INDEX idx_audit_logs_api_key ON agentry.audit_logs (api_key_id);
CREATE INDEX idx_audit_logs_user ON agentry.audit_logs (user_id);
COMMENT ON TABLE agentry.audit_logs IS 'Security events, append-only (UPDATE, DELETE and TRUNCATE are refused), partitioned by month on created_at.';

CREATE FUNCTION agentry.refuse_audit_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Partition maintenance (SECURITY DEFINER, so running as the owner) moves
  -- rows out of the default partition; nothing else may touch a row.
  IF current_user = 'agentry_owner' AND current_setting('agentry.partition_maintenance', true) = 'on' THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'AG004', CONSTRAINT = TG_NAME,
          SCHEMA = 'agentry', TABLE = 'audit_logs',
          HINT = 'Audit rows are kept for their retention period and removed only by dropping old partitions.';
END
$$;
CREATE TRIGGER trg_audit_logs_append_only
  BEFORE UPDATE OR DELETE ON agentry.audit_logs
  FOR EACH ROW EXECUTE FUNCTION agentry.refuse_audit_log_change();
CREATE TRIGGER trg_audit_logs_no_truncate
  BEFORE TRUNCATE ON agentry.audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION agentry.refuse_audit_log_change();

SELECT
  agentry.create_monthly_partitions(
    'agentry.audit_logs',
    date_trunc('month', now() AT TIME ZONE 'UTC')::date,
    (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '4 months')::date
  );

-- Key and token checks run as the owner so that the app role never reads a hash.
CREATE FUNCTION agentry.verify_api_key(presented_key_hash bytea)
RETURNS TABLE (api_key_id uuid, client_id varchar, key_prefix varchar, scopes text[],
               rate_limit_per_minute integer, rate_limit_per_hour integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT k.id, k.client_id, k.key_prefix, k.scopes, k.rate_limit_per_minute, k.rate_limit_per_hour
    FROM agentry.api_keys k
   WHERE k.key_hash = presented_key_hash
     AND k.active
     AND (k.expires_at IS NULL OR k.expires_at > now())
$$;
COMMENT ON FUNCTION agentry.verify_api_key(bytea) IS 'The active, unexpired key whose SHA-256 is given, or no row.';

CREATE FUNCTION agentry.verify_session_token(presented_token_hash bytea)
RETURNS TABLE (user_session_id uuid, user_id uuid, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT s.id, s.user_id, s.expires_at
    FROM agentry.user_sessions s
   WHERE s.token_hash = presented_token_hash
     AND s.status = 'active'
     AND (s.expires_at IS NULL OR s.expires_at > now())
$$;
COMMENT ON FUNCTION agentry.verify_session_token(bytea) IS 'The active, unexpired session whose token SHA-256 is given, or no row.';
REVOKE EXECUTE ON FUNCTION agentry.verify_api_key(bytea), agentry.verify_session_token(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentry.verify_api_key(bytea), agentry.verify_session_token(bytea) TO agentry_app;

-- Privileges: the app writes but never reads a stored hash back; readonly sees no hash.
GRANT SELECT (id, username, email, password_hash, created_at, last_login), INSERT, UPDATE, DELETE ON agentry.users TO agentry_app;
GRANT SELECT (id, username, email, created_at, last_login) ON agentry.users TO agentry_readonly;
GRANT SELECT (id, user_id, device_info, ip_address, status, started_at, last_activity_at, expires_at), INSERT, UPDATE, DELETE
  ON agentry.user_sessions TO agentry_app;
GRANT SELECT (id, user_id, device_info, ip_address, status, started_at, last_activity_at, expires_at)
  ON agentry.user_sessions TO agentry_readonly;
GRANT SELECT (id, key_prefix, client_id, name, description, scopes, active, rate_limit_per_minute, rate_limit_per_hour,
              created_by, created_at, expires_at, last_used_at), INSERT, UPDATE, DELETE ON agentry.api_keys TO agentry_app;
GRANT SELECT (id, key_prefix, client_id, name, description, scopes, active, rate_limit_per_minute, rate_limit_per_hour,
              created_by, created_at, expires_at, last_used_at) ON agentry.api_keys TO agentry_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON agentry.rate_limit_windows TO agentry_app;
GRANT SELECT ON agentry.rate_limit_windows TO agentry_readonly;
GRANT SELECT, INSERT ON agentry.audit_logs TO agentry_app;
GRANT SELECT ON agentry.audit_logs TO agentry_readonly;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP FUNCTION agentry.verify_session_token(bytea);
DROP FUNCTION agentry.verify_api_key(bytea);
DROP TABLE agentry.audit_logs;
DROP FUNCTION agentry.refuse_audit_log_change();
DROP TABLE agentry.rate_limit_windows;
DROP TABLE agentry.api_keys;
DROP TABLE agentry.user_sessions;
DROP TABLE agentry.users;
RESET ROLE;
