-- name: telemetry.export_metrics
-- description: Metric rows of every agent recorded in [$1, $2), by agent then time (id breaks ties), streamed by exportMetrics.
-- description: No index leads with recorded_at, so the agents drive the scan: one range scan of the primary key
-- description: (agent_id, recorded_at, id) per agent for a short window, one ordered merge of it for a long one; no seq scan.
-- description: The example hour is the middle of the data, inside a whole month: the data's last hour may fall in a month
-- description: a few days old, whose partition is small enough that reading it whole is the cheaper plan.
-- param: $1 recorded_from timestamptz = (SELECT min(recorded_at) + (max(recorded_at) - min(recorded_at)) / 2 FROM agentry.agent_metrics)
-- param: $2 recorded_to timestamptz = (SELECT min(recorded_at) + (max(recorded_at) - min(recorded_at)) / 2 + interval '1 hour' FROM agentry.agent_metrics)
-- expect: index pk_agent_metrics
-- expect: no-seq-scan agent_metrics
-- expect: partitions agent_metrics <= 2
SELECT
  m.id,
  m.agent_id,
  m.metric_type,
  m.metric_value,
  m.metric_unit,
  m.context,
  m.recorded_at
FROM
  agentry.agents AS a
  CROSS JOIN LATERAL (
    SELECT
      *
    FROM
      agentry.agent_metrics AS am
    WHERE
      am.agent_id = a.id
      AND am.recorded_at >= $1
      AND am.recorded_at < $2
  ) AS m
ORDER BY
  m.agent_id,
  m.recorded_at,
  m.id
