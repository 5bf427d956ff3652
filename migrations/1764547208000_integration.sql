-- Up Migration
-- Integration: outgoing webhooks and their delivery outbox (seed 002 names
-- both tables without defining them).
SET LOCAL ROLE agentry_owner;

CREATE TABLE agentry.webhooks (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  agent_id varchar(64),
  client_id varchar(64),
  url varchar(2048) NOT NULL,
  events text[] NOT NULL,
  -- HMAC signing needs the plain secret at send time, so it cannot be a
  -- hash: the DAL stores it AES-256-GCM encrypted (iv || tag || ciphertext)
  -- with a key that never enters the database.
  signing_secret_encrypted bytea NOT NULL,
  description varchar(512),
  active boolean NOT NULL DEFAULT true,
  max_attempts integer NOT NULL DEFAULT 8,
  consecutive_failures integer NOT NULL DEFAULT 0,
  last_success_at timestamptz,
  last_failure_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_webhooks PRIMARY KEY (id),
  CONSTRAINT fk_webhooks_agent_id FOREIGN KEY (agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_webhooks_owner CHECK (agent_id IS NOT NULL OR client_id IS NOT NULL),
  CONSTRAINT chk_webhooks_url_https CHECK (url ~ '^https://[^[:space:]/?#@]+(/[^[:space:]]*)?$'),
  CONSTRAINT chk_webhooks_events_format CHECK (
    cardinality(events) > 0
    AND array_position(events, NULL) IS NULL
    AND array_to_string(events, ',') ~ '^[a-z_]+\.[a-z_*]+(,[a-z_]+\.[a-z_*]+)*$'
  ),
  CONSTRAINT chk_webhooks_secret_encrypted_length CHECK (octet_length(signing_secret_encrypted) >= 44),
  CONSTRAINT chk_webhooks_max_attempts_range CHECK (max_attempts >= 1 AND max_attempts <= 50),
  CONSTRAINT chk_webhooks_consecutive_failures_nonnegative CHECK (consecutive_failures >= 0)
);
CREATE INDEX idx_webhooks_agent ON agentry.webhooks (agent_id);
CREATE INDEX idx_webhooks_client_active ON agentry.webhooks (client_id) WHERE active;
CREATE INDEX idx_webhooks_events_gin ON agentry.webhooks USING gin (events);
CREATE TRIGGER trg_webhooks_updated_at BEFORE UPDATE ON agentry.webhooks
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();
COMMENT ON COLUMN agentry.webhooks.events IS 'Event names such as task.completed, checkpoint.created or task.* .';

CREATE TABLE agentry.webhook_deliveries (
  id bigint GENERATED ALWAYS AS IDENTITY,
  webhook_id uuid NOT NULL,
  event_type varchar(64) NOT NULL,
  payload jsonb NOT NULL,
  idempotency_key uuid NOT NULL DEFAULT gen_random_uuid(),
  status varchar(10) NOT NULL DEFAULT 'pending',
  attempt_count integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  response_status smallint,
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_webhook_deliveries PRIMARY KEY (id),
  CONSTRAINT fk_webhook_deliveries_webhook_id FOREIGN KEY (webhook_id)
    REFERENCES agentry.webhooks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT uq_webhook_deliveries_idempotency_key UNIQUE (idempotency_key),
  CONSTRAINT chk_webhook_deliveries_event_type_format CHECK (event_type ~ '^[a-z_]+\.[a-z_]+$'),
  CONSTRAINT chk_webhook_deliveries_payload_object CHECK (jsonb_typeof(payload) = 'object'),
  CONSTRAINT chk_webhook_deliveries_status CHECK (status IN ('pending', 'in_flight', 'delivered', 'failed', 'abandoned')),
  CONSTRAINT chk_webhook_deliveries_attempt_count_nonnegative CHECK (attempt_count >= 0),
  CONSTRAINT chk_webhook_deliveries_response_status_range CHECK (response_status >= 100 AND response_status <= 599),
  CONSTRAINT chk_webhook_deliveries_delivered_consistent CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- The outbox claim: due deliveries in order.
CREATE INDEX idx_webhook_deliveries_due ON agentry.webhook_deliveries (next_attempt_at)
WHERE
  status IN ('pending', 'failed', 'in_flight');
-- Leads with webhook_id: also the index on the foreign key.
CREATE INDEX idx_webhook_deliveries_webhook_created ON agentry.webhook_deliveries (webhook_id, created_at DESC);
COMMENT ON TABLE agentry.webhook_deliveries IS 'Outbox of webhook deliveries: claimed with FOR UPDATE SKIP LOCKED, retried with backoff until max_attempts, then abandoned.';
COMMENT ON COLUMN agentry.webhook_deliveries.next_attempt_at IS 'When the delivery is due; for an in_flight delivery, when its claim lapses.';

GRANT SELECT (id, agent_id, client_id, url, events, description, active, max_attempts, consecutive_failures,
              last_success_at, last_failure_at, created_at, updated_at, signing_secret_encrypted),
  INSERT, UPDATE, DELETE ON agentry.webhooks TO agentry_app;
GRANT SELECT (id, agent_id, client_id, url, events, description, active, max_attempts, consecutive_failures,
              last_success_at, last_failure_at, created_at, updated_at) ON agentry.webhooks TO agentry_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON agentry.webhook_deliveries TO agentry_app;
GRANT SELECT ON agentry.webhook_deliveries TO agentry_readonly;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP TABLE agentry.webhook_deliveries;
DROP TABLE agentry.webhooks;
RESET ROLE;
