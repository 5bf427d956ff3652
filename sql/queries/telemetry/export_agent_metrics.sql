-- name: telemetry.export_agent_metrics
-- description: Metric rows of one agent recorded in [$2, $3), oldest first (id breaks ties), streamed by exportMetrics.
-- param: $1 agent_id varchar = (SELECT id FROM agentry.agents ORDER BY id LIMIT 1)
-- param: $2 recorded_from timestamptz = (SELECT max(recorded_at) - interval '1 day' FROM agentry.agent_metrics)
-- param: $3 recorded_to timestamptz = (SELECT max(recorded_at) FROM agentry.agent_metrics)
-- expect: index pk_agent_metrics
-- expect: no-seq-scan agent_metrics
SELECT
  id,
  agent_id,
  metric_type,
  metric_value,
  metric_unit,
  context,
  recorded_at
FROM
  agentry.agent_metrics
WHERE
  agent_id = $1
  AND recorded_at >= $2
  AND recorded_at < $3
ORDER BY
  recorded_at,
  id
