-- name: work.add_tasks_to_workflow
-- description: Puts the tasks $2 into workflow $1 (out of any workflow they were in); the roll-up
-- description: triggers move their counts. Rows are locked in id order, so two concurrent calls over
-- description: overlapping tasks cannot deadlock. Returns the tasks moved; a missing id has no row.
-- param: $1 workflow_id uuid = (SELECT id FROM agentry.workflows LIMIT 1)
-- param: $2 task_ids uuid[] = ARRAY(SELECT id FROM agentry.tasks LIMIT 3)
-- expect: index pk_tasks
-- expect: no-seq-scan tasks
WITH
  target AS (SELECT t.id FROM agentry.tasks t WHERE t.id = ANY ($2::uuid[]) ORDER BY t.id FOR UPDATE),
  moved AS (UPDATE agentry.tasks t SET workflow_id = $1 FROM target WHERE t.id = target.id RETURNING t.*)
SELECT
  *
FROM
  moved
ORDER BY
  created_at,
  id
