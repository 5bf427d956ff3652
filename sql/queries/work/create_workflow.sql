-- name: work.create_workflow
-- description: Inserts a workflow from $1, a JSON object of the columns listed (typed by
-- description: jsonb_populate_record); status, counters and times are kept by triggers. id and metadata
-- description: fall back to the column defaults of the work migration.
-- param: $1 workflow jsonb = '{"name": "plan check workflow", "workflow_type": "review"}'
-- expect: no-seq-scan workflows
INSERT INTO
  agentry.workflows (id, name, description, workflow_type, initiator, user_id, metadata)
SELECT
  coalesce(w.id, gen_random_uuid()),
  w.name,
  w.description,
  w.workflow_type,
  w.initiator,
  w.user_id,
  coalesce(w.metadata, '{}'::jsonb)
FROM
  jsonb_populate_record(NULL::agentry.workflows, $1::jsonb) AS w
RETURNING
  *
