import type pg from 'pg';

import type { ConstraintCatalog, ConstraintInfo } from '../../src/dal/errors.js';

/**
 * The constraint catalog of a database's schema agentry, read from pg_catalog:
 * what generated/constraints.ts will hold once it is generated. Partitions are
 * left out (their constraints, indexes and triggers are copies of the
 * parent's), so the catalog names only what a caller declared.
 *  - constraints (CHECK, FOREIGN KEY, UNIQUE, PRIMARY KEY, EXCLUDE) of tables and domains;
 *  - unique indexes that back no constraint (uq_users_email on lower(email)),
 *    with the columns they read (pg_depend records those of expressions too);
 *  - user triggers.
 */
export async function readConstraintCatalog(pool: pg.Pool): Promise<ConstraintCatalog> {
  const { rows } = await pool.query<{ name: string } & ConstraintInfo>(`
    SELECT c.conname AS name,
           coalesce(t.relname, ty.typname) AS table,
           CASE c.contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign_key' WHEN 'u' THEN 'unique'
                          WHEN 'p' THEN 'primary_key' WHEN 'x' THEN 'exclusion' END AS kind,
           coalesce(ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
                           ORDER BY k.ord), '{}') AS columns,
           pg_get_constraintdef(c.oid) AS definition
      FROM pg_constraint c
      LEFT JOIN pg_class t ON t.oid = c.conrelid
      LEFT JOIN pg_type ty ON ty.oid = c.contypid
     WHERE c.connamespace = 'agentry'::regnamespace
       AND c.contype IN ('c', 'f', 'u', 'p', 'x')
       AND c.conparentid = 0
       AND (t.oid IS NULL OR NOT t.relispartition)
    UNION ALL
    SELECT i.relname, t.relname, 'unique',
           ARRAY(SELECT a.attname::text FROM pg_depend d
                   JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = x.indexrelid
                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid AND d.refobjsubid > 0
                  ORDER BY a.attnum),
           pg_get_indexdef(x.indexrelid)
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
     WHERE t.relnamespace = 'agentry'::regnamespace AND x.indisunique AND NOT t.relispartition
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = t.oid)
    UNION ALL
    SELECT tg.tgname, t.relname, 'trigger',
           ARRAY(SELECT a.attname::text FROM unnest(tg.tgattr::int2[]) AS k(attnum)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum),
           pg_get_triggerdef(tg.oid)
      FROM pg_trigger tg
      JOIN pg_class t ON t.oid = tg.tgrelid
     WHERE t.relnamespace = 'agentry'::regnamespace AND NOT tg.tgisinternal AND NOT t.relispartition`);
  return Object.freeze(
    Object.fromEntries(rows.map(({ name, ...info }) => [name, Object.freeze({ ...info, columns: Object.freeze([...info.columns]) })])),
  );
}
