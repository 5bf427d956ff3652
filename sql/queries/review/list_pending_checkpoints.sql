-- name: review.list_pending_checkpoints
-- description: The review queue: checkpoints waiting for a decision, longest waiting first, at most $1.
-- param: $1 max_count integer = 50
-- expect: index idx_checkpoints_status
-- expect: no-seq-scan checkpoints
SELECT * FROM agentry.checkpoints WHERE status = 'pending_review' ORDER BY triggered_at, id LIMIT $1
