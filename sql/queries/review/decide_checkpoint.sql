-- name: review.decide_checkpoint
-- description: Records the reviewer's decision on a checkpoint; trg_checkpoints_decision derives status and reviewed_at.
-- description: status is written back as pending_review on purpose: the statement states that it decides a pending checkpoint,
-- description: so on an already decided one the trigger sees a status change and refuses it (AG005), even for the same decision.
-- param: $1 checkpoint_id uuid = (SELECT id FROM agentry.checkpoints WHERE status = 'pending_review' LIMIT 1)
-- param: $2 decision text = 'approve'
-- param: $3 notes text = 'Looks good; ship it.'
-- param: $4 reviewed_by uuid = (SELECT id FROM agentry.users LIMIT 1)
-- expect: index pk_checkpoints
-- expect: no-seq-scan checkpoints
UPDATE agentry.checkpoints
SET
  user_decision = $2,
  status = 'pending_review',
  decision_notes = $3,
  reviewed_by = $4
WHERE
  id = $1
RETURNING
  *
