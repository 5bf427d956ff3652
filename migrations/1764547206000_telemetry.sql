-- Up Migration
-- Telemetry: metrics and activity logs (monthly partitions), agent
-- interactions, the trust ledger and learning experiences (seeds 000-003).
SET LOCAL ROLE agentry_owner;

-- Partitioned by month; the key leads with agent_id so that the table can be
-- hash-distributed by agent (Citus needs the distribution column in every unique key).
CREATE TABLE agentry.agent_metrics (
  id bigint GENERATED ALWAYS AS IDENTITY,
  agent_id varchar(64) NOT NULL,
  metric_type varchar(20) NOT NULL,
  metric_value double precision NOT NULL,
  metric_unit varchar(20),
  context jsonb NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_agent_metrics PRIMARY KEY (agent_id, recorded_at, id),
  CONSTRAINT fk_agent_metrics_agent_id FOREIGN KEY (agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_agent_metrics_metric_type CHECK (metric_type IN ('latency', 'tokens', 'cost', 'success_rate', 'error_rate')),
  CONSTRAINT chk_agent_metrics_metric_value_finite CHECK (
    metric_value > '-Infinity'::float8
    AND metric_value < 'Infinity'::float8
  ),
  CONSTRAINT chk_agent_metrics_context_object CHECK (jsonb_typeof(context) = 'object')
)
PARTITION BY
  RANGE (recorded_at);
CREATE TABLE agentry.agent_metrics_default PARTITION OF agentry.agent_metrics DEFAULT;
-- Leads with agent_id: also the index on the foreign key.
CREATE INDEX idx_agent_metrics_agent_type_time ON agentry.agent_metrics (agent_id, metric_type, recorded_at DESC);
COMMENT ON TABLE agentry.agent_metrics IS 'Time series per agent (seed 003), partitioned by month on recorded_at.';
COMMENT ON COLUMN agentry.agent_metrics.metric_type IS 'latency (ms), tokens, cost (USD), success_rate (%), error_rate (%)';

CREATE TABLE agentry.activity_logs (
  id bigint GENERATED ALWAYS AS IDENTITY,
  task_id uuid,
  worker_id uuid,
  level varchar(10) NOT NULL,
  message text NOT NULL,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_activity_logs PRIMARY KEY (id, created_at),
  CONSTRAINT fk_activity_logs_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_activity_logs_worker_id FOREIGN KEY (worker_id)
    REFERENCES agentry.workers (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT chk_activity_logs_level CHECK (level IN ('info', 'warning', 'error')),
  CONSTRAINT chk_activity_logs_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
)
PARTITION BY
  RANGE (created_at);
CREATE TABLE agentry.activity_logs_default PARTITION OF agentry.activity_logs DEFAULT;
CREATE INDEX idx_activity_logs_task ON agentry.activity_logs (task_id);
CREATE INDEX idx_activity_logs_worker ON agentry.activity_logs (worker_id);
CREATE INDEX idx_activity_logs_created_at ON agentry.activity_logs (created_at DESC);
COMMENT ON TABLE agentry.activity_logs IS 'System-wide activity log (seed 001), partitioned by month on created_at.';
COMMENT ON COLUMN agentry.activity_logs.task_id IS 'The task or subtask logged about (seed 001 task_id / subtask_id).';

SELECT
  agentry.create_monthly_partitions(
    parent,
    date_trunc('month', now() AT TIME ZONE 'UTC')::date,
    (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '4 months')::date
  )
FROM
  unnest(ARRAY['agentry.agent_metrics'::regclass, 'agentry.activity_logs'::regclass]) AS parent;

CREATE TABLE agentry.agent_interactions (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  workflow_id uuid,
  from_agent_id varchar(64) NOT NULL,
  to_agent_id varchar(64) NOT NULL,
  interaction_type varchar(20) NOT NULL,
  message text,
  payload jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_agent_interactions PRIMARY KEY (id),
  CONSTRAINT fk_agent_interactions_workflow_id FOREIGN KEY (workflow_id)
    REFERENCES agentry.workflows (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_agent_interactions_from_agent_id FOREIGN KEY (from_agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_agent_interactions_to_agent_id FOREIGN KEY (to_agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_agent_interactions_interaction_type CHECK (interaction_type IN ('handoff', 'collaboration', 'review', 'feedback')),
  CONSTRAINT chk_agent_interactions_distinct_agents CHECK (from_agent_id <> to_agent_id)
);
CREATE INDEX idx_agent_interactions_workflow ON agentry.agent_interactions (workflow_id);
CREATE INDEX idx_agent_interactions_agents ON agentry.agent_interactions (from_agent_id, to_agent_id);
CREATE INDEX idx_agent_interactions_to_agent ON agentry.agent_interactions (to_agent_id);

CREATE TABLE agentry.trust_records (
  id bigint GENERATED ALWAYS AS IDENTITY,
  agent_id varchar(64) NOT NULL,
  event_type varchar(20) NOT NULL,
  task_id uuid,
  trust_delta numeric(5, 4) NOT NULL,
  trust_score_before numeric(5, 4) NOT NULL,
  trust_score_after numeric(5, 4) NOT NULL,
  reason varchar(512),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_trust_records PRIMARY KEY (id),
  CONSTRAINT fk_trust_records_agent_id FOREIGN KEY (agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_trust_records_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT chk_trust_records_event_type CHECK (
    event_type IN ('task_completed', 'task_failed', 'task_timeout', 'manual_adjustment')
  ),
  CONSTRAINT chk_trust_records_delta_range CHECK (trust_delta >= -1 AND trust_delta <= 1),
  CONSTRAINT chk_trust_records_before_range CHECK (trust_score_before >= 0 AND trust_score_before <= 1),
  CONSTRAINT chk_trust_records_after_range CHECK (trust_score_after >= 0 AND trust_score_after <= 1),
  CONSTRAINT chk_trust_records_arithmetic CHECK (trust_score_before + trust_delta = trust_score_after)
);
-- Leads with agent_id: also the index on the foreign key.
CREATE INDEX idx_trust_records_agent_created ON agentry.trust_records (agent_id, created_at DESC, id DESC);
CREATE INDEX idx_trust_records_task ON agentry.trust_records (task_id);
COMMENT ON TABLE agentry.trust_records IS 'The trust ledger (seed 002): the only way agents.trust_score changes. Give agent_id and trust_delta; before and after are filled in.';

-- Runs as the owner: the app role may insert a record but never set a score directly.
CREATE FUNCTION agentry.apply_trust_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  current_score numeric(5, 4);
BEGIN
  -- The agent row lock orders concurrent records for one agent.
  SELECT a.trust_score INTO current_score FROM agentry.agents a WHERE a.id = NEW.agent_id FOR UPDATE;
  IF NOT FOUND THEN
    -- Reported here: the NOT NULL of trust_score_before would otherwise speak before the foreign key.
    IF NEW.agent_id IS NOT NULL THEN
      RAISE EXCEPTION 'insert or update on table "trust_records" violates foreign key constraint "fk_trust_records_agent_id"'
        USING ERRCODE = '23503', CONSTRAINT = 'fk_trust_records_agent_id', SCHEMA = 'agentry', TABLE = 'trust_records',
              DETAIL = format('Key (agent_id)=(%s) is not present in table "agents".', NEW.agent_id);
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.trust_score_before IS NOT NULL AND NEW.trust_score_before <> current_score THEN
    RAISE EXCEPTION 'trust_score_before % does not match agent %''s current trust score %', NEW.trust_score_before, NEW.agent_id, current_score
      USING ERRCODE = 'AG006', CONSTRAINT = 'trg_trust_records_apply',
            SCHEMA = 'agentry', TABLE = 'trust_records', COLUMN = 'trust_score_before',
            HINT = 'Leave trust_score_before and trust_score_after empty to have them filled in.';
  END IF;
  NEW.trust_score_before := current_score;
  NEW.trust_score_after := coalesce(NEW.trust_score_after, current_score + NEW.trust_delta);
  -- Records of one agent are ordered by the time their lock was granted.
  NEW.created_at := clock_timestamp();
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_trust_records_apply
  BEFORE INSERT ON agentry.trust_records
  FOR EACH ROW EXECUTE FUNCTION agentry.apply_trust_record();

CREATE FUNCTION agentry.move_agent_trust_score() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM set_config('agentry.trust_write', 'on', true);
  UPDATE agentry.agents SET trust_score = NEW.trust_score_after WHERE id = NEW.agent_id;
  PERFORM set_config('agentry.trust_write', '', true);
  RETURN NULL;
END
$$;
CREATE TRIGGER trg_trust_records_move_score
  AFTER INSERT ON agentry.trust_records
  FOR EACH ROW EXECUTE FUNCTION agentry.move_agent_trust_score();

CREATE FUNCTION agentry.refuse_trust_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Foreign-key actions (a task deleted: task_id set to NULL; an agent or
  -- task id renamed: cascaded) may move the references, never the ledger values.
  IF pg_trigger_depth() > 1
     AND (NEW.id, NEW.event_type, NEW.trust_delta, NEW.trust_score_before, NEW.trust_score_after, NEW.reason, NEW.created_at)
         IS NOT DISTINCT FROM (OLD.id, OLD.event_type, OLD.trust_delta, OLD.trust_score_before, OLD.trust_score_after, OLD.reason, OLD.created_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'trust_records is a ledger: % is not allowed; insert a compensating record instead', TG_OP
    USING ERRCODE = 'AG004', CONSTRAINT = 'trg_trust_records_append_only',
          SCHEMA = 'agentry', TABLE = 'trust_records';
END
$$;
CREATE TRIGGER trg_trust_records_append_only
  BEFORE UPDATE ON agentry.trust_records
  FOR EACH ROW EXECUTE FUNCTION agentry.refuse_trust_record_change();

-- Seed 000 names a Learning Experiences table without defining it: what an
-- agent did in which context for which task type, how it went, the reward
-- and the lesson. Corrections marked apply_to_future become one.
CREATE TABLE agentry.learning_experiences (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  agent_id varchar(64),
  task_type varchar(50),
  task_id uuid,
  correction_id uuid,
  source varchar(20) NOT NULL DEFAULT 'execution',
  context jsonb NOT NULL DEFAULT '{}',
  action jsonb NOT NULL DEFAULT '{}',
  outcome varchar(20) NOT NULL,
  reward numeric(4, 3),
  lesson text NOT NULL,
  times_applied integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_learning_experiences PRIMARY KEY (id),
  CONSTRAINT fk_learning_experiences_agent_id FOREIGN KEY (agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_learning_experiences_task_type FOREIGN KEY (task_type)
    REFERENCES agentry.task_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT fk_learning_experiences_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_learning_experiences_correction_id FOREIGN KEY (correction_id)
    REFERENCES agentry.corrections (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT uq_learning_experiences_correction_id UNIQUE (correction_id),
  CONSTRAINT chk_learning_experiences_source CHECK (source IN ('execution', 'correction', 'evaluation', 'manual')),
  CONSTRAINT chk_learning_experiences_outcome CHECK (outcome IN ('success', 'failure', 'partial', 'corrected')),
  CONSTRAINT chk_learning_experiences_reward_range CHECK (reward >= -1 AND reward <= 1),
  CONSTRAINT chk_learning_experiences_context_object CHECK (jsonb_typeof(context) = 'object'),
  CONSTRAINT chk_learning_experiences_action_object CHECK (jsonb_typeof(action) = 'object'),
  CONSTRAINT chk_learning_experiences_lesson_not_blank CHECK (lesson ~ '[^[:space:]]'),
  CONSTRAINT chk_learning_experiences_times_applied_nonnegative CHECK (times_applied >= 0),
  CONSTRAINT chk_learning_experiences_subject CHECK (agent_id IS NOT NULL OR task_type IS NOT NULL)
);
CREATE INDEX idx_learning_experiences_agent_task_type ON agentry.learning_experiences (agent_id, task_type);
CREATE INDEX idx_learning_experiences_task_type ON agentry.learning_experiences (task_type);
CREATE INDEX idx_learning_experiences_task ON agentry.learning_experiences (task_id);
COMMENT ON TABLE agentry.learning_experiences IS 'What an agent (or every agent of a task type) learned: context, action, outcome, reward and lesson.';

CREATE FUNCTION agentry.learn_from_correction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO agentry.learning_experiences (agent_id, task_type, task_id, correction_id, source, context, action, outcome, lesson)
  SELECT t.agent_id, t.type, t.id, NEW.id, 'correction',
         jsonb_build_object('correction_type', NEW.correction_type, 'checkpoint_id', NEW.checkpoint_id,
                            'reference_files', NEW.reference_files),
         jsonb_build_object('task_input', t.input, 'assigned_tool', t.assigned_tool),
         'corrected', NEW.guidance
    FROM agentry.tasks t
   WHERE t.id = NEW.task_id
      -- A lesson needs someone to learn it: the task's agent or its task type.
     AND (t.agent_id IS NOT NULL OR t.type IS NOT NULL)
  ON CONFLICT (correction_id) DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER trg_corrections_learn_insert
  AFTER INSERT ON agentry.corrections
  FOR EACH ROW WHEN (NEW.apply_to_future)
  EXECUTE FUNCTION agentry.learn_from_correction();
CREATE TRIGGER trg_corrections_learn_update
  AFTER UPDATE OF apply_to_future ON agentry.corrections
  FOR EACH ROW WHEN (NEW.apply_to_future AND NOT OLD.apply_to_future)
  EXECUTE FUNCTION agentry.learn_from_correction();

GRANT SELECT, INSERT, UPDATE, DELETE ON agentry.agent_metrics, agentry.activity_logs, agentry.agent_interactions,
  agentry.learning_experiences TO agentry_app;
GRANT SELECT, INSERT ON agentry.trust_records TO agentry_app;
GRANT SELECT ON agentry.agent_metrics, agentry.activity_logs, agentry.agent_interactions, agentry.trust_records,
  agentry.learning_experiences TO agentry_readonly;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP TRIGGER trg_corrections_learn_update ON agentry.corrections;
DROP TRIGGER trg_corrections_learn_insert ON agentry.corrections;
DROP FUNCTION agentry.learn_from_correction();
DROP TABLE agentry.learning_experiences;
DROP TABLE agentry.trust_records;
DROP FUNCTION agentry.refuse_trust_record_change();
DROP FUNCTION agentry.move_agent_trust_score();
DROP FUNCTION agentry.apply_trust_record();
DROP TABLE agentry.agent_interactions;
DROP TABLE agentry.activity_logs;
DROP TABLE agentry.agent_metrics;
RESET ROLE;
