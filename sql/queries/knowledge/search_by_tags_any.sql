-- name: knowledge.search_by_tags_any
-- description: Current versions (entries without a successor) tagged with at least one of the tags in $1 (tags &&, served by
-- description: idx_knowledge_entries_tags_gin), newest first, at most $3. Public entries, plus, for a viewer $2, the
-- description: private and team entries the viewer wrote or is on the access list of.
-- param: $1 tags text[] = ARRAY['retry', 'postgresql']
-- param: $2 viewer_id uuid = (SELECT id FROM agentry.users LIMIT 1)
-- param: $3 max_count integer = 50
-- expect: index idx_knowledge_entries_tags_gin
-- expect: no-seq-scan knowledge_entries
SELECT
  k.*
FROM
  agentry.knowledge_entries k
WHERE
  k.tags && $1
  AND (k.visibility = 'public' OR k.created_by = $2 OR $2 = ANY (k.access_list))
  AND NOT EXISTS (SELECT 1 FROM agentry.knowledge_entries s WHERE s.previous_version_id = k.id)
ORDER BY
  k.created_at DESC,
  k.id
LIMIT
  $3
