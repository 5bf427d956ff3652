-- name: review.insert_correction
-- description: Adds a correction asked for at a checkpoint; with apply_to_future, trg_corrections_learn_insert records a learning_experiences row.
-- param: $1 checkpoint_id uuid = (SELECT id FROM agentry.checkpoints LIMIT 1)
-- param: $2 task_id uuid = (SELECT task_id FROM agentry.checkpoints LIMIT 1)
-- param: $3 correction_type text = 'bug'
-- param: $4 guidance text = 'Handle the empty input case before parsing.'
-- param: $5 reference_files jsonb = '["src/parser.ts", {"url": "https://example.com/spec", "note": "section 4"}]'
-- param: $6 apply_to_future boolean = true
-- expect: no-seq-scan corrections
INSERT INTO
  agentry.corrections (checkpoint_id, task_id, correction_type, guidance, reference_files, apply_to_future)
VALUES
  ($1, $2, $3, $4, $5, $6)
RETURNING
  *
