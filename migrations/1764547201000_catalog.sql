-- Up Migration
-- Catalog: reference data seeded by migrations (agent types, task types, the
-- task state machine) and the shared functions every other context uses.
SET LOCAL ROLE agentry_owner;

-- Shared: updated_at is never written by application code.
CREATE FUNCTION agentry.set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION agentry.set_updated_at() IS 'BEFORE UPDATE trigger of every table with updated_at.';

-- Shared validators used by CHECK constraints (scheduled_tasks).
CREATE FUNCTION agentry.is_valid_cron(expression text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  fields text[];
  lows int[] := ARRAY[0, 0, 1, 1, 0];
  highs int[] := ARRAY[59, 23, 31, 12, 7];
  field text;
  part text;
  m text[];
  lo int;
  hi int;
  i int;
BEGIN
  IF expression ~ '^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$' THEN
    RETURN true;
  END IF;
  fields := regexp_split_to_array(btrim(expression), '\s+');
  IF array_length(fields, 1) IS DISTINCT FROM 5 THEN
    RETURN false;
  END IF;
  FOR i IN 1..5 LOOP
    field := upper(fields[i]);
    -- Month and weekday names are accepted as croner and cron(5) accept them.
    IF i = 4 THEN
      field := replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(field,
        'JAN', '1'), 'FEB', '2'), 'MAR', '3'), 'APR', '4'), 'MAY', '5'), 'JUN', '6'), 'JUL', '7'), 'AUG', '8'),
        'SEP', '9'), 'OCT', '10'), 'NOV', '11'), 'DEC', '12');
    ELSIF i = 5 THEN
      field := replace(replace(replace(replace(replace(replace(replace(field,
        'SUN', '0'), 'MON', '1'), 'TUE', '2'), 'WED', '3'), 'THU', '4'), 'FRI', '5'), 'SAT', '6');
    END IF;
    FOREACH part IN ARRAY string_to_array(field, ',') LOOP
      m := regexp_match(part, '^(\*|([0-9]{1,2})(-([0-9]{1,2}))?)(/([0-9]{1,2}))?$');
      IF m IS NULL THEN
        RETURN false;
      END IF;
      IF m[2] IS NOT NULL THEN
        lo := m[2]::int;
        hi := coalesce(m[4]::int, lo);
        IF lo < lows[i] OR hi > highs[i] OR lo > hi THEN
          RETURN false;
        END IF;
      END IF;
      IF m[6] IS NOT NULL AND (m[6]::int < 1 OR m[6]::int > highs[i]) THEN
        RETURN false;
      END IF;
    END LOOP;
  END LOOP;
  RETURN true;
END
$$;
COMMENT ON FUNCTION agentry.is_valid_cron(text) IS 'Five-field cron (minute hour day-of-month month day-of-week) with lists, ranges, steps and names, or an @macro.';

CREATE FUNCTION agentry.is_valid_timezone(zone text) RETURNS boolean
LANGUAGE sql STABLE STRICT AS $$
  -- Only IANA names: POSIX offsets such as 'XYZ3' parse in PostgreSQL but
  -- mean something else in every cron library.
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = zone)
$$;
COMMENT ON FUNCTION agentry.is_valid_timezone(text) IS 'True for an IANA time zone name known to this server.';
GRANT EXECUTE ON FUNCTION agentry.is_valid_cron(text), agentry.is_valid_timezone(text) TO agentry_app, agentry_readonly;

-- Monthly range partitions (agent_metrics, activity_logs, audit_logs).
CREATE FUNCTION agentry.create_monthly_partitions(parent regclass, from_date date, to_date date)
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Bounds go through text (%L, pg_get_expr): a session's DateStyle and TimeZone
-- would print them with abbreviations such as IST that read back differently.
SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD' AS $$
DECLARE
  parent_schema text;
  parent_name text;
  key_column text;
  month_start date;
  month_end date;
  lower_bound timestamptz;
  upper_bound timestamptz;
  partition_name text;
  default_name text;
  stray_rows bigint;
BEGIN
  SELECT n.nspname, c.relname, a.attname
    INTO parent_schema, parent_name, key_column
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_partitioned_table p ON p.partrelid = c.oid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
   WHERE c.oid = parent AND p.partstrat = 'r' AND p.partnatts = 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION '% is not a table partitioned by range on one column', parent
      USING ERRCODE = '22023';
  END IF;
  default_name := parent_name || '_default';
  month_start := date_trunc('month', from_date)::date;
  WHILE month_start < to_date LOOP
    month_end := (month_start + interval '1 month')::date;
    -- Bounds are UTC month starts whatever the session's TimeZone is.
    lower_bound := month_start::timestamp AT TIME ZONE 'UTC';
    upper_bound := month_end::timestamp AT TIME ZONE 'UTC';
    partition_name := format('%s_y%sm%s', parent_name, to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
    IF to_regclass(format('%I.%I', parent_schema, partition_name)) IS NULL THEN
      stray_rows := 0;
      IF to_regclass(format('%I.%I', parent_schema, default_name)) IS NOT NULL THEN
        EXECUTE format('SELECT count(*) FROM %I.%I WHERE %I >= $1 AND %I < $2',
                       parent_schema, default_name, key_column, key_column)
          INTO stray_rows USING lower_bound, upper_bound;
      END IF;
      IF stray_rows = 0 THEN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       parent_schema, partition_name, parent, lower_bound, upper_bound);
      ELSE
        -- Rows for this month already sit in the default partition, which
        -- would make CREATE ... PARTITION OF fail: move them into a new
        -- table and attach that as the month's partition.
        PERFORM set_config('agentry.partition_maintenance', 'on', true);
        EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       parent_schema, partition_name, parent);
        EXECUTE format('WITH moved AS (DELETE FROM %I.%I WHERE %I >= $1 AND %I < $2 RETURNING *) '
                       'INSERT INTO %I.%I SELECT * FROM moved',
                       parent_schema, default_name, key_column, key_column, parent_schema, partition_name)
          USING lower_bound, upper_bound;
        EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                       parent, parent_schema, partition_name, lower_bound, upper_bound);
        PERFORM set_config('agentry.partition_maintenance', '', true);
      END IF;
      RETURN NEXT partition_name;
    END IF;
    month_start := month_end;
  END LOOP;
END
$$;
COMMENT ON FUNCTION agentry.create_monthly_partitions(regclass, date, date) IS 'Creates the missing monthly partitions covering [from_date, to_date), moving rows out of the default partition when needed. Returns the names created.';

CREATE FUNCTION agentry.maintain_partitions(
  months_ahead integer DEFAULT 3,
  retention_months integer DEFAULT NULL,
  drop_detached boolean DEFAULT true,
  as_of timestamptz DEFAULT now()
)
RETURNS TABLE (parent_table text, partition_name text, action text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Bounds go through text (%L, pg_get_expr): a session's DateStyle and TimeZone
-- would print them with abbreviations such as IST that read back differently.
SET "TimeZone" = 'UTC' SET "DateStyle" = 'ISO, YMD' AS $$
DECLARE
  parent_oid oid;
  this_month date := date_trunc('month', as_of AT TIME ZONE 'UTC')::date;
  oldest_kept date;
  part record;
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 OR months_ahead > 120 THEN
    RAISE EXCEPTION 'months_ahead must be between 0 and 120, got %', months_ahead USING ERRCODE = '22023';
  END IF;
  IF as_of IS NULL OR drop_detached IS NULL THEN
    RAISE EXCEPTION 'as_of and drop_detached must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF retention_months IS NOT NULL AND retention_months < 1 THEN
    RAISE EXCEPTION 'retention_months must be at least 1, got %', retention_months USING ERRCODE = '22023';
  END IF;
  FOR parent_oid IN
    SELECT c.oid FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_partitioned_table p ON p.partrelid = c.oid
     WHERE n.nspname = 'agentry' AND c.relkind = 'p' AND p.partstrat = 'r'
     ORDER BY c.relname
  LOOP
    parent_table := parent_oid::regclass::text;
    FOR partition_name IN
      SELECT * FROM agentry.create_monthly_partitions(parent_oid, this_month, (this_month + make_interval(months => months_ahead + 1))::date)
    LOOP
      action := 'created';
      RETURN NEXT;
    END LOOP;
    IF retention_months IS NOT NULL THEN
      oldest_kept := (this_month - make_interval(months => retention_months))::date;
      FOR part IN
        SELECT c.oid, c.relname,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = parent_oid
      LOOP
        CONTINUE WHEN part.upper_bound IS NULL; -- the default partition
        IF part.upper_bound <= oldest_kept::timestamp AT TIME ZONE 'UTC' THEN
          EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent_oid::regclass, part.oid::regclass);
          partition_name := part.relname;
          IF drop_detached THEN
            EXECUTE format('DROP TABLE %s', part.oid::regclass);
            action := 'dropped';
          ELSE
            action := 'detached';
          END IF;
          RETURN NEXT;
        END IF;
      END LOOP;
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION agentry.maintain_partitions(integer, integer, boolean, timestamptz) IS 'For every range-partitioned table in agentry: creates monthly partitions from this month to months_ahead ahead and, when retention_months is given, detaches (and drops) partitions that ended before that many months ago.';
REVOKE EXECUTE ON FUNCTION agentry.create_monthly_partitions(regclass, date, date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION agentry.maintain_partitions(integer, integer, boolean, timestamptz) FROM PUBLIC;

-- Agent classes (seed 000's task_types.agent_type values and seed 004's agents.type vocabulary).
CREATE TABLE agentry.agent_types (
  name varchar(50) NOT NULL,
  description text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_agent_types PRIMARY KEY (name),
  CONSTRAINT chk_agent_types_name_format CHECK (name ~ '^[A-Za-z][A-Za-z0-9_]{2,49}$')
);
COMMENT ON TABLE agentry.agent_types IS 'Reference data: the kinds of agent a task type is routed to.';

INSERT INTO
  agentry.agent_types (name, description)
VALUES
  ('NLPAgent', 'Natural-language work: analysis, generation, translation'),
  ('CodeAgent', 'Code generation, analysis and optimisation'),
  ('DataAgent', 'Data processing, analysis and visualisation'),
  ('ResearchAgent', 'Research and summarisation'),
  ('OrchestratorAgent', 'Multi-step tasks and pipelines'),
  ('codegen', 'Autonomous coding agent (seed 004)'),
  ('testing', 'Test-writing agent (seed 004)'),
  ('documentation', 'Documentation agent (seed 004)'),
  ('archon', 'Architect / planner agent (seed 004)'),
  ('mobile_controller', 'Mobile-Agent-V3 device controller (seed 004)');

-- Task types with their input rules (seed 000). Each element of
-- required_input_keys names a key the input must have; 'a|b' means either.
CREATE TABLE agentry.task_types (
  name varchar(50) NOT NULL,
  description text NOT NULL,
  agent_type varchar(50) NOT NULL,
  avg_complexity numeric(3, 2),
  avg_duration_seconds numeric(10, 2),
  required_input_keys text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_task_types PRIMARY KEY (name),
  CONSTRAINT fk_task_types_agent_type FOREIGN KEY (agent_type)
    REFERENCES agentry.agent_types (name) ON UPDATE CASCADE ON DELETE RESTRICT,
  CONSTRAINT chk_task_types_name_format CHECK (name ~ '^[a-z0-9_]{3,50}$'),
  CONSTRAINT chk_task_types_avg_complexity_range CHECK (avg_complexity >= 0 AND avg_complexity <= 1),
  CONSTRAINT chk_task_types_avg_duration_nonnegative CHECK (avg_duration_seconds >= 0),
  CONSTRAINT chk_task_types_required_input_keys_format CHECK (
    -- The array's text form quotes an empty element or one holding a comma, so neither passes.
    required_input_keys::text ~ '^\{([A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*(,[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*)*)?\}$'
    AND array_position(required_input_keys, NULL) IS NULL
  )
);
CREATE INDEX idx_task_types_agent_type ON agentry.task_types (agent_type);
COMMENT ON TABLE agentry.task_types IS 'Reference data: what a task is; routes to an agent type and says which input keys it needs.';
COMMENT ON COLUMN agentry.task_types.required_input_keys IS 'Top-level keys tasks.input must contain; an element ''a|b'' is satisfied by either key.';

INSERT INTO
  agentry.task_types (name, description, agent_type, avg_complexity, avg_duration_seconds, required_input_keys)
VALUES
  ('text_analysis', 'Analyze text for sentiment, entities, etc.', 'NLPAgent', 0.50, 5.0, '{text}'),
  ('text_generation', 'Generate text from prompts', 'NLPAgent', 0.60, 10.0, '{prompt}'),
  ('translation', 'Translate text between languages', 'NLPAgent', 0.55, 8.0, '{text,source_lang,target_lang}'),
  ('code_generation', 'Generate code from specifications', 'CodeAgent', 0.75, 30.0, '{specification}'),
  ('code_analysis', 'Analyze code for bugs, quality', 'CodeAgent', 0.65, 15.0, '{code}'),
  ('code_optimization', 'Optimize existing code', 'CodeAgent', 0.80, 45.0, '{}'),
  ('data_processing', 'Process and transform data', 'DataAgent', 0.65, 20.0, '{data}'),
  -- Seed 002 submits data_analysis work by reference ("file_url"), seed 000 inline ("data").
  ('data_analysis', 'Statistical analysis of data', 'DataAgent', 0.70, 25.0, '{data|file_url}'),
  ('data_visualization', 'Create visualizations', 'DataAgent', 0.45, 12.0, '{}'),
  ('research', 'Conduct research on topic', 'ResearchAgent', 0.75, 60.0, '{}'),
  ('summarization', 'Summarize documents/data', 'ResearchAgent', 0.55, 15.0, '{}'),
  ('multi_step', 'Complex multi-stage task', 'OrchestratorAgent', 0.85, 120.0, '{}'),
  ('pipeline', 'Data pipeline execution', 'OrchestratorAgent', 0.75, 90.0, '{}'),
  -- Task types the other seeds' sample rows and chain steps use.
  ('fetch', 'Fetch data from a source (seed 002 chains)', 'DataAgent', NULL, NULL, '{}'),
  ('process', 'Process fetched data (seed 002 chains)', 'DataAgent', NULL, NULL, '{}'),
  ('code_review', 'Review code (seed 003)', 'CodeAgent', NULL, NULL, '{}'),
  ('test_engineering', 'Write and run tests (seed 003)', 'CodeAgent', NULL, NULL, '{}');

-- The task status vocabulary is one domain so that tasks and the transition
-- table cannot drift apart.
CREATE DOMAIN agentry.task_status AS varchar(20) CONSTRAINT chk_task_status_valid CHECK (
  VALUE IN (
    'pending',
    'initializing',
    'queued',
    'assigned',
    'running',
    'checkpoint',
    'correcting',
    'retrying',
    'completed',
    'failed',
    'cancelled',
    'timeout'
  )
);
COMMENT ON DOMAIN agentry.task_status IS 'The one task status vocabulary (schema.md).';

CREATE TABLE agentry.task_status_transitions (
  from_status agentry.task_status NOT NULL,
  to_status agentry.task_status NOT NULL,
  description text,
  CONSTRAINT pk_task_status_transitions PRIMARY KEY (from_status, to_status),
  CONSTRAINT chk_task_status_transitions_not_self CHECK (from_status <> to_status)
);
COMMENT ON TABLE agentry.task_status_transitions IS 'The task state machine as data: a status change not listed here is refused by trg_tasks_status_transition.';

INSERT INTO
  agentry.task_status_transitions (from_status, to_status)
VALUES
  ('pending', 'initializing'),
  ('pending', 'queued'),
  ('pending', 'cancelled'),
  ('initializing', 'queued'),
  ('initializing', 'failed'),
  ('initializing', 'cancelled'),
  ('queued', 'assigned'),
  ('queued', 'running'),
  ('queued', 'cancelled'),
  ('assigned', 'running'),
  ('assigned', 'queued'),
  ('assigned', 'cancelled'),
  ('assigned', 'timeout'),
  ('running', 'completed'),
  ('running', 'failed'),
  ('running', 'timeout'),
  ('running', 'cancelled'),
  ('running', 'checkpoint'),
  ('checkpoint', 'running'),
  ('checkpoint', 'correcting'),
  ('checkpoint', 'failed'),
  ('checkpoint', 'cancelled'),
  ('correcting', 'queued'),
  ('correcting', 'failed'),
  ('correcting', 'cancelled'),
  ('failed', 'retrying'),
  ('failed', 'cancelled'),
  ('retrying', 'queued'),
  ('retrying', 'cancelled');

GRANT SELECT ON agentry.agent_types, agentry.task_types, agentry.task_status_transitions TO agentry_app, agentry_readonly;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP TABLE agentry.task_status_transitions;
DROP DOMAIN agentry.task_status;
DROP TABLE agentry.task_types;
DROP TABLE agentry.agent_types;
DROP FUNCTION agentry.maintain_partitions(integer, integer, boolean, timestamptz);
DROP FUNCTION agentry.create_monthly_partitions(regclass, date, date);
DROP FUNCTION agentry.is_valid_timezone(text);
DROP FUNCTION agentry.is_valid_cron(text);
DROP FUNCTION agentry.set_updated_at();
RESET ROLE;
