-- name: fleet.get_task_type
-- description: One task type by name: tells an unknown task type from one that no agent serves. A reference table of a
-- description: few dozen rows: a sequential read is its cheap plan, so only the row count is asserted.
-- param: $1 task_type text = 'code_review'
-- expect: max-rows 1
SELECT * FROM agentry.task_types WHERE name = $1
