-- name: access.hit_rate_limit
-- description: Counts one request of key $1 in its current UTC minute or hour window ($2), atomically (INSERT ... ON
-- description: CONFLICT DO UPDATE: concurrent hits from any number of connections each add exactly one), and answers
-- description: against the key's limit for that window. Requests past the limit are counted too. No row: no such key.
-- param: $1 api_key_id uuid = (SELECT id FROM agentry.api_keys LIMIT 1)
-- param: $2 window_type text = 'minute'
-- expect: index pk_api_keys
-- expect: no-seq-scan rate_limit_windows
WITH
  hit AS (
    INSERT INTO
      agentry.rate_limit_windows AS w (api_key_id, window_type, window_start, request_count)
    SELECT
      k.id,
      $2::text,
      date_trunc($2::text, statement_timestamp() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
      1
    FROM
      agentry.api_keys AS k
    WHERE
      k.id = $1
    ON CONFLICT (api_key_id, window_type, window_start) DO UPDATE
    SET
      request_count = w.request_count + 1
    RETURNING
      w.api_key_id,
      w.window_type,
      w.window_start,
      w.request_count
  ),
  answer AS (
    SELECT
      hit.window_type,
      hit.window_start,
      hit.request_count,
      CASE hit.window_type
        WHEN 'minute' THEN k.rate_limit_per_minute
        ELSE k.rate_limit_per_hour
      END AS request_limit
    FROM
      hit
      JOIN agentry.api_keys AS k ON k.id = hit.api_key_id
  )
SELECT
  window_type,
  window_start,
  window_start + ('1 ' || window_type)::interval AS window_end,
  request_count,
  request_limit,
  request_count <= request_limit AS allowed,
  greatest(request_limit - request_count, 0) AS remaining
FROM
  answer
