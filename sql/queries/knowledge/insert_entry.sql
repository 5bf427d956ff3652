-- name: knowledge.insert_entry
-- description: Creates a knowledge entry (version 1). A NULL for a column with a default means that default
-- description: (the same values as the table's DEFAULT clauses).
-- param: $1 type text = 'pattern'
-- param: $2 title text = 'Retry with exponential backoff'
-- param: $3 content text = 'Wait base * 2^attempt between attempts, capped, with jitter.'
-- param: $4 summary text = 'Backoff for retries'
-- param: $5 tags text[] = ARRAY['retry', 'resilience']
-- param: $6 categories text[] = ARRAY['patterns']
-- param: $7 source text = 'agent'
-- param: $8 created_by uuid = (SELECT id FROM agentry.users LIMIT 1)
-- param: $9 created_agent_id text = (SELECT id FROM agentry.agents LIMIT 1)
-- param: $10 task_id uuid = NULL
-- param: $11 confidence_score numeric = 0.85
-- param: $12 visibility text = 'public'
-- param: $13 access_list uuid[] = NULL
-- param: $14 device_fingerprint text = NULL
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
    device_fingerprint
  )
VALUES
  (
    $1,
    $2,
    $3,
    $4,
    coalesce($5::text[], '{}'),
    coalesce($6::text[], '{}'),
    coalesce($7::text, 'agent'),
    $8,
    $9,
    $10,
    $11,
    coalesce($12::text, 'public'),
    coalesce($13::uuid[], '{}'),
    $14
  )
RETURNING
  *
