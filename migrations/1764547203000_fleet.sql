-- Up Migration
-- Fleet: the machines (workers, seed 001) and the agents hosted on them
-- (seeds 000, 002, 003, 004), with their advertised capabilities.
SET LOCAL ROLE agentry_owner;

CREATE TABLE agentry.workers (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  machine_id varchar(100) NOT NULL,
  machine_name varchar(100) NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'offline',
  system_info jsonb NOT NULL,
  tools jsonb NOT NULL,
  cpu_percent numeric(5, 2),
  memory_percent numeric(5, 2),
  disk_percent numeric(5, 2),
  last_heartbeat timestamptz,
  registered_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_workers PRIMARY KEY (id),
  CONSTRAINT uq_workers_machine_id UNIQUE (machine_id),
  CONSTRAINT chk_workers_status CHECK (status IN ('online', 'offline', 'busy')),
  CONSTRAINT chk_workers_system_info_object CHECK (jsonb_typeof(system_info) = 'object'),
  CONSTRAINT chk_workers_tools_string_array CHECK (
    jsonb_typeof(tools) = 'array'
    AND NOT jsonb_path_exists(tools, 'strict $[*] ? (@.type() != "string")')
  ),
  CONSTRAINT chk_workers_cpu_percent_range CHECK (cpu_percent >= 0 AND cpu_percent <= 100),
  CONSTRAINT chk_workers_memory_percent_range CHECK (memory_percent >= 0 AND memory_percent <= 100),
  CONSTRAINT chk_workers_disk_percent_range CHECK (disk_percent >= 0 AND disk_percent <= 100)
);
CREATE INDEX idx_workers_status ON agentry.workers (status);
CREATE INDEX idx_workers_last_heartbeat ON agentry.workers (last_heartbeat);
CREATE INDEX idx_workers_tools_gin ON agentry.workers USING gin (tools);
COMMENT ON COLUMN agentry.workers.system_info IS '{os, cpu, memory_total_gb, disk_total_gb}';
COMMENT ON COLUMN agentry.workers.tools IS 'Tool names the machine offers, e.g. ["claude_code", "gemini_cli", "ollama"]';

CREATE TABLE agentry.agents (
  id varchar(64) NOT NULL,
  name varchar(255) NOT NULL,
  type varchar(50),
  role varchar(200),
  model varchar(100),
  status varchar(20) NOT NULL DEFAULT 'offline',
  worker_id uuid,
  specialties text[] NOT NULL DEFAULT '{}',
  capabilities jsonb NOT NULL DEFAULT '[]',
  configuration jsonb NOT NULL DEFAULT '{}',
  metadata jsonb NOT NULL DEFAULT '{}',
  backstory text,
  personality_emoji varchar(10),
  public_key text,
  endpoint varchar(512),
  signature text,
  trust_score numeric(5, 4) NOT NULL DEFAULT 0.5,
  success_rate numeric(5, 4),
  average_latency_ms numeric(12, 3),
  total_tasks_completed integer NOT NULL DEFAULT 0,
  total_tasks_failed integer NOT NULL DEFAULT 0,
  total_tokens_used bigint NOT NULL DEFAULT 0,
  mobile_capable boolean NOT NULL DEFAULT false,
  device_affinity varchar(255),
  location_enabled boolean NOT NULL DEFAULT false,
  battery_aware boolean NOT NULL DEFAULT false,
  current_task_id uuid,
  ip_address inet,
  host_name varchar(255),
  last_heartbeat timestamptz,
  last_assigned_at timestamptz,
  last_task_completed_at timestamptz,
  deactivated_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_agents PRIMARY KEY (id),
  CONSTRAINT uq_agents_name UNIQUE (name),
  CONSTRAINT fk_agents_type FOREIGN KEY (type)
    REFERENCES agentry.agent_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT fk_agents_worker_id FOREIGN KEY (worker_id)
    REFERENCES agentry.workers (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT chk_agents_id_format CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
  CONSTRAINT chk_agents_status CHECK (status IN ('online', 'busy', 'offline', 'maintenance', 'retired')),
  CONSTRAINT chk_agents_capabilities_string_array CHECK (
    jsonb_typeof(capabilities) = 'array'
    AND NOT jsonb_path_exists(capabilities, 'strict $[*] ? (@.type() != "string")')
  ),
  CONSTRAINT chk_agents_configuration_object CHECK (jsonb_typeof(configuration) = 'object'),
  CONSTRAINT chk_agents_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
  -- A network agent (seed 002) is registered with its endpoint, key and signature together.
  CONSTRAINT chk_agents_network_identity_complete CHECK (
    (endpoint IS NULL AND public_key IS NULL AND signature IS NULL)
    OR (endpoint IS NOT NULL AND public_key IS NOT NULL AND signature IS NOT NULL)
  ),
  CONSTRAINT chk_agents_endpoint_url CHECK (endpoint ~ '^https?://[^[:space:]/]+[^[:space:]]*$'),
  CONSTRAINT chk_agents_trust_score_range CHECK (trust_score >= 0 AND trust_score <= 1),
  CONSTRAINT chk_agents_success_rate_range CHECK (success_rate >= 0 AND success_rate <= 1),
  CONSTRAINT chk_agents_average_latency_nonnegative CHECK (average_latency_ms >= 0),
  CONSTRAINT chk_agents_task_counters_nonnegative CHECK (
    total_tasks_completed >= 0
    AND total_tasks_failed >= 0
    AND total_tokens_used >= 0
  ),
  CONSTRAINT chk_agents_retired_deactivated CHECK (status <> 'retired' OR deactivated_at IS NOT NULL)
);
CREATE INDEX idx_agents_status ON agentry.agents (status);
CREATE INDEX idx_agents_type ON agentry.agents (type);
CREATE INDEX idx_agents_worker ON agentry.agents (worker_id);
CREATE INDEX idx_agents_capabilities_gin ON agentry.agents USING gin (capabilities);
CREATE INDEX idx_agents_trust_score ON agentry.agents (trust_score DESC);
CREATE INDEX idx_agents_mobile_capable ON agentry.agents (mobile_capable) WHERE mobile_capable = true;
CREATE TRIGGER trg_agents_updated_at BEFORE UPDATE ON agentry.agents
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();
COMMENT ON TABLE agentry.agents IS 'Agents (seeds 000, 002, 003, 004), hosted on workers. Text ids such as ''akira-001''.';
COMMENT ON COLUMN agentry.agents.capabilities IS 'Capability tags, e.g. ["data:v1", "ml:v1"] (seed 002 tags, seed 004 capabilities).';
COMMENT ON COLUMN agentry.agents.trust_score IS '0..1; changes only through trust_records.';
COMMENT ON COLUMN agentry.agents.success_rate IS '0..1 (seed 003''s percentage divided by 100); kept by trigger from the task counters.';
COMMENT ON COLUMN agentry.agents.total_tasks_completed IS 'Tasks of this agent now in status completed; kept by trigger.';
COMMENT ON COLUMN agentry.agents.total_tasks_failed IS 'Tasks of this agent now in status failed or timeout; kept by trigger.';

-- trust_score is moved only by trust_records (telemetry), whose trigger runs as the owner.
CREATE FUNCTION agentry.refuse_direct_trust_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_user = 'agentry_owner' AND current_setting('agentry.trust_write', true) = 'on' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'agents.trust_score changes only through trust_records (agent %: % -> %)',
                  OLD.id, OLD.trust_score, NEW.trust_score
    USING ERRCODE = 'AG006', CONSTRAINT = 'trg_agents_trust_score_guard',
          SCHEMA = 'agentry', TABLE = 'agents', COLUMN = 'trust_score',
          HINT = 'Insert a trust_records row with the delta instead.';
END
$$;
CREATE TRIGGER trg_agents_trust_score_guard
  BEFORE UPDATE OF trust_score ON agentry.agents
  FOR EACH ROW WHEN (OLD.trust_score IS DISTINCT FROM NEW.trust_score)
  EXECUTE FUNCTION agentry.refuse_direct_trust_change();

CREATE TABLE agentry.agent_capabilities (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  agent_id varchar(64) NOT NULL,
  name varchar(255) NOT NULL,
  description text,
  version varchar(20),
  task_type varchar(50),
  input_schema jsonb NOT NULL,
  output_schema jsonb NOT NULL,
  pricing_model varchar(20),
  price numeric(10, 4),
  currency char(3) NOT NULL DEFAULT 'USD',
  latency_p99_ms integer,
  availability_percent numeric(5, 2),
  deprecated boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_agent_capabilities PRIMARY KEY (id),
  CONSTRAINT fk_agent_capabilities_agent_id FOREIGN KEY (agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_agent_capabilities_task_type FOREIGN KEY (task_type)
    REFERENCES agentry.task_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT uq_agent_capabilities_agent_name_version UNIQUE NULLS NOT DISTINCT (agent_id, name, version),
  CONSTRAINT chk_agent_capabilities_input_schema_object CHECK (jsonb_typeof(input_schema) = 'object'),
  CONSTRAINT chk_agent_capabilities_output_schema_object CHECK (jsonb_typeof(output_schema) = 'object'),
  CONSTRAINT chk_agent_capabilities_price_nonnegative CHECK (price >= 0),
  CONSTRAINT chk_agent_capabilities_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT chk_agent_capabilities_latency_positive CHECK (latency_p99_ms > 0),
  CONSTRAINT chk_agent_capabilities_availability_range CHECK (availability_percent >= 0 AND availability_percent <= 100)
);
-- uq_agent_capabilities_agent_name_version leads with agent_id and so indexes the foreign key.
CREATE INDEX idx_agent_capabilities_name ON agentry.agent_capabilities (name);
CREATE INDEX idx_agent_capabilities_task_type ON agentry.agent_capabilities (task_type);
CREATE TRIGGER trg_agent_capabilities_updated_at BEFORE UPDATE ON agentry.agent_capabilities
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();
COMMENT ON TABLE agentry.agent_capabilities IS 'What an agent offers, per capability and task type, with its schemas, price and SLO (seed 002; seed 000''s missing Agent Capabilities table).';

GRANT SELECT, INSERT, UPDATE, DELETE ON agentry.workers, agentry.agents, agentry.agent_capabilities TO agentry_app;
GRANT SELECT ON agentry.workers, agentry.agents, agentry.agent_capabilities TO agentry_readonly;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP TABLE agentry.agent_capabilities;
DROP TABLE agentry.agents;
DROP FUNCTION agentry.refuse_direct_trust_change();
DROP TABLE agentry.workers;
RESET ROLE;
