-- name: review.insert_evaluation
-- description: Records an evaluation of a task's output; overall_score is the generated weighted mean of the scores given.
-- param: $1 task_id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
-- param: $2 code_quality numeric = 8.5
-- param: $3 completeness numeric = 9.0
-- param: $4 security numeric = 7.0
-- param: $5 architecture numeric = NULL
-- param: $6 testability numeric = 6.5
-- param: $7 details jsonb = '{"evaluator": "static-analysis", "findings": 3}'
-- expect: no-seq-scan evaluations
INSERT INTO
  agentry.evaluations (task_id, code_quality, completeness, security, architecture, testability, details)
VALUES
  ($1, $2, $3, $4, $5, $6, $7)
RETURNING
  *
