-- Up Migration
-- Knowledge: versioned knowledge entries, agent sessions and their context
-- vectors (seed 004).
SET LOCAL ROLE agentry_owner;

CREATE TABLE agentry.knowledge_entries (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  type varchar(20) NOT NULL,
  title varchar(255) NOT NULL,
  content text,
  summary text,
  tags text[] NOT NULL DEFAULT '{}',
  categories text[] NOT NULL DEFAULT '{}',
  source varchar(100) NOT NULL DEFAULT 'agent',
  created_by uuid NOT NULL,
  created_agent_id varchar(64),
  task_id uuid,
  confidence_score numeric(3, 2),
  version integer NOT NULL DEFAULT 1,
  previous_version_id uuid,
  visibility varchar(10) NOT NULL DEFAULT 'public',
  access_list uuid[] NOT NULL DEFAULT '{}',
  mobile_synced boolean NOT NULL DEFAULT false,
  device_fingerprint varchar(255),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_knowledge_entries PRIMARY KEY (id),
  CONSTRAINT fk_knowledge_entries_created_by FOREIGN KEY (created_by)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT fk_knowledge_entries_created_agent_id FOREIGN KEY (created_agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_knowledge_entries_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_knowledge_entries_previous_version_id FOREIGN KEY (previous_version_id)
    REFERENCES agentry.knowledge_entries (id) ON UPDATE CASCADE ON DELETE SET NULL,
  -- History is a line: a version has at most one successor.
  CONSTRAINT uq_knowledge_entries_previous_version_id UNIQUE (previous_version_id),
  CONSTRAINT chk_knowledge_entries_type CHECK (type IN ('code_snippet', 'adr', 'documentation', 'pattern', 'task_template')),
  CONSTRAINT chk_knowledge_entries_visibility CHECK (visibility IN ('public', 'private', 'team')),
  CONSTRAINT chk_knowledge_entries_confidence_range CHECK (confidence_score >= 0 AND confidence_score <= 1),
  CONSTRAINT chk_knowledge_entries_version_positive CHECK (version >= 1),
  CONSTRAINT chk_knowledge_entries_not_own_previous CHECK (previous_version_id <> id),
  CONSTRAINT chk_knowledge_entries_access_list_no_nulls CHECK (array_position(access_list, NULL) IS NULL)
);
CREATE INDEX idx_knowledge_entries_type ON agentry.knowledge_entries (type);
CREATE INDEX idx_knowledge_entries_tags_gin ON agentry.knowledge_entries USING gin (tags);
CREATE INDEX idx_knowledge_entries_mobile_synced ON agentry.knowledge_entries (mobile_synced)
WHERE
  mobile_synced = true;
CREATE INDEX idx_knowledge_entries_created_by ON agentry.knowledge_entries (created_by);
CREATE INDEX idx_knowledge_entries_created_agent ON agentry.knowledge_entries (created_agent_id);
CREATE INDEX idx_knowledge_entries_task ON agentry.knowledge_entries (task_id);
CREATE TRIGGER trg_knowledge_entries_updated_at BEFORE UPDATE ON agentry.knowledge_entries
  FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at();
COMMENT ON COLUMN agentry.knowledge_entries.access_list IS 'Ids of users or agents allowed to read a private or team entry.';

-- A new version numbers itself after the one it replaces.
CREATE FUNCTION agentry.number_knowledge_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  previous_version integer;
BEGIN
  IF NEW.previous_version_id IS NOT NULL THEN
    SELECT k.version INTO previous_version FROM agentry.knowledge_entries k WHERE k.id = NEW.previous_version_id;
    IF FOUND THEN
      NEW.version := previous_version + 1;
    END IF;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_knowledge_entries_version
  BEFORE INSERT OR UPDATE OF previous_version_id ON agentry.knowledge_entries
  FOR EACH ROW EXECUTE FUNCTION agentry.number_knowledge_version();

CREATE TABLE agentry.agent_sessions (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  agent_id varchar(64) NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'active',
  context_snapshot jsonb NOT NULL DEFAULT '{}',
  mobile_session_id varchar(255),
  device_info jsonb NOT NULL DEFAULT '{}',
  started_at timestamptz NOT NULL DEFAULT now(),
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  duration interval GENERATED ALWAYS AS (ended_at - started_at) STORED,
  task_count integer NOT NULL DEFAULT 0,
  success_rate numeric(5, 4),
  metadata jsonb NOT NULL DEFAULT '{}',
  CONSTRAINT pk_agent_sessions PRIMARY KEY (id),
  CONSTRAINT fk_agent_sessions_agent_id FOREIGN KEY (agent_id)
    REFERENCES agentry.agents (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_agent_sessions_status CHECK (status IN ('active', 'paused', 'completed', 'failed')),
  CONSTRAINT chk_agent_sessions_context_snapshot_object CHECK (jsonb_typeof(context_snapshot) = 'object'),
  CONSTRAINT chk_agent_sessions_device_info_object CHECK (jsonb_typeof(device_info) = 'object'),
  CONSTRAINT chk_agent_sessions_metadata_object CHECK (jsonb_typeof(metadata) = 'object'),
  CONSTRAINT chk_agent_sessions_ended_after_start CHECK (ended_at >= started_at),
  CONSTRAINT chk_agent_sessions_task_count_nonnegative CHECK (task_count >= 0),
  CONSTRAINT chk_agent_sessions_success_rate_range CHECK (success_rate >= 0 AND success_rate <= 1)
);
CREATE INDEX idx_agent_sessions_agent ON agentry.agent_sessions (agent_id);
CREATE INDEX idx_agent_sessions_agent_active ON agentry.agent_sessions (agent_id, status) WHERE status = 'active';
CREATE INDEX idx_agent_sessions_mobile ON agentry.agent_sessions (mobile_session_id)
WHERE
  mobile_session_id IS NOT NULL;
COMMENT ON TABLE agentry.agent_sessions IS 'An agent''s working session (seed 004 sessions); duration is derived from started_at and ended_at.';

CREATE TABLE agentry.context_vectors (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  agent_session_id uuid NOT NULL,
  vector_data real[] NOT NULL,
  context_type varchar(20),
  confidence_score numeric(3, 2),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_context_vectors PRIMARY KEY (id),
  CONSTRAINT fk_context_vectors_agent_session_id FOREIGN KEY (agent_session_id)
    REFERENCES agentry.agent_sessions (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_context_vectors_vector_shape CHECK (
    cardinality(vector_data) > 0
    AND array_ndims(vector_data) = 1
    AND array_position(vector_data, NULL) IS NULL
  ),
  CONSTRAINT chk_context_vectors_context_type CHECK (context_type IN ('semantic', 'collaborative', 'task')),
  CONSTRAINT chk_context_vectors_confidence_range CHECK (confidence_score >= 0 AND confidence_score <= 1)
);
CREATE INDEX idx_context_vectors_agent_session ON agentry.context_vectors (agent_session_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON agentry.knowledge_entries, agentry.agent_sessions, agentry.context_vectors TO agentry_app;
GRANT SELECT ON agentry.knowledge_entries, agentry.agent_sessions, agentry.context_vectors TO agentry_readonly;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP TABLE agentry.context_vectors;
DROP TABLE agentry.agent_sessions;
DROP TABLE agentry.knowledge_entries;
DROP FUNCTION agentry.number_knowledge_version();
RESET ROLE;
