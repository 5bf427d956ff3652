-- name: telemetry.record_trust_event
-- description: Appends one record to the trust ledger; trg_trust_records_apply fills trust_score_before and
-- description: trust_score_after under the agent's row lock, and trg_trust_records_move_score moves agents.trust_score.
-- param: $1 agent_id varchar = (SELECT id FROM agentry.agents ORDER BY id LIMIT 1)
-- param: $2 event_type varchar = 'task_completed'
-- param: $3 trust_delta numeric = 0.0125
-- param: $4 task_id uuid = (SELECT id FROM agentry.tasks LIMIT 1)
-- param: $5 reason varchar = 'completed within the time budget'
-- expect: no-seq-scan trust_records
-- expect: max-rows 1
INSERT INTO
  agentry.trust_records (agent_id, event_type, trust_delta, task_id, reason)
VALUES
  ($1, $2, $3, $4, $5)
RETURNING
  id,
  agent_id,
  event_type,
  task_id,
  trust_delta,
  trust_score_before,
  trust_score_after,
  reason,
  created_at
