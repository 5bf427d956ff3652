-- name: work.add_dependencies
-- description: Makes task $1 depend on each task of $2 (edges already there are kept as they are).
-- description: trg_task_dependencies_no_cycle refuses an edge that closes a cycle, and then the whole
-- description: statement; foreign keys refuse an unknown task. Returns the edges added.
-- param: $1 task_id uuid = (SELECT id FROM agentry.tasks ORDER BY created_at DESC LIMIT 1)
-- param: $2 depends_on_ids uuid[] = ARRAY(SELECT id FROM agentry.tasks ORDER BY created_at LIMIT 1)
-- expect: no-seq-scan tasks
INSERT INTO
  agentry.task_dependencies (task_id, depends_on_id)
SELECT DISTINCT
  $1::uuid,
  d.depends_on_id
FROM
  unnest($2::uuid[]) AS d(depends_on_id)
ON CONFLICT ON CONSTRAINT pk_task_dependencies DO NOTHING
RETURNING
  *
