-- name: knowledge.insert_next_version
-- description: Writes the next version of an entry: a new row pointing at it through previous_version_id, with the
-- description: columns named in $2 (a JSON object keyed by column) changed and every other content column copied.
-- description: trg_knowledge_entries_version numbers it; uq_knowledge_entries_previous_version_id refuses a second successor.
-- description: No row back means the previous entry does not exist.
-- param: $1 previous_id uuid = (SELECT e.id FROM agentry.knowledge_entries e WHERE NOT EXISTS (SELECT FROM agentry.knowledge_entries n WHERE n.previous_version_id = e.id) LIMIT 1)
-- param: $2 changes jsonb = '{"content": "Wait base * 2^attempt, capped at max, with full jitter.", "tags": ["retry", "backoff"]}'
-- expect: index pk_knowledge_entries
-- expect: no-seq-scan knowledge_entries
INSERT INTO
  agentry.knowledge_entries (
    type,
    title,
    content,
    summary,
    tags,
    categories,
    source,
    created_by,
    created_agent_id,
    task_id,
    confidence_score,
    visibility,
    access_list,
    device_fingerprint,
    previous_version_id
  )
SELECT
  n.type,
  n.title,
  n.content,
  n.summary,
  n.tags,
  n.categories,
  n.source,
  n.created_by,
  n.created_agent_id,
  n.task_id,
  n.confidence_score,
  n.visibility,
  n.access_list,
  n.device_fingerprint,
  p.id
FROM
  agentry.knowledge_entries p
  -- The previous row with the changes laid over it: keys absent from $2 keep p's values, a JSON null clears one.
  CROSS JOIN LATERAL jsonb_populate_record(p, $2) n
WHERE
  p.id = $1
RETURNING
  *
