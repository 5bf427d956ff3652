-- Up Migration
-- Review: human checkpoints, the corrections they ask for, and automated
-- evaluations of task output (seed 001).
SET LOCAL ROLE agentry_owner;

CREATE TABLE agentry.checkpoints (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  task_id uuid NOT NULL,
  status varchar(20) NOT NULL DEFAULT 'pending_review',
  subtasks_completed jsonb NOT NULL DEFAULT '[]',
  user_decision varchar(10),
  decision_notes text,
  reviewed_by uuid,
  triggered_at timestamptz NOT NULL DEFAULT now(),
  reviewed_at timestamptz,
  CONSTRAINT pk_checkpoints PRIMARY KEY (id),
  CONSTRAINT fk_checkpoints_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_checkpoints_reviewed_by FOREIGN KEY (reviewed_by)
    REFERENCES agentry.users (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT chk_checkpoints_status CHECK (status IN ('pending_review', 'approved', 'corrected', 'rejected')),
  CONSTRAINT chk_checkpoints_user_decision CHECK (user_decision IN ('approve', 'correct', 'reject')),
  CONSTRAINT chk_checkpoints_subtasks_completed_uuid_array CHECK (
    jsonb_typeof(subtasks_completed) = 'array'
    AND NOT jsonb_path_exists(
      subtasks_completed,
      '$[*] ? (@.type() != "string" || !(@ like_regex "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"))'
    )
  ),
  CONSTRAINT chk_checkpoints_decision_consistent CHECK (
    (status = 'pending_review' AND user_decision IS NULL AND reviewed_at IS NULL)
    OR (status = 'approved' AND user_decision IS NOT DISTINCT FROM 'approve' AND reviewed_at IS NOT NULL)
    OR (status = 'corrected' AND user_decision IS NOT DISTINCT FROM 'correct' AND reviewed_at IS NOT NULL)
    OR (status = 'rejected' AND user_decision IS NOT DISTINCT FROM 'reject' AND reviewed_at IS NOT NULL)
  ),
  CONSTRAINT chk_checkpoints_reviewed_after_triggered CHECK (reviewed_at >= triggered_at)
);
CREATE INDEX idx_checkpoints_task ON agentry.checkpoints (task_id);
CREATE INDEX idx_checkpoints_status ON agentry.checkpoints (status);
CREATE INDEX idx_checkpoints_reviewed_by ON agentry.checkpoints (reviewed_by);
COMMENT ON COLUMN agentry.checkpoints.subtasks_completed IS 'Ids (uuid strings) of the subtasks completed when the checkpoint was triggered.';

-- A decision sets the matching status and review time, and is final.
CREATE FUNCTION agentry.apply_checkpoint_decision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.user_decision IS NOT NULL
     AND (NEW.user_decision IS DISTINCT FROM OLD.user_decision OR NEW.status IS DISTINCT FROM OLD.status) THEN
    RAISE EXCEPTION 'checkpoint % was already decided (%): a decision is final', OLD.id, OLD.user_decision
      USING ERRCODE = 'AG005', CONSTRAINT = 'trg_checkpoints_decision',
            SCHEMA = 'agentry', TABLE = 'checkpoints', COLUMN = 'user_decision';
  END IF;
  IF NEW.user_decision IS NOT NULL AND NEW.status = 'pending_review' THEN
    NEW.status := CASE NEW.user_decision WHEN 'approve' THEN 'approved'
                                         WHEN 'correct' THEN 'corrected'
                                         WHEN 'reject' THEN 'rejected'
                                         ELSE NEW.status END;
    NEW.reviewed_at := coalesce(NEW.reviewed_at, now());
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER trg_checkpoints_decision
  BEFORE INSERT OR UPDATE ON agentry.checkpoints
  FOR EACH ROW EXECUTE FUNCTION agentry.apply_checkpoint_decision();

CREATE TABLE agentry.corrections (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  checkpoint_id uuid NOT NULL,
  task_id uuid NOT NULL,
  correction_type varchar(20) NOT NULL,
  guidance text NOT NULL,
  reference_files jsonb NOT NULL DEFAULT '[]',
  result varchar(10) NOT NULL DEFAULT 'pending',
  retry_count integer NOT NULL DEFAULT 0,
  apply_to_future boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  resolved_at timestamptz,
  CONSTRAINT pk_corrections PRIMARY KEY (id),
  CONSTRAINT fk_corrections_checkpoint_id FOREIGN KEY (checkpoint_id)
    REFERENCES agentry.checkpoints (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_corrections_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_corrections_correction_type CHECK (
    correction_type IN ('wrong_approach', 'incomplete', 'bug', 'style', 'missing_feature', 'other')
  ),
  CONSTRAINT chk_corrections_guidance_not_blank CHECK (guidance ~ '[^[:space:]]'),
  CONSTRAINT chk_corrections_reference_files_array CHECK (jsonb_typeof(reference_files) = 'array'),
  CONSTRAINT chk_corrections_result CHECK (result IN ('pending', 'applied', 'failed')),
  CONSTRAINT chk_corrections_retry_count_nonnegative CHECK (retry_count >= 0),
  CONSTRAINT chk_corrections_resolution CHECK ((result = 'pending') = (resolved_at IS NULL)),
  CONSTRAINT chk_corrections_resolved_after_created CHECK (resolved_at >= created_at)
);
CREATE INDEX idx_corrections_checkpoint ON agentry.corrections (checkpoint_id);
CREATE INDEX idx_corrections_task ON agentry.corrections (task_id);
COMMENT ON COLUMN agentry.corrections.task_id IS 'The (sub)task to rework (seed 001 corrections.subtask_id).';
COMMENT ON COLUMN agentry.corrections.reference_files IS 'Reference files or links: strings or {path|url, note} objects.';

-- agentry-format-ignore: overall_score's weighted mean is laid out by hand (sql-formatter puts each sum on one line).
CREATE TABLE agentry.evaluations (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  task_id uuid NOT NULL,
  code_quality numeric(3, 1),
  completeness numeric(3, 1),
  security numeric(3, 1),
  architecture numeric(3, 1),
  testability numeric(3, 1),
  -- Seed 001's weights: security 2.0, code quality 1.5, completeness 1.5,
  -- architecture 1.0, testability 1.0, over the scores that are present.
  overall_score numeric(3, 1) GENERATED ALWAYS AS (
    round(
      (coalesce(security * 2.0, 0) + coalesce(code_quality * 1.5, 0) + coalesce(completeness * 1.5, 0)
       + coalesce(architecture * 1.0, 0) + coalesce(testability * 1.0, 0))
      / nullif(
        (CASE WHEN security IS NOT NULL THEN 2.0 ELSE 0 END)
        + (CASE WHEN code_quality IS NOT NULL THEN 1.5 ELSE 0 END)
        + (CASE WHEN completeness IS NOT NULL THEN 1.5 ELSE 0 END)
        + (CASE WHEN architecture IS NOT NULL THEN 1.0 ELSE 0 END)
        + (CASE WHEN testability IS NOT NULL THEN 1.0 ELSE 0 END), 0),
      1)
  ) STORED,
  details jsonb,
  evaluated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_evaluations PRIMARY KEY (id),
  CONSTRAINT fk_evaluations_task_id FOREIGN KEY (task_id)
    REFERENCES agentry.tasks (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT chk_evaluations_code_quality_range CHECK (code_quality >= 0 AND code_quality <= 10),
  CONSTRAINT chk_evaluations_completeness_range CHECK (completeness >= 0 AND completeness <= 10),
  CONSTRAINT chk_evaluations_security_range CHECK (security >= 0 AND security <= 10),
  CONSTRAINT chk_evaluations_architecture_range CHECK (architecture >= 0 AND architecture <= 10),
  CONSTRAINT chk_evaluations_testability_range CHECK (testability >= 0 AND testability <= 10),
  CONSTRAINT chk_evaluations_has_score CHECK (
    num_nonnulls(code_quality, completeness, security, architecture, testability) > 0
  ),
  CONSTRAINT chk_evaluations_details_object CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX idx_evaluations_task ON agentry.evaluations (task_id);
CREATE INDEX idx_evaluations_overall_score ON agentry.evaluations (overall_score);
COMMENT ON COLUMN agentry.evaluations.overall_score IS 'Weighted mean of the present scores (security 2.0, code quality 1.5, completeness 1.5, architecture 1.0, testability 1.0).';

GRANT SELECT, INSERT, UPDATE, DELETE ON agentry.checkpoints, agentry.corrections, agentry.evaluations TO agentry_app;
GRANT SELECT ON agentry.checkpoints, agentry.corrections, agentry.evaluations TO agentry_readonly;

RESET ROLE;

-- Down Migration
SET LOCAL ROLE agentry_owner;
DROP TABLE agentry.evaluations;
DROP TABLE agentry.corrections;
DROP TABLE agentry.checkpoints;
DROP FUNCTION agentry.apply_checkpoint_decision();
RESET ROLE;
