-- name: knowledge.get_entry
-- description: One knowledge entry by id, every column.
-- param: $1 entry_id uuid = (SELECT id FROM agentry.knowledge_entries LIMIT 1)
-- expect: index pk_knowledge_entries
-- expect: no-seq-scan knowledge_entries
SELECT * FROM agentry.knowledge_entries WHERE id = $1
