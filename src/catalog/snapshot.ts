import type pg from 'pg';

/**
 * A catalog snapshot: everything pg_catalog says about schema agentry, without
 * OIDs, sorted, one list of rows per section. Two databases built by the same
 * migrations have equal snapshots; `agentry verify` (drift) and the
 * migrations round-trip test compare them.
 */

export type SnapshotRow = Record<string, unknown>;
export type Snapshot = Record<string, SnapshotRow[]>;

/** Anything that runs a query: a pool, a client, a pool client. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

export const SNAPSHOT_SECTIONS: Readonly<Record<string, string>> = {
  schema: `
    SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner, n.nspacl::text AS acl, obj_description(n.oid, 'pg_namespace') AS comment
      FROM pg_namespace n WHERE n.nspname = 'agentry'`,
  relations: `
    SELECT c.relname AS name, c.relkind::text AS kind, pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl,
           c.relpersistence::text AS persistence, c.relispartition AS is_partition,
           pg_get_expr(c.relpartbound, c.oid) AS partition_bound,
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
           (SELECT string_agg(p.relname, ',' ORDER BY p.relname) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = c.oid) AS parents,
           c.reloptions::text AS options, c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
           c.relreplident::text AS replica_identity, am.amname AS access_method,
           obj_description(c.oid, 'pg_class') AS comment
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am am ON am.oid = c.relam
     WHERE n.nspname = 'agentry' ORDER BY c.relname`,
  columns: `
    SELECT c.relname AS table, a.attnum AS num, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity,
           a.attgenerated::text AS generated, a.attacl::text AS acl, co.collname AS collation,
           a.attislocal AS is_local, a.attinhcount AS inherited, col_description(c.oid, a.attnum) AS comment
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
     WHERE n.nspname = 'agentry' AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
     ORDER BY c.relname, a.attnum`,
  constraints: `
    SELECT coalesce(c.relname, 'domain ' || t.typname) AS owner_object, k.conname AS name, k.contype::text AS type,
           pg_get_constraintdef(k.oid) AS definition, k.condeferrable AS deferrable, k.condeferred AS deferred,
           k.convalidated AS validated, k.conislocal AS is_local, k.coninhcount AS inherited,
           ic.relname AS index, obj_description(k.oid, 'pg_constraint') AS comment
      FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
      LEFT JOIN pg_class c ON c.oid = k.conrelid AND k.conrelid <> 0
      LEFT JOIN pg_type t ON t.oid = k.contypid AND k.contypid <> 0
      LEFT JOIN pg_class ic ON ic.oid = k.conindid AND k.conindid <> 0
     -- PostgreSQL 18 also lists NOT NULL as constraints (contype n); the
     -- columns snapshot already holds nullability, on every version.
     WHERE n.nspname = 'agentry' AND k.contype <> 'n' ORDER BY 1, 2`,
  indexes: `
    SELECT i.tablename AS table, i.indexname AS name, i.indexdef AS definition,
           x.indisunique AS is_unique, x.indisprimary AS is_primary, x.indisvalid AS is_valid, x.indnullsnotdistinct AS nulls_not_distinct,
           (SELECT p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent WHERE h.inhrelid = ic.oid) AS parent_index
      FROM pg_indexes i JOIN pg_class ic ON ic.relname = i.indexname JOIN pg_namespace n ON n.oid = ic.relnamespace AND n.nspname = i.schemaname
      JOIN pg_index x ON x.indexrelid = ic.oid
     WHERE i.schemaname = 'agentry' ORDER BY 1, 2`,
  triggers: `
    SELECT c.relname AS table, t.tgname AS name, pg_get_triggerdef(t.oid) AS definition, t.tgenabled::text AS enabled,
           t.tgparentid <> 0 AS cloned, obj_description(t.oid, 'pg_trigger') AS comment
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'agentry' AND NOT t.tgisinternal ORDER BY 1, 2`,
  functions: `
    SELECT p.oid::regprocedure::text AS signature, pg_get_functiondef(p.oid) AS definition, pg_get_userbyid(p.proowner) AS owner,
           p.proacl::text AS acl, p.prosecdef AS security_definer, p.proconfig::text AS config, p.provolatile::text AS volatility,
           p.proisstrict AS strict, p.proparallel::text AS parallel, obj_description(p.oid, 'pg_proc') AS comment
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'agentry' ORDER BY 1`,
  views: `
    SELECT c.relname AS name, pg_get_viewdef(c.oid, true) AS definition
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'agentry' AND c.relkind IN ('v', 'm') ORDER BY 1`,
  types: `
    SELECT t.typname AS name, t.typtype::text AS kind, pg_get_userbyid(t.typowner) AS owner, t.typacl::text AS acl,
           CASE WHEN t.typbasetype <> 0 THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
           t.typnotnull AS not_null, t.typdefault AS default,
           (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels,
           obj_description(t.oid, 'pg_type') AS comment
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'agentry' AND t.typrelid = 0 AND NOT EXISTS (SELECT 1 FROM pg_type a WHERE a.typarray = t.oid)
     ORDER BY 1`,
  sequences: `
    SELECT c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart AS start, s.seqincrement AS increment,
           s.seqmin AS min, s.seqmax AS max, s.seqcache AS cache, s.seqcycle AS cycle,
           (SELECT r.relname || '.' || a.attname || ' (' || d.deptype::text || ')'
              FROM pg_depend d JOIN pg_class r ON r.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owned_by
      FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'agentry' ORDER BY 1`,
  default_privileges: `
    SELECT pg_get_userbyid(d.defaclrole) AS role, d.defaclobjtype::text AS type, d.defaclacl::text AS acl
      FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace WHERE n.nspname = 'agentry' ORDER BY 1, 2`,
  policies: `
    SELECT c.relname AS table, p.polname AS name, p.polcmd::text AS command, p.polpermissive AS permissive,
           pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check
      FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'agentry' ORDER BY 1, 2`,
  rules: `SELECT tablename AS table, rulename AS name, definition FROM pg_rules WHERE schemaname = 'agentry' ORDER BY 1, 2`,
  extensions: `
    SELECT e.extname AS name FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = 'agentry' ORDER BY 1`,
};

/** Reference rows the migrations seed (timestamps left out: they record when the migration ran). */
export const REFERENCE_DATA: Readonly<Record<string, string>> = {
  agent_types: 'SELECT name, description FROM agentry.agent_types ORDER BY name',
  task_types: `SELECT name, description, agent_type, avg_complexity, avg_duration_seconds, required_input_keys FROM agentry.task_types ORDER BY name`,
  task_status_transitions: 'SELECT from_status, to_status, description FROM agentry.task_status_transitions ORDER BY 1, 2',
};

/**
 * Columns that identify a row of each section: two snapshots are compared row
 * by row on these (the other columns are the row's properties).
 */
export const SECTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  schema: ['name'],
  relations: ['name'],
  columns: ['table', 'name'],
  constraints: ['owner_object', 'name'],
  indexes: ['table', 'name'],
  triggers: ['table', 'name'],
  functions: ['signature'],
  views: ['name'],
  types: ['name'],
  sequences: ['name'],
  default_privileges: ['role', 'type'],
  policies: ['table', 'name'],
  rules: ['table', 'name'],
  extensions: ['name'],
};

export interface SnapshotOptions {
  /** Include the reference rows the migrations seed (sections "data:<table>"). Default true. */
  referenceData?: boolean;
}

/** Reads the snapshot of schema agentry in the database `db` is connected to. */
export async function catalogSnapshot(db: Queryable, options: SnapshotOptions = {}): Promise<Snapshot> {
  const result: Snapshot = {};
  for (const [name, sql] of Object.entries(SNAPSHOT_SECTIONS)) result[name] = (await db.query(sql)).rows;
  if (options.referenceData === false) return result;
  for (const [table, sql] of Object.entries(REFERENCE_DATA)) {
    const { rows } = await db.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`agentry.${table}`]);
    if (rows[0]?.t != null) result[`data:${table}`] = (await db.query(sql)).rows;
  }
  return result;
}
