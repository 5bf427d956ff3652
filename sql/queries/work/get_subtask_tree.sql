-- name: work.get_subtask_tree
-- description: A task and every descendant (parent_task_id), depth first with siblings oldest first,
-- description: each with its depth below the root (0). No row: there is no such task. The rows travel
-- description: whole through the recursion, so no second pass over tasks is needed.
-- param: $1 root_id uuid = (SELECT parent_task_id FROM agentry.tasks WHERE parent_task_id IS NOT NULL LIMIT 1)
-- expect: index pk_tasks
-- expect: index idx_tasks_parent
-- expect: no-seq-scan tasks
WITH RECURSIVE
  tree (id, created_at, depth, task) AS (
    SELECT
      t.id,
      t.created_at,
      0,
      t
    FROM
      agentry.tasks t
    WHERE
      t.id = $1
    UNION ALL
    SELECT
      c.id,
      c.created_at,
      tree.depth + 1,
      c
    FROM
      agentry.tasks c
      JOIN tree ON c.parent_task_id = tree.id
  ) SEARCH DEPTH FIRST BY created_at,
  id
SET
  tree_order
SELECT
  (tree.task).*,
  tree.depth
FROM
  tree
ORDER BY
  tree.tree_order
