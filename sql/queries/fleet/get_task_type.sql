-- name: fleet.get_task_type
-- description: One task type by name: tells an unknown task type from one that no agent serves.
-- param: $1 task_type text = 'code_review'
-- expect: index pk_task_types
-- expect: no-seq-scan task_types
SELECT *
  FROM agentry.task_types
 WHERE name = $1
