-- name: review.resolve_correction
-- description: Records how a correction ended (applied or failed) and when; chk_corrections_resolution refuses 'pending' with a time.
-- param: $1 correction_id uuid = (SELECT id FROM agentry.corrections LIMIT 1)
-- param: $2 result text = 'applied'
-- expect: index pk_corrections
-- expect: no-seq-scan corrections
UPDATE agentry.corrections SET result = $2, resolved_at = now() WHERE id = $1 RETURNING *
