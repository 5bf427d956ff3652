import type { Queryable } from '../catalog/snapshot.js';

/**
 * What `agentry docs` says about schema agentry, read from pg_catalog (under
 * the catalog session settings, so the text is the same on every run).
 * Partitions are described by their parent; node-pg-migrate's bookkeeping is
 * left out.
 */

export interface DocColumn {
  name: string;
  type: string;
  /** Short type for Mermaid: varchar(50), timestamptz, text[], task_status. */
  shortType: string;
  notNull: boolean;
  /** Default expression, identity or generation expression; null when none. */
  default: string | null;
  comment: string | null;
}

export interface DocConstraint {
  name: string;
  kind: 'primary key' | 'foreign key' | 'unique' | 'check' | 'exclusion';
  definition: string;
}

export interface DocIndex {
  name: string;
  /** USING btree (task_id) WHERE ..., without CREATE INDEX <name> ON <table>. */
  definition: string;
  unique: boolean;
  /** The constraint it implements (primary key, unique), if any. */
  constraint: string | null;
}

export interface DocTrigger {
  name: string;
  /** BEFORE UPDATE FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at(), without CREATE TRIGGER <name> ... ON <table>. */
  definition: string;
}

export interface DocForeignKey {
  name: string;
  table: string;
  columns: string[];
  references: string;
  referencedColumns: string[];
  /** Every referencing column is NOT NULL. */
  required: boolean;
  /** The referencing columns are unique (one-to-one). */
  unique: boolean;
}

export interface DocRelation {
  name: string;
  kind: 'table' | 'partitioned table' | 'view' | 'materialized view';
  comment: string | null;
  /** RANGE (created_at), for a partitioned table. */
  partitionKey: string | null;
  /** Its partitions, months as <table>_yYYYYmMM: stable whatever month it is. */
  partitions: string[];
  columns: DocColumn[];
  constraints: DocConstraint[];
  indexes: DocIndex[];
  triggers: DocTrigger[];
}

export interface DocDomain {
  name: string;
  baseType: string;
  notNull: boolean;
  default: string | null;
  comment: string | null;
  checks: DocConstraint[];
}

export interface DocFunction {
  name: string;
  /** name(argument types) */
  signature: string;
  returns: string;
  securityDefiner: boolean;
  comment: string | null;
}

export interface DocModel {
  relations: DocRelation[];
  domains: DocDomain[];
  functions: DocFunction[];
  foreignKeys: DocForeignKey[];
}

const BOOKKEEPING = /^pgmigrations($|_)/;

/** Code-unit order: the same on every machine, whatever its locale. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
const MONTHLY = /_y\d{4}m\d{2}$/;

const SHORT_TYPES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^character varying/, 'varchar'],
  [/^timestamp(\(\d+\))? with time zone$/, 'timestamptz$1'],
  [/^timestamp(\(\d+\))? without time zone$/, 'timestamp$1'],
  [/^time(\(\d+\))? with time zone$/, 'timetz$1'],
  [/^time(\(\d+\))? without time zone$/, 'time$1'],
  [/^double precision/, 'float8'],
  [/^character\b/, 'char'],
  [/^bit varying/, 'varbit'],
];

/** A type as Mermaid accepts it: letters, digits, _, -, () and []. */
export function shortType(type: string): string {
  let t = type.replace(/^agentry\./, '');
  for (const [pattern, replacement] of SHORT_TYPES) t = t.replace(pattern, replacement);
  return t.replace(/[^A-Za-z0-9_()[\]-]+/g, '_');
}

const CONSTRAINT_KINDS: Record<string, DocConstraint['kind']> = {
  p: 'primary key',
  f: 'foreign key',
  u: 'unique',
  c: 'check',
  x: 'exclusion',
};

const RELATION_KINDS: Record<string, DocRelation['kind']> = { r: 'table', p: 'partitioned table', v: 'view', m: 'materialized view' };

export async function readDocModel(db: Queryable): Promise<DocModel> {
  const { rows: rels } = await db.query<{ oid: number; name: string; kind: string; comment: string | null; partition_key: string | null }>(
    `SELECT c.oid::int AS oid, c.relname AS name, c.relkind::text AS kind, obj_description(c.oid, 'pg_class') AS comment,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
      ORDER BY c.relname`,
  );
  const relations = new Map<number, DocRelation>();
  for (const r of rels) {
    if (BOOKKEEPING.test(r.name)) continue;
    relations.set(r.oid, {
      name: r.name,
      kind: RELATION_KINDS[r.kind]!,
      comment: r.comment,
      partitionKey: r.partition_key,
      partitions: [],
      columns: [],
      constraints: [],
      indexes: [],
      triggers: [],
    });
  }
  const of = (oid: number): DocRelation | undefined => relations.get(oid);

  const { rows: partitions } = await db.query<{ parent: number; name: string }>(
    `SELECT i.inhparent::int AS parent, c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'agentry' AND c.relispartition ORDER BY 2`,
  );
  for (const p of partitions) {
    const rel = of(p.parent);
    if (!rel) continue;
    const name = MONTHLY.test(p.name) && p.name.replace(MONTHLY, '') === rel.name ? `${rel.name}_yYYYYmMM` : p.name;
    if (!rel.partitions.includes(name)) rel.partitions.push(name);
  }
  for (const rel of relations.values()) rel.partitions.sort(byText);

  const { rows: columns } = await db.query<{
    rel: number;
    name: string;
    type: string;
    not_null: boolean;
    default: string | null;
    identity: string;
    generated: string;
    comment: string | null;
  }>(
    `SELECT a.attrelid::int AS rel, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default, a.attidentity::text AS identity, a.attgenerated::text AS generated,
            col_description(a.attrelid, a.attnum) AS comment
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = 'agentry' AND a.attnum > 0 AND NOT a.attisdropped AND NOT c.relispartition AND c.relkind IN ('r', 'p', 'v', 'm')
      ORDER BY a.attrelid, a.attnum`,
  );
  for (const c of columns) {
    const rel = of(c.rel);
    if (!rel) continue;
    let dflt = c.default;
    if (c.identity === 'a') dflt = 'GENERATED ALWAYS AS IDENTITY';
    else if (c.identity === 'd') dflt = 'GENERATED BY DEFAULT AS IDENTITY';
    else if (c.generated === 's') dflt = `GENERATED ALWAYS AS (${c.default ?? ''}) STORED`;
    else if (c.generated === 'v') dflt = `GENERATED ALWAYS AS (${c.default ?? ''}) VIRTUAL`;
    rel.columns.push({ name: c.name, type: c.type, shortType: shortType(c.type), notNull: c.not_null, default: dflt, comment: c.comment });
  }

  const { rows: constraints } = await db.query<{
    rel: number;
    name: string;
    type: string;
    definition: string;
    columns: string[];
    references: string | null;
    ref_columns: string[] | null;
  }>(
    `SELECT k.conrelid::int AS rel, k.conname AS name, k.contype::text AS type, pg_get_constraintdef(k.oid) AS definition,
            array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.ord) AS columns,
            CASE WHEN k.contype = 'f' THEN (SELECT r.relname FROM pg_class r WHERE r.oid = k.confrelid) END AS references,
            CASE WHEN k.contype = 'f' THEN array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.ord) END AS ref_columns
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'agentry' AND k.contype IN ('p', 'f', 'u', 'c', 'x') AND NOT c.relispartition
      ORDER BY k.conrelid, CASE k.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'f' THEN 2 WHEN 'x' THEN 3 ELSE 4 END, k.conname`,
  );
  const { rows: indexes } = await db.query<{ rel: number; name: string; definition: string; unique: boolean; constraint: string | null; columns: string[]; partial: boolean }>(
    `SELECT x.indrelid::int AS rel, ic.relname AS name,
            regexp_replace(pg_get_indexdef(x.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?\\S+ ', '') AS definition,
            x.indisunique AS unique, (SELECT k.conname FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x')) AS constraint,
            array(SELECT a.attname::text FROM unnest(x.indkey::int2[]) u(attnum) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum) AS columns,
            x.indpred IS NOT NULL AS partial
       FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'agentry' AND NOT c.relispartition
      ORDER BY x.indrelid, ic.relname`,
  );
  const uniqueSets = new Map<number, string[][]>();
  for (const i of indexes) {
    const rel = of(i.rel);
    if (!rel) continue;
    rel.indexes.push({ name: i.name, definition: i.definition, unique: i.unique, constraint: i.constraint });
    if (i.unique && !i.partial) uniqueSets.set(i.rel, [...(uniqueSets.get(i.rel) ?? []), i.columns]);
  }
  const foreignKeys: DocForeignKey[] = [];
  for (const k of constraints) {
    const rel = of(k.rel);
    if (!rel) continue;
    rel.constraints.push({ name: k.name, kind: CONSTRAINT_KINDS[k.type]!, definition: k.definition });
    if (k.type === 'f' && k.references !== null) {
      const notNull = new Set(rel.columns.filter((c) => c.notNull).map((c) => c.name));
      const sameSet = (cols: string[]) => cols.length === k.columns.length && cols.every((c) => k.columns.includes(c));
      foreignKeys.push({
        name: k.name,
        table: rel.name,
        columns: k.columns,
        references: k.references,
        referencedColumns: k.ref_columns ?? [],
        required: k.columns.every((c) => notNull.has(c)),
        unique: (uniqueSets.get(k.rel) ?? []).some(sameSet),
      });
    }
  }

  const { rows: triggers } = await db.query<{ rel: number; name: string; definition: string }>(
    `SELECT t.tgrelid::int AS rel, t.tgname AS name,
            regexp_replace(pg_get_triggerdef(t.oid), '^CREATE (CONSTRAINT )?TRIGGER \\S+ (.*?) ON \\S+ ', '\\2 ') AS definition
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'agentry' AND NOT t.tgisinternal AND NOT c.relispartition
      ORDER BY t.tgrelid, t.tgname`,
  );
  for (const t of triggers) of(t.rel)?.triggers.push({ name: t.name, definition: t.definition });

  const { rows: domains } = await db.query<{ oid: number; name: string; base_type: string; not_null: boolean; default: string | null; comment: string | null }>(
    `SELECT t.oid::int AS oid, t.typname AS name, format_type(t.typbasetype, t.typtypmod) AS base_type, t.typnotnull AS not_null,
            t.typdefault AS default, obj_description(t.oid, 'pg_type') AS comment
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'agentry' AND t.typtype = 'd' ORDER BY t.typname`,
  );
  const { rows: domainChecks } = await db.query<{ domain: number; name: string; definition: string }>(
    `SELECT k.contypid::int AS domain, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
      WHERE n.nspname = 'agentry' AND k.contypid <> 0 AND k.contype = 'c' ORDER BY k.conname`,
  );

  const { rows: functions } = await db.query<{ name: string; signature: string; returns: string; security_definer: boolean; comment: string | null }>(
    `SELECT p.proname AS name, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS signature,
            pg_get_function_result(p.oid) AS returns, p.prosecdef AS security_definer, obj_description(p.oid, 'pg_proc') AS comment
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'agentry' ORDER BY 2`,
  );

  return {
    relations: [...relations.values()].sort((a, b) => byText(a.name, b.name)),
    domains: domains.map((d) => ({
      name: d.name,
      baseType: d.base_type,
      notNull: d.not_null,
      default: d.default,
      comment: d.comment,
      checks: domainChecks.filter((c) => c.domain === d.oid).map((c) => ({ name: c.name, kind: 'check' as const, definition: c.definition })),
    })),
    functions: functions
      .map((f) => ({ name: f.name, signature: f.signature, returns: f.returns, securityDefiner: f.security_definer, comment: f.comment }))
      .sort((a, b) => byText(a.signature, b.signature)),
    foreignKeys: foreignKeys.sort((a, b) => byText(a.table, b.table) || byText(a.name, b.name)),
  };
}
