-- name: telemetry.insert_agent_metrics
-- description: Inserts one chunk of metric rows given as parallel arrays (row i is element i of every array), in array order;
-- description: returns how many rows were inserted. unnest cannot leave a column out for some rows only, so a NULL
-- description: context or recorded_at stands for the column's default ('{}', now()).
-- param: $1 agent_ids varchar[] = ARRAY(SELECT id FROM agentry.agents ORDER BY id LIMIT 2)
-- param: $2 metric_types varchar[] = ARRAY['latency', 'tokens']
-- param: $3 metric_values float8[] = ARRAY[182.5, 1450]
-- param: $4 metric_units varchar[] = ARRAY['ms', NULL]
-- param: $5 contexts jsonb[] = ARRAY['{"model": "claude-sonnet-4"}', NULL]::jsonb[]
-- param: $6 recorded_ats timestamptz[] = ARRAY[now() - interval '1 minute', NULL]
-- expect: no-seq-scan agent_metrics
-- expect: max-rows 1
WITH
  inserted AS (
    INSERT INTO
      agentry.agent_metrics (agent_id, metric_type, metric_value, metric_unit, context, recorded_at)
    SELECT
      m.agent_id,
      m.metric_type,
      m.metric_value,
      m.metric_unit,
      coalesce(m.context, '{}'),
      coalesce(m.recorded_at, now())
    FROM
      unnest(
        $1::varchar[],
        $2::varchar[],
        $3::float8[],
        $4::varchar[],
        $5::jsonb[],
        $6::timestamptz[]
      ) AS m (agent_id, metric_type, metric_value, metric_unit, context, recorded_at)
    RETURNING
      1
  )
SELECT
  count(*)::integer AS inserted
FROM
  inserted
