-- name: knowledge.get_history
-- description: The whole version line an entry belongs to, oldest first: its predecessors (through previous_version_id)
-- description: and its successors (through uq_knowledge_entries_previous_version_id). UNION, not UNION ALL, so that a
-- description: loop made by hand-edited rows ends instead of recursing for ever.
-- param: $1 entry_id uuid = (SELECT id FROM agentry.knowledge_entries WHERE previous_version_id IS NOT NULL LIMIT 1)
-- expect: index pk_knowledge_entries
-- expect: index uq_knowledge_entries_previous_version_id
-- expect: no-seq-scan knowledge_entries
WITH RECURSIVE
  earlier (id, previous_version_id) AS (
    SELECT
      k.id,
      k.previous_version_id
    FROM
      agentry.knowledge_entries k
    WHERE
      k.id = $1
    UNION
    SELECT
      k.id,
      k.previous_version_id
    FROM
      agentry.knowledge_entries k
      JOIN earlier e ON k.id = e.previous_version_id
  ),
  later (id) AS (
    SELECT
      k.id
    FROM
      agentry.knowledge_entries k
    WHERE
      k.id = $1
    UNION
    SELECT
      k.id
    FROM
      agentry.knowledge_entries k
      JOIN later l ON k.previous_version_id = l.id
  )
SELECT
  k.*
FROM
  agentry.knowledge_entries k
WHERE
  k.id IN (SELECT id FROM earlier UNION SELECT id FROM later)
ORDER BY
  k.version,
  k.created_at,
  k.id
