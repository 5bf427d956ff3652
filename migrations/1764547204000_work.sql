-- Up Migration
-- Work: the one tasks table (seed 000 tasks, 001 tasks and subtasks, 002
-- tasks, 003 agent_tasks, 004 tasks), its dependency edges, and the
-- containers tasks belong to: workflows (003), projects and plans (004),
-- chains, templates and schedules (002).
SET LOCAL ROLE agentry_owner;

CREATE TABLE agentry.workflows (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name varchar(200) NOT NULL,
  description text,
  status varchar(20) NOT NULL DEFAULT 'pending',
  workflow_type varchar(100),
  initiator varchar(100),
  user_id uuid,
  total_tasks integer NOT NULL DEFAULT 0,
  completed_tasks integer NOT NULL DEFAULT 0,
  failed_tasks integer NOT NULL DEFAULT 0,
  cancelled_tasks integer NOT NULL DEFAULT 0,
  total_tokens_used bigint NOT NULL DEFAULT 0,
  total_cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
  started_at timestamptz,
  completed_at timestamptz,
  duration_ms bigint GENERATED ALWAYS AS (
    CASE
      WHEN started_at IS NOT NULL
      AND completed_at IS NOT NULL THEN (extract(epoch FROM (completed_at - started_at)) * 1000)::bigint
    END
  ) STORED,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_workflows PRIMARY KEY (id),
  CONSTRAINT fk_workflows_user_id FOREIGN KEY (user_id)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT chk_workflows_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  CONSTRAINT chk_workflows_counters_consistent CHECK (
    completed_tasks >= 0
    AND failed_tasks >= 0
    AND cancelled_tasks >= 0
    AND completed_tasks + failed_tasks + cancelled_tasks <= total_tasks
  ),
  CONSTRAINT chk_workflows_cost_nonnegative CHECK (total_tokens_used >= 0 AND total_cost_usd >= 0),
  CONSTRAINT chk_workflows_timestamps_ordered CHECK (
    (started_at IS NULL OR started_at >= created_at)
    AND (completed_at IS NULL OR completed_at >= coalesce(started_at, created_at))
  ),
  CONSTRAINT chk_workflows_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
CREATE INDEX idx_workflows_status ON agentry.workflows (status);
CREATE INDEX idx_workflows_created_at ON agentry.workflows (created_at DESC);
CREATE INDEX idx_workflows_type ON agentry.workflows (workflow_type);
CREATE INDEX idx_workflows_user ON agentry.workflows (user_id);
CREATE TRIGGER trg_workflows_updated_at BEFORE UPDATE ON agentry.workflows
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();
COMMENT ON COLUMN agentry.workflows.total_tasks IS 'Tasks with this workflow_id; kept by trigger on tasks.';
COMMENT ON COLUMN agentry.workflows.failed_tasks IS 'Tasks now failed or timed out; kept by trigger on tasks.';

-- A workflow's status follows its tasks: running once one has started,
-- finished once every task is completed, failed, timed out or cancelled.
CREATE FUNCTION agentry.derive_workflow_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.total_tasks > 0 AND NEW.completed_tasks + NEW.failed_tasks + NEW.cancelled_tasks = NEW.total_tasks THEN
    NEW.status := CASE WHEN NEW.failed_tasks > 0 THEN 'failed'
                       WHEN NEW.completed_tasks > 0 THEN 'completed'
                       ELSE 'cancelled' END;
    NEW.completed_at := coalesce(NEW.completed_at, now());
  ELSIF NEW.started_at IS NOT NULL THEN
    NEW.status := 'running';
    NEW.completed_at := NULL;
  ELSIF NEW.status IN ('completed', 'failed', 'cancelled') THEN
    -- Unfinished work added to a workflow that finished without ever starting reopens it.
    NEW.status := 'pending';
    NEW.completed_at := NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_workflows_derive_state BEFORE UPDATE ON agentry.workflows
  FOR EACH ROW WHEN (
    OLD.total_tasks IS DISTINCT FROM NEW.total_tasks
    OR OLD.completed_tasks IS DISTINCT FROM NEW.completed_tasks
    OR OLD.failed_tasks IS DISTINCT FROM NEW.failed_tasks
    OR OLD.cancelled_tasks IS DISTINCT FROM NEW.cancelled_tasks
    OR OLD.started_at IS DISTINCT FROM NEW.started_at
  )
  EXECUTE FUNCTION agentry.derive_workflow_state();

CREATE TABLE agentry.projects (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name varchar(255) NOT NULL,
  description text,
  status varchar(20) NOT NULL DEFAULT 'active',
  created_by uuid NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_projects PRIMARY KEY (id),
  CONSTRAINT fk_projects_created_by FOREIGN KEY (created_by)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT chk_projects_status CHECK (status IN ('active', 'completed', 'archived')),
  CONSTRAINT chk_projects_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
CREATE INDEX idx_projects_status_created ON agentry.projects (status, created_at);
CREATE INDEX idx_projects_created_by ON agentry.projects (created_by);
CREATE INDEX idx_projects_created_at ON agentry.projects (created_at);
CREATE INDEX idx_projects_metadata_gin ON agentry.projects USING gin (metadata);
CREATE TRIGGER trg_projects_updated_at BEFORE UPDATE ON agentry.projects
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();

CREATE TABLE agentry.plans (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  project_id uuid NOT NULL,
  title varchar(255) NOT NULL,
  description text,
  status varchar(20) NOT NULL DEFAULT 'draft',
  priority integer NOT NULL DEFAULT 5,
  created_by uuid NOT NULL,
  assigned_to uuid,
  estimated_hours numeric(6, 2),
  actual_hours numeric(6, 2),
  mobile_sync_enabled boolean NOT NULL DEFAULT false,
  agent_count integer NOT NULL DEFAULT 1,
  scaling_strategy varchar(20) NOT NULL DEFAULT 'fixed',
  deadline timestamptz,
  metadata jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_plans PRIMARY KEY (id),
  CONSTRAINT fk_plans_project_id FOREIGN KEY (project_id)
    REFERENCES agentry.projects (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_plans_created_by FOREIGN KEY (created_by)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT fk_plans_assigned_to FOREIGN KEY (assigned_to)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT chk_plans_status CHECK (status IN ('draft', 'active', 'paused', 'completed', 'cancelled')),
  CONSTRAINT chk_plans_priority_range CHECK (priority >= 1 AND priority <= 10),
  CONSTRAINT chk_plans_hours_nonnegative CHECK (estimated_hours >= 0 AND actual_hours >= 0),
  CONSTRAINT chk_plans_agent_count_positive CHECK (agent_count > 0),
  CONSTRAINT chk_plans_scaling_strategy CHECK (scaling_strategy IN ('fixed', 'adaptive', 'elastic')),
  CONSTRAINT chk_plans_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
CREATE INDEX idx_plans_project_status ON agentry.plans (project_id, status);
CREATE INDEX idx_plans_deadline ON agentry.plans (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX idx_plans_mobile_sync ON agentry.plans (mobile_sync_enabled) WHERE mobile_sync_enabled = true;
CREATE INDEX idx_plans_created_by ON agentry.plans (created_by);
CREATE INDEX idx_plans_assigned_to ON agentry.plans (assigned_to);
CREATE TRIGGER trg_plans_updated_at BEFORE UPDATE ON agentry.plans
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();
COMMENT ON COLUMN agentry.plans.priority IS '1..10, 10 most urgent; seed 004''s low/medium/high/critical map to 2/5/8/10.';

CREATE TABLE agentry.task_chains (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name varchar(255) NOT NULL,
  client_id varchar(64) NOT NULL,
  steps jsonb NOT NULL,
  current_step integer NOT NULL DEFAULT 0,
  status varchar(20) NOT NULL DEFAULT 'pending',
  step_results jsonb NOT NULL DEFAULT '{}',
  final_result jsonb,
  error_message varchar(512),
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  CONSTRAINT pk_task_chains PRIMARY KEY (id),
  CONSTRAINT chk_task_chains_steps_shape CHECK (
    jsonb_typeof(steps) = 'array'
    AND jsonb_array_length(steps) > 0
    AND NOT jsonb_path_exists(
      steps,
      '$[*] ? (@.type() != "object" || !(@.name.type() == "string") || !(@.task_type.type() == "string"))'
    )
  ),
  -- CASE: steps that are not an array are chk_task_chains_steps_shape's to refuse, not an error here.
  CONSTRAINT chk_task_chains_current_step_range CHECK (
    current_step >= 0
    AND current_step <= CASE
      WHEN jsonb_typeof(steps) = 'array' THEN jsonb_array_length(steps)
    END
  ),
  CONSTRAINT chk_task_chains_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  CONSTRAINT chk_task_chains_step_results_object CHECK (jsonb_typeof(step_results) = 'object'),
  CONSTRAINT chk_task_chains_timestamps_ordered CHECK (
    (started_at IS NULL OR started_at >= created_at)
    AND (completed_at IS NULL OR completed_at >= coalesce(started_at, created_at))
  )
);
CREATE INDEX idx_task_chains_client_id ON agentry.task_chains (client_id);
CREATE INDEX idx_task_chains_status ON agentry.task_chains (status);
CREATE INDEX idx_task_chains_created_at ON agentry.task_chains (created_at DESC);
COMMENT ON COLUMN agentry.task_chains.steps IS '[{name, task_type, capability_required?, input_data?, use_previous_output?}, ...]';

CREATE TABLE agentry.task_templates (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name varchar(255) NOT NULL,
  description varchar(512),
  client_id varchar(64) NOT NULL,
  task_type varchar(50) NOT NULL,
  capability_required varchar(255) NOT NULL,
  default_input jsonb NOT NULL,
  default_priority integer NOT NULL DEFAULT 5,
  default_timeout_seconds integer NOT NULL DEFAULT 300,
  default_max_retries integer NOT NULL DEFAULT 3,
  times_used integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_task_templates PRIMARY KEY (id),
  CONSTRAINT fk_task_templates_task_type FOREIGN KEY (task_type)
    REFERENCES agentry.task_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT chk_task_templates_default_input_object CHECK (jsonb_typeof(default_input) = 'object'),
  CONSTRAINT chk_task_templates_default_priority_range CHECK (default_priority >= 1 AND default_priority <= 10),
  CONSTRAINT chk_task_templates_default_timeout_positive CHECK (default_timeout_seconds > 0),
  CONSTRAINT chk_task_templates_default_max_retries_range CHECK (
    default_max_retries >= 0
    AND default_max_retries <= 10
  ),
  CONSTRAINT chk_task_templates_times_used_nonnegative CHECK (times_used >= 0)
);
CREATE INDEX idx_task_templates_client_id ON agentry.task_templates (client_id);
CREATE INDEX idx_task_templates_name ON agentry.task_templates (name);
CREATE INDEX idx_task_templates_task_type ON agentry.task_templates (task_type);
CREATE TRIGGER trg_task_templates_updated_at BEFORE UPDATE ON agentry.task_templates
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();

CREATE TABLE agentry.scheduled_tasks (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  name varchar(255) NOT NULL,
  client_id varchar(64) NOT NULL,
  cron_expression varchar(128) NOT NULL,
  timezone varchar(64) NOT NULL DEFAULT 'UTC',
  task_type varchar(50) NOT NULL,
  capability_required varchar(255) NOT NULL,
  input jsonb NOT NULL,
  priority integer NOT NULL DEFAULT 5,
  timeout_seconds integer NOT NULL DEFAULT 300,
  active boolean NOT NULL DEFAULT true,
  total_runs integer NOT NULL DEFAULT 0,
  successful_runs integer NOT NULL DEFAULT 0,
  failed_runs integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_run_at timestamptz,
  next_run_at timestamptz,
  CONSTRAINT pk_scheduled_tasks PRIMARY KEY (id),
  CONSTRAINT fk_scheduled_tasks_task_type FOREIGN KEY (task_type)
    REFERENCES agentry.task_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT chk_scheduled_tasks_cron_expression CHECK (agentry.is_valid_cron(cron_expression)),
  CONSTRAINT chk_scheduled_tasks_timezone CHECK (agentry.is_valid_timezone(timezone)),
  CONSTRAINT chk_scheduled_tasks_input_object CHECK (jsonb_typeof(input) = 'object'),
  CONSTRAINT chk_scheduled_tasks_priority_range CHECK (priority >= 1 AND priority <= 10),
  CONSTRAINT chk_scheduled_tasks_timeout_positive CHECK (timeout_seconds > 0),
  CONSTRAINT chk_scheduled_tasks_run_counters_consistent CHECK (
    successful_runs >= 0
    AND failed_runs >= 0
    AND successful_runs + failed_runs <= total_runs
  )
);
CREATE INDEX idx_scheduled_tasks_client_id ON agentry.scheduled_tasks (client_id);
-- Replaces seed 002's idx_scheduled_tasks_active, idx_scheduled_tasks_next_run and idx_scheduled_next_run.
CREATE INDEX idx_scheduled_tasks_next_run ON agentry.scheduled_tasks (next_run_at) WHERE active;
CREATE INDEX idx_scheduled_tasks_task_type ON agentry.scheduled_tasks (task_type);

CREATE TABLE agentry.tasks (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  type varchar(50),
  title varchar(255),
  description text,
  status agentry.task_status NOT NULL DEFAULT 'pending',
  priority integer NOT NULL DEFAULT 5,
  input jsonb,
  output jsonb,
  parameters jsonb,
  metadata jsonb NOT NULL DEFAULT '{}',
  error_message text,
  error_details jsonb,
  last_error text,
  retry_count integer NOT NULL DEFAULT 0,
  max_retries integer NOT NULL DEFAULT 3,
  retry_policy varchar(20) NOT NULL DEFAULT 'exponential',
  next_retry_at timestamptz,
  agent_id varchar(64),
  worker_id uuid,
  assigned_agent_type varchar(50),
  parent_task_id uuid,
  workflow_id uuid,
  plan_id uuid,
  chain_id uuid,
  template_id uuid,
  schedule_id uuid,
  user_id uuid,
  client_id varchar(64),
  capability_required varchar(255),
  routing_strategy varchar(20) NOT NULL DEFAULT 'round_robin',
  progress numeric(5, 2) NOT NULL DEFAULT 0,
  complexity smallint,
  checkpoint_frequency varchar(10) NOT NULL DEFAULT 'medium',
  privacy_level varchar(10) NOT NULL DEFAULT 'normal',
  tool_preferences jsonb,
  recommended_tool varchar(50),
  assigned_tool varchar(50),
  tags text[] NOT NULL DEFAULT '{}',
  version integer NOT NULL DEFAULT 0,
  timeout_seconds integer,
  expires_at timestamptz,
  cancelled_at timestamptz,
  cancelled_by varchar(255),
  cancellation_reason text,
  tokens_used integer NOT NULL DEFAULT 0,
  cost_usd numeric(10, 6) NOT NULL DEFAULT 0,
  estimated_hours numeric(6, 2),
  actual_hours numeric(6, 2),
  mobile_task_id varchar(255),
  device_fingerprint varchar(255),
  sync_status varchar(10) NOT NULL DEFAULT 'local',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  assigned_at timestamptz,
  started_at timestamptz,
  completed_at timestamptz,
  execution_time numeric(10, 2) GENERATED ALWAYS AS (
    CASE
      WHEN started_at IS NOT NULL
      AND completed_at IS NOT NULL THEN extract(epoch FROM (completed_at - started_at))
    END
  ) STORED,
  wait_time numeric(10, 2) GENERATED ALWAYS AS (
    CASE
      WHEN started_at IS NOT NULL THEN extract(epoch FROM (started_at - created_at))
    END
  ) STORED,
  duration_ms bigint GENERATED ALWAYS AS (
    CASE
      WHEN started_at IS NOT NULL
      AND completed_at IS NOT NULL THEN (extract(epoch FROM (completed_at - started_at)) * 1000)::bigint
    END
  ) STORED,
  CONSTRAINT pk_tasks PRIMARY KEY (id),
  CONSTRAINT fk_tasks_type FOREIGN KEY (type)
    REFERENCES agentry.task_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT fk_tasks_agent_id FOREIGN KEY (agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_tasks_worker_id FOREIGN KEY (worker_id)
    REFERENCES agentry.workers (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_tasks_assigned_agent_type FOREIGN KEY (assigned_agent_type)
    REFERENCES agentry.agent_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT fk_tasks_parent_task_id FOREIGN KEY (parent_task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_tasks_workflow_id FOREIGN KEY (workflow_id)
    REFERENCES agentry.workflows (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_tasks_plan_id FOREIGN KEY (plan_id)
    REFERENCES agentry.plans (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_tasks_chain_id FOREIGN KEY (chain_id)
    REFERENCES agentry.task_chains (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_tasks_template_id FOREIGN KEY (template_id)
    REFERENCES agentry.task_templates (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_tasks_schedule_id FOREIGN KEY (schedule_id)
    REFERENCES agentry.scheduled_tasks (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_tasks_user_id FOREIGN KEY (user_id)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT chk_tasks_type_format CHECK (type ~ '^[a-z0-9_]{3,50}$'),
  CONSTRAINT chk_tasks_has_subject CHECK (type IS NOT NULL OR title IS NOT NULL OR description IS NOT NULL),
  CONSTRAINT chk_tasks_priority_range CHECK (priority >= 1 AND priority <= 10),
  CONSTRAINT chk_tasks_input_not_empty CHECK (jsonb_typeof(input) = 'object' AND input <> '{}'::jsonb),
  CONSTRAINT chk_tasks_input_size CHECK (pg_column_size(input) <= 1048576),
  CONSTRAINT chk_tasks_parameters_object CHECK (jsonb_typeof(parameters) = 'object'),
  CONSTRAINT chk_tasks_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
  CONSTRAINT chk_tasks_error_details_object CHECK (jsonb_typeof(error_details) = 'object'),
  CONSTRAINT chk_tasks_tool_preferences_string_array CHECK (
    jsonb_typeof(tool_preferences) = 'array'
    AND NOT jsonb_path_exists(tool_preferences, 'strict $[*] ? (@.type() != "string")')
  ),
  CONSTRAINT chk_tasks_retry_count_valid CHECK (retry_count >= 0 AND retry_count <= max_retries),
  CONSTRAINT chk_tasks_max_retries_range CHECK (max_retries >= 0 AND max_retries <= 10),
  CONSTRAINT chk_tasks_retry_policy CHECK (retry_policy IN ('none', 'fixed', 'linear', 'exponential')),
  CONSTRAINT chk_tasks_routing_strategy CHECK (routing_strategy IN ('round_robin', 'trust_weighted')),
  CONSTRAINT chk_tasks_progress_range CHECK (progress >= 0 AND progress <= 100),
  CONSTRAINT chk_tasks_complexity_range CHECK (complexity >= 1 AND complexity <= 5),
  CONSTRAINT chk_tasks_checkpoint_frequency CHECK (checkpoint_frequency IN ('low', 'medium', 'high')),
  CONSTRAINT chk_tasks_privacy_level CHECK (privacy_level IN ('normal', 'sensitive')),
  CONSTRAINT chk_tasks_sync_status CHECK (sync_status IN ('local', 'syncing', 'synced', 'conflict')),
  CONSTRAINT chk_tasks_version_nonnegative CHECK (version >= 0),
  CONSTRAINT chk_tasks_timeout_positive CHECK (timeout_seconds > 0),
  CONSTRAINT chk_tasks_usage_nonnegative CHECK (tokens_used >= 0 AND cost_usd >= 0),
  CONSTRAINT chk_tasks_hours_nonnegative CHECK (estimated_hours >= 0 AND actual_hours >= 0),
  CONSTRAINT chk_tasks_not_own_parent CHECK (parent_task_id <> id),
  CONSTRAINT chk_tasks_cancellation_fields CHECK (
    status = 'cancelled'
    OR (cancelled_at IS NULL AND cancelled_by IS NULL AND cancellation_reason IS NULL)
  ),
  -- Seed 000's rule, widened so that a task cancelled before it ever ran can
  -- be stamped: completed_at is measured from started_at, or from created_at.
  CONSTRAINT chk_tasks_timestamps_ordered CHECK (
    (started_at IS NULL OR started_at >= created_at)
    AND (completed_at IS NULL OR completed_at >= coalesce(started_at, created_at))
  )
);
COMMENT ON TABLE agentry.tasks IS 'Every unit of work: seed 000 tasks, 001 tasks and subtasks (parent_task_id), 002 tasks, 003 agent_tasks, 004 tasks.';
COMMENT ON COLUMN agentry.tasks.priority IS '1..10, 10 most urgent.';
COMMENT ON COLUMN agentry.tasks.version IS 'Optimistic lock: bumped by trigger on every update; update WHERE id = $1 AND version = $2.';
COMMENT ON COLUMN agentry.tasks.execution_time IS 'Seconds from started_at to completed_at.';
COMMENT ON COLUMN agentry.tasks.wait_time IS 'Seconds from created_at to started_at.';
COMMENT ON COLUMN agentry.tasks.duration_ms IS 'Milliseconds from started_at to completed_at (seed 003).';
COMMENT ON COLUMN agentry.tasks.parameters IS 'Execution parameters (seed 000) and execution context (seed 004 execution_context).';
COMMENT ON COLUMN agentry.tasks.tool_preferences IS 'Preferred tools, e.g. ["claude_code", "gemini_cli"] (seed 001).';

CREATE INDEX idx_tasks_status_priority ON agentry.tasks (status, priority DESC, created_at);
CREATE INDEX idx_tasks_status_created ON agentry.tasks (status, created_at DESC);
CREATE INDEX idx_tasks_active ON agentry.tasks (id)
WHERE
  status IN ('pending', 'initializing', 'queued', 'assigned', 'running', 'checkpoint', 'correcting', 'retrying');
CREATE INDEX idx_tasks_failed ON agentry.tasks (created_at DESC)
WHERE
  status IN ('failed', 'timeout')
  AND retry_count >= max_retries;
CREATE INDEX idx_tasks_retry_due ON agentry.tasks (next_retry_at) WHERE status = 'retrying';
CREATE INDEX idx_tasks_created_at ON agentry.tasks (created_at DESC);
CREATE INDEX idx_tasks_type_input_model ON agentry.tasks (type, (input ->> 'model'));
CREATE INDEX idx_tasks_input_model ON agentry.tasks ((input ->> 'model'));
CREATE INDEX idx_tasks_input_language ON agentry.tasks ((input ->> 'language'));
CREATE INDEX idx_tasks_input_gin ON agentry.tasks USING gin (input);
CREATE INDEX idx_tasks_metadata_gin ON agentry.tasks USING gin (metadata);
CREATE INDEX idx_tasks_agent_status ON agentry.tasks (agent_id, status, created_at DESC);
CREATE INDEX idx_tasks_worker ON agentry.tasks (worker_id);
CREATE INDEX idx_tasks_assigned_agent_type ON agentry.tasks (assigned_agent_type);
CREATE INDEX idx_tasks_parent ON agentry.tasks (parent_task_id);
CREATE INDEX idx_tasks_workflow ON agentry.tasks (workflow_id);
CREATE INDEX idx_tasks_plan_status ON agentry.tasks (plan_id, status);
CREATE INDEX idx_tasks_chain ON agentry.tasks (chain_id);
CREATE INDEX idx_tasks_template ON agentry.tasks (template_id);
CREATE INDEX idx_tasks_schedule ON agentry.tasks (schedule_id);
CREATE INDEX idx_tasks_user ON agentry.tasks (user_id);
CREATE INDEX idx_tasks_client_created ON agentry.tasks (client_id, created_at DESC);
CREATE INDEX idx_tasks_mobile_sync ON agentry.tasks (sync_status) WHERE sync_status <> 'local';

ALTER TABLE agentry.agents
ADD CONSTRAINT fk_agents_current_task_id FOREIGN KEY (current_task_id)
  REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE SET NULL;
CREATE INDEX idx_agents_current_task ON agentry.agents (current_task_id);

-- Input rules are rows of task_types, not a CASE in code.
CREATE FUNCTION agentry.validate_task_input() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  required text[];
  key_rule text;
BEGIN
  IF NEW.type IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT t.required_input_keys INTO required FROM agentry.task_types t WHERE t.name = NEW.type;
  -- An unknown type is left to fk_tasks_type, which names itself.
  IF required IS NULL THEN
    RETURN NEW;
  END IF;
  FOREACH key_rule IN ARRAY required LOOP
    IF NEW.input IS NULL OR NOT (NEW.input ?| string_to_array(key_rule, '|')) THEN
      RAISE EXCEPTION 'missing required input key "%" for task type "%"', replace(key_rule, '|', '" or "'), NEW.type
        USING ERRCODE = 'AG002', CONSTRAINT = 'trg_tasks_validate_input',
              SCHEMA = 'agentry', TABLE = 'tasks', COLUMN = 'input',
              HINT = 'task_types.required_input_keys lists the keys each type needs.';
    END IF;
  END LOOP;
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_tasks_validate_input
  BEFORE INSERT OR UPDATE OF input, type ON agentry.tasks
  FOR EACH ROW EXECUTE FUNCTION agentry.validate_task_input();

-- The state machine is the rows of task_status_transitions; this trigger
-- only reads them, then stamps the times and the retry count of the move.
CREATE FUNCTION agentry.enforce_task_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM agentry.task_status_transitions t
     WHERE t.from_status = OLD.status AND t.to_status = NEW.status
  ) THEN
    RAISE EXCEPTION 'illegal task status transition: % -> %', OLD.status, NEW.status
      USING ERRCODE = 'AG001', CONSTRAINT = 'trg_tasks_status_transition',
            SCHEMA = 'agentry', TABLE = 'tasks', COLUMN = 'status',
            DETAIL = format('task %s', OLD.id),
            HINT = 'The legal moves are the rows of agentry.task_status_transitions.';
  END IF;
  CASE NEW.status
    WHEN 'retrying' THEN
      IF OLD.retry_count >= OLD.max_retries THEN
        RAISE EXCEPTION 'illegal task status transition: % -> % (retry limit of % reached)', OLD.status, NEW.status, OLD.max_retries
          USING ERRCODE = 'AG001', CONSTRAINT = 'trg_tasks_status_transition',
                SCHEMA = 'agentry', TABLE = 'tasks', COLUMN = 'status',
                DETAIL = format('task %s', OLD.id);
      END IF;
      NEW.retry_count := OLD.retry_count + 1;
      -- A new attempt is timed afresh.
      NEW.started_at := NULL;
      NEW.completed_at := NULL;
    WHEN 'assigned' THEN
      NEW.assigned_at := CASE WHEN NEW.assigned_at IS DISTINCT FROM OLD.assigned_at THEN NEW.assigned_at ELSE now() END;
    WHEN 'running' THEN
      NEW.started_at := coalesce(NEW.started_at, now());
    WHEN 'completed', 'failed', 'timeout' THEN
      NEW.completed_at := coalesce(NEW.completed_at, now());
    WHEN 'cancelled' THEN
      NEW.completed_at := coalesce(NEW.completed_at, now());
      NEW.cancelled_at := coalesce(NEW.cancelled_at, now());
    ELSE
      NULL;
  END CASE;
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_tasks_status_transition
  BEFORE UPDATE OF status ON agentry.tasks
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION agentry.enforce_task_status_transition();

CREATE FUNCTION agentry.bump_task_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
-- One trigger stamps both: every task update pays for one trigger call, not two.
CREATE TRIGGER trg_tasks_updated_at BEFORE UPDATE ON agentry.tasks
  FOR EACH ROW EXECUTE FUNCTION agentry.bump_task_version();

-- Workflow and agent roll-ups follow every task change. Deltas are applied
-- with UPDATE ... SET n = n + d, which takes the row lock and so stays
-- exact under concurrent task updates.
CREATE FUNCTION agentry.sync_task_rollups() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  old_completed int := 0; old_failed int := 0; old_cancelled int := 0;
  new_completed int := 0; new_failed int := 0; new_cancelled int := 0;
  old_tokens bigint := 0; new_tokens bigint := 0;
  old_cost numeric := 0; new_cost numeric := 0;
  old_workflow uuid; new_workflow uuid;
  old_agent varchar; new_agent varchar;
  started_now boolean := false;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    old_workflow := OLD.workflow_id; old_agent := OLD.agent_id;
    old_completed := (OLD.status = 'completed')::int;
    old_failed := (OLD.status IN ('failed', 'timeout'))::int;
    old_cancelled := (OLD.status = 'cancelled')::int;
    old_tokens := OLD.tokens_used; old_cost := OLD.cost_usd;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    new_workflow := NEW.workflow_id; new_agent := NEW.agent_id;
    new_completed := (NEW.status = 'completed')::int;
    new_failed := (NEW.status IN ('failed', 'timeout'))::int;
    new_cancelled := (NEW.status = 'cancelled')::int;
    new_tokens := NEW.tokens_used; new_cost := NEW.cost_usd;
    started_now := NEW.started_at IS NOT NULL;
  END IF;

  IF old_workflow IS NOT DISTINCT FROM new_workflow THEN
    IF new_workflow IS NOT NULL THEN
      UPDATE agentry.workflows w SET
        completed_tasks = w.completed_tasks + new_completed - old_completed,
        failed_tasks = w.failed_tasks + new_failed - old_failed,
        cancelled_tasks = w.cancelled_tasks + new_cancelled - old_cancelled,
        total_tokens_used = w.total_tokens_used + new_tokens - old_tokens,
        total_cost_usd = w.total_cost_usd + new_cost - old_cost,
        started_at = CASE WHEN started_now THEN coalesce(w.started_at, now()) ELSE w.started_at END
      WHERE w.id = new_workflow;
    END IF;
  ELSE
    IF old_workflow IS NOT NULL THEN
      UPDATE agentry.workflows w SET
        total_tasks = w.total_tasks - 1,
        completed_tasks = w.completed_tasks - old_completed,
        failed_tasks = w.failed_tasks - old_failed,
        cancelled_tasks = w.cancelled_tasks - old_cancelled,
        total_tokens_used = w.total_tokens_used - old_tokens,
        total_cost_usd = w.total_cost_usd - old_cost
      WHERE w.id = old_workflow;
    END IF;
    IF new_workflow IS NOT NULL THEN
      UPDATE agentry.workflows w SET
        total_tasks = w.total_tasks + 1,
        completed_tasks = w.completed_tasks + new_completed,
        failed_tasks = w.failed_tasks + new_failed,
        cancelled_tasks = w.cancelled_tasks + new_cancelled,
        total_tokens_used = w.total_tokens_used + new_tokens,
        total_cost_usd = w.total_cost_usd + new_cost,
        started_at = CASE WHEN started_now THEN coalesce(w.started_at, now()) ELSE w.started_at END
      WHERE w.id = new_workflow;
    END IF;
  END IF;

  IF old_agent IS NOT DISTINCT FROM new_agent THEN
    IF new_agent IS NOT NULL AND (new_completed <> old_completed OR new_failed <> old_failed OR new_tokens <> old_tokens) THEN
      UPDATE agentry.agents a SET
        total_tasks_completed = a.total_tasks_completed + new_completed - old_completed,
        total_tasks_failed = a.total_tasks_failed + new_failed - old_failed,
        total_tokens_used = a.total_tokens_used + new_tokens - old_tokens,
        last_task_completed_at = CASE WHEN new_completed > old_completed THEN now() ELSE a.last_task_completed_at END
      WHERE a.id = new_agent;
    END IF;
  ELSE
    IF old_agent IS NOT NULL THEN
      UPDATE agentry.agents a SET
        total_tasks_completed = a.total_tasks_completed - old_completed,
        total_tasks_failed = a.total_tasks_failed - old_failed,
        total_tokens_used = a.total_tokens_used - old_tokens
      WHERE a.id = old_agent;
    END IF;
    IF new_agent IS NOT NULL THEN
      UPDATE agentry.agents a SET
        total_tasks_completed = a.total_tasks_completed + new_completed,
        total_tasks_failed = a.total_tasks_failed + new_failed,
        total_tokens_used = a.total_tokens_used + new_tokens,
        last_assigned_at = now(),
        last_task_completed_at = CASE WHEN new_completed = 1 THEN now() ELSE a.last_task_completed_at END
      WHERE a.id = new_agent;
    END IF;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER trg_tasks_rollups_insert
  AFTER INSERT ON agentry.tasks
  FOR EACH ROW WHEN (NEW.workflow_id IS NOT NULL OR NEW.agent_id IS NOT NULL)
  EXECUTE FUNCTION agentry.sync_task_rollups();
CREATE TRIGGER trg_tasks_rollups_update
  AFTER UPDATE ON agentry.tasks
  FOR EACH ROW WHEN (
    (OLD.workflow_id IS NOT NULL OR NEW.workflow_id IS NOT NULL OR OLD.agent_id IS NOT NULL OR NEW.agent_id IS NOT NULL)
    AND (OLD.status IS DISTINCT FROM NEW.status
         OR OLD.workflow_id IS DISTINCT FROM NEW.workflow_id
         OR OLD.agent_id IS DISTINCT FROM NEW.agent_id
         OR OLD.tokens_used IS DISTINCT FROM NEW.tokens_used
         OR OLD.cost_usd IS DISTINCT FROM NEW.cost_usd
         OR OLD.started_at IS DISTINCT FROM NEW.started_at)
  )
  EXECUTE FUNCTION agentry.sync_task_rollups();
CREATE TRIGGER trg_tasks_rollups_delete
  AFTER DELETE ON agentry.tasks
  FOR EACH ROW WHEN (OLD.workflow_id IS NOT NULL OR OLD.agent_id IS NOT NULL)
  EXECUTE FUNCTION agentry.sync_task_rollups();

-- success_rate follows the counters it is derived from.
CREATE FUNCTION agentry.derive_agent_success_rate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- An inserted agent may bring its own history (seed 002's 247/12 and a rate).
  IF TG_OP = 'INSERT' AND NEW.success_rate IS NOT NULL THEN
    RETURN NEW;
  END IF;
  NEW.success_rate := CASE WHEN NEW.total_tasks_completed + NEW.total_tasks_failed = 0 THEN NULL
    ELSE round(NEW.total_tasks_completed::numeric / (NEW.total_tasks_completed + NEW.total_tasks_failed), 4) END;
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_agents_success_rate
  BEFORE INSERT OR UPDATE OF total_tasks_completed, total_tasks_failed ON agentry.agents
  FOR EACH ROW EXECUTE FUNCTION agentry.derive_agent_success_rate();

-- One row that every change to the task graph (dependency edges, parents)
-- updates before checking for a cycle. Two concurrent transactions could
-- otherwise each add one half of a cycle without seeing the other's half.
-- The row lock serialises them under READ COMMITTED (the check then runs with
-- a fresh snapshot), and under REPEATABLE READ or SERIALIZABLE the second
-- updater fails with a serialization error (40001) and is retried by the
-- caller. An advisory lock would not do: under REPEATABLE READ it gives no
-- view of what the first transaction committed.
CREATE TABLE agentry.task_graph_lock (
  id boolean NOT NULL DEFAULT true,
  generation bigint NOT NULL DEFAULT 0,
  CONSTRAINT pk_task_graph_lock PRIMARY KEY (id),
  CONSTRAINT chk_task_graph_lock_single_row CHECK (id)
);
INSERT INTO agentry.task_graph_lock DEFAULT VALUES;
COMMENT ON TABLE agentry.task_graph_lock IS 'Single row bumped by every task-graph change so that cycle checks are serialised in every isolation level.';

-- Runs as the owner, so that the app role needs no write access to the lock row.
CREATE FUNCTION agentry.lock_task_graph() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- Once per transaction: the row lock is then held until commit, and every
  -- further UPDATE of the row in the same transaction would only lengthen its
  -- version chain (many edges in one transaction grew quadratically slower).
  -- The row version this transaction wrote says so; a session setting could
  -- be forged by the caller.
  IF EXISTS (SELECT 1 FROM agentry.task_graph_lock WHERE id AND xmin = pg_current_xact_id()::xid) THEN
    RETURN;
  END IF;
  UPDATE agentry.task_graph_lock SET generation = generation + 1 WHERE id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'agentry.task_graph_lock has lost its row; cycle checks cannot be serialised'
      USING ERRCODE = '55000', HINT = 'INSERT INTO agentry.task_graph_lock DEFAULT VALUES';
  END IF;
END
$$;

-- A task cannot become its own ancestor.
CREATE FUNCTION agentry.refuse_task_parent_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- A task as its own parent is left to chk_tasks_not_own_parent, which names itself.
  IF NEW.parent_task_id = NEW.id THEN
    RETURN NEW;
  END IF;
  -- Two concurrent re-parentings could otherwise each close half of a loop.
  PERFORM agentry.lock_task_graph();
  IF EXISTS (
    WITH RECURSIVE ancestors(id) AS (
      SELECT NEW.parent_task_id
      UNION
      SELECT t.parent_task_id FROM agentry.tasks t JOIN ancestors a ON t.id = a.id WHERE t.parent_task_id IS NOT NULL
    )
    SELECT 1 FROM ancestors WHERE id = NEW.id
  ) THEN
    RAISE EXCEPTION 'task hierarchy cycle: task % cannot be a descendant of itself (via parent %)', NEW.id, NEW.parent_task_id
      USING ERRCODE = 'AG003', CONSTRAINT = 'trg_tasks_parent_cycle',
            SCHEMA = 'agentry', TABLE = 'tasks', COLUMN = 'parent_task_id';
  END IF;
  RETURN NEW;
END
$$;
-- An inserted row has no children yet, so only a re-parenting can close a loop.
CREATE TRIGGER trg_tasks_parent_cycle
  BEFORE UPDATE OF parent_task_id ON agentry.tasks
  FOR EACH ROW WHEN (NEW.parent_task_id IS NOT NULL AND NEW.parent_task_id IS DISTINCT FROM OLD.parent_task_id)
  EXECUTE FUNCTION agentry.refuse_task_parent_cycle();

CREATE TABLE agentry.task_dependencies (
  task_id uuid NOT NULL,
  depends_on_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_task_dependencies PRIMARY KEY (task_id, depends_on_id),
  CONSTRAINT fk_task_dependencies_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_task_dependencies_depends_on_id FOREIGN KEY (depends_on_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_task_dependencies_not_self CHECK (task_id <> depends_on_id)
);
CREATE INDEX idx_task_dependencies_depends_on ON agentry.task_dependencies (depends_on_id);
COMMENT ON TABLE agentry.task_dependencies IS 'Edge task_id -> depends_on_id: task_id may start only when depends_on_id is completed. Always a DAG.';

CREATE FUNCTION agentry.refuse_dependency_cycle() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- A self edge is left to chk_task_dependencies_not_self, which names itself.
  IF NEW.task_id = NEW.depends_on_id THEN
    RETURN NEW;
  END IF;
  -- Serialised with every other graph change (see agentry.task_graph_lock).
  PERFORM agentry.lock_task_graph();
  IF EXISTS (
    WITH RECURSIVE reachable(id) AS (
      SELECT NEW.depends_on_id
      UNION
      SELECT d.depends_on_id FROM agentry.task_dependencies d JOIN reachable r ON d.task_id = r.id
    )
    SELECT 1 FROM reachable WHERE id = NEW.task_id
  ) THEN
    RAISE EXCEPTION 'dependency cycle: task % already (indirectly) depends on itself through %', NEW.task_id, NEW.depends_on_id
      USING ERRCODE = 'AG003', CONSTRAINT = 'trg_task_dependencies_no_cycle',
            SCHEMA = 'agentry', TABLE = 'task_dependencies',
            DETAIL = format('adding %s -> %s would close a cycle', NEW.task_id, NEW.depends_on_id);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_task_dependencies_no_cycle
  BEFORE INSERT OR UPDATE ON agentry.task_dependencies
  FOR EACH ROW EXECUTE FUNCTION agentry.refuse_dependency_cycle();

-- "Ready" is derived, never stored (seed 002's is_blocked / blocked_by).
CREATE VIEW agentry.task_readiness AS
SELECT
  t.id AS task_id,
  count(d.depends_on_id) FILTER (WHERE dep.status <> 'completed') AS unmet_dependencies,
  coalesce(array_agg(d.depends_on_id) FILTER (WHERE dep.status <> 'completed'), '{}') AS blocked_by,
  coalesce(bool_or(dep.status <> 'completed'), false) AS is_blocked
FROM
  agentry.tasks t
  LEFT JOIN agentry.task_dependencies d ON d.task_id = t.id
  LEFT JOIN agentry.tasks dep ON dep.id = d.depends_on_id
GROUP BY
  t.id;
COMMENT ON VIEW agentry.task_readiness IS 'Per task: dependencies not yet completed. A task with is_blocked = false may start.';

GRANT SELECT, INSERT, UPDATE, DELETE ON agentry.workflows, agentry.projects, agentry.plans, agentry.task_chains,
  agentry.task_templates, agentry.scheduled_tasks, agentry.tasks, agentry.task_dependencies TO agentry_app;
GRANT SELECT ON agentry.workflows, agentry.projects, agentry.plans, agentry.task_chains,
  agentry.task_templates, agentry.scheduled_tasks, agentry.tasks, agentry.task_dependencies TO agentry_readonly;
GRANT SELECT ON agentry.task_readiness TO agentry_app, agentry_readonly;
GRANT SELECT ON agentry.task_graph_lock TO agentry_app, agentry_readonly;
REVOKE EXECUTE ON FUNCTION agentry.lock_task_graph() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agentry.lock_task_graph() TO agentry_app;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP VIEW agentry.task_readiness;
DROP TABLE agentry.task_dependencies;
DROP FUNCTION agentry.refuse_dependency_cycle();
ALTER TABLE agentry.agents DROP CONSTRAINT fk_agents_current_task_id;
DROP INDEX agentry.idx_agents_current_task;
DROP TRIGGER trg_agents_success_rate ON agentry.agents;
DROP FUNCTION agentry.derive_agent_success_rate();
DROP TABLE agentry.tasks;
DROP FUNCTION agentry.refuse_task_parent_cycle();
DROP FUNCTION agentry.lock_task_graph();
DROP TABLE agentry.task_graph_lock;
DROP FUNCTION agentry.sync_task_rollups();
DROP FUNCTION agentry.bump_task_version();
DROP FUNCTION agentry.enforce_task_status_transition();
DROP FUNCTION agentry.validate_task_input();
DROP TABLE agentry.scheduled_tasks;
DROP TABLE agentry.task_templates;
DROP TABLE agentry.task_chains;
DROP TABLE agentry.plans;
DROP TABLE agentry.projects;
DROP TABLE agentry.workflows;
DROP FUNCTION agentry.derive_workflow_state();
RESET ROLE;
