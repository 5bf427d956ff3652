/**
 * What the type generator reads from the PostgreSQL catalog itself, beyond
 * what extract-pg-schema gives Kanel: domain CHECKs, primary and partition
 * keys of partitioned tables, collations, and the catalog of every named rule
 * (constraints, unique indexes, trigger errors) for generated/constraints.ts.
 *
 * Partitions are left out everywhere: they repeat their parent's rules under
 * the same names, and their own names depend on the month.
 */
import type pg from 'pg';

import { isKeyword, isOp, isPunct, tokenize, type Token } from './sql-lexer.js';

export type ConstraintKind = 'check' | 'foreign_key' | 'unique' | 'primary_key' | 'exclusion' | 'trigger';

export interface ConstraintEntry {
  name: string;
  /** Table the rule belongs to; null for a domain CHECK. */
  table: string | null;
  /** Domain the rule belongs to (domain CHECKs only). */
  domain: string | null;
  kind: ConstraintKind;
  /** Columns the rule covers; for a domain CHECK, `table.column` of every column of that domain. */
  columns: string[];
  /** pg_get_constraintdef / pg_get_indexdef; for a trigger its comment, else the message(s) it raises. */
  definition: string;
  /** SQLSTATE a violation raises. */
  sqlstate: string;
  /** Foreign keys: the referenced table and columns. */
  references: { table: string; columns: string[] } | null;
  /** Triggers: the HINT they raise with, if any. */
  hint: string | null;
}

export interface TableExtras {
  /** 'r' table, 'p' partitioned table, 'v' view, 'm' materialized view, 'f' foreign table. */
  relkind: string;
  primaryKey: string[];
  partitionKey: string[];
  /** Columns that lead (or are part of) a foreign key. */
  foreignKeyColumns: string[];
  /** CHECK constraints created NOT VALID: older rows need not follow them. */
  notValidChecks: string[];
  /** Columns whose collation is nondeterministic. */
  nondeterministicColumns: string[];
}

export interface DomainExtras {
  baseType: string;
  deterministicCollation: boolean;
  checks: { name: string; clause: string; validated: boolean }[];
}

export interface CatalogExtras {
  schema: string;
  tables: Map<string, TableExtras>;
  domains: Map<string, DomainExtras>;
  constraints: ConstraintEntry[];
}

const SQLSTATE_BY_KIND: Record<Exclude<ConstraintKind, 'trigger'>, string> = {
  check: '23514',
  foreign_key: '23503',
  unique: '23505',
  primary_key: '23505',
  exclusion: '23P01',
};

const KIND_BY_CONTYPE: Record<string, Exclude<ConstraintKind, 'trigger'>> = {
  c: 'check',
  f: 'foreign_key',
  u: 'unique',
  p: 'primary_key',
  x: 'exclusion',
};

/** Relations of `schema` that are not partitions, with the migration bookkeeping tables ($2) left out. */
const RELATIONS = `
  SELECT c.oid, c.relname, c.relkind
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1
     AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND NOT c.relispartition
     AND c.relname <> ALL ($2::text[])
`;

/** Reads the extras of `schema`, leaving out the tables named in `exclude` (migration bookkeeping). */
export async function readCatalog(client: pg.Client, schema: string, options: { exclude?: readonly string[] } = {}): Promise<CatalogExtras> {
  const excluded = [...(options.exclude ?? [])];

  const { rows: relations } = await client.query<{ relname: string; relkind: string }>(`${RELATIONS} ORDER BY c.relname`, [schema, excluded]);
  const tables = new Map<string, TableExtras>();
  for (const r of relations) {
    tables.set(r.relname, { relkind: r.relkind, primaryKey: [], partitionKey: [], foreignKeyColumns: [], notValidChecks: [], nondeterministicColumns: [] });
  }

  const { rows: keys } = await client.query<{ relname: string; contype: string; conname: string; convalidated: boolean; columns: string[] }>(
    `WITH rel AS (${RELATIONS})
     SELECT rel.relname, con.contype, con.conname, con.convalidated,
            coalesce(array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                            ORDER BY k.ord), '{}') AS columns
       FROM pg_constraint con
       JOIN rel ON rel.oid = con.conrelid
      WHERE con.contype IN ('p', 'f', 'c') AND con.conparentid = 0
      ORDER BY rel.relname, con.conname`,
    [schema, excluded],
  );
  for (const k of keys) {
    const t = tables.get(k.relname);
    if (!t) continue;
    if (k.contype === 'p') t.primaryKey = k.columns;
    else if (k.contype === 'f') t.foreignKeyColumns.push(...k.columns.filter((c) => !t.foreignKeyColumns.includes(c)));
    else if (k.contype === 'c' && !k.convalidated) t.notValidChecks.push(k.conname);
  }

  const { rows: partitionKeys } = await client.query<{ relname: string; columns: string[] }>(
    `WITH rel AS (${RELATIONS})
     SELECT rel.relname,
            array(SELECT a.attname::text FROM unnest(p.partattrs::int2[]) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS columns
       FROM pg_partitioned_table p
       JOIN rel ON rel.oid = p.partrelid`,
    [schema, excluded],
  );
  for (const p of partitionKeys) {
    const t = tables.get(p.relname);
    if (t) t.partitionKey = p.columns;
  }

  const { rows: collations } = await client.query<{ relname: string; attname: string }>(
    `WITH rel AS (${RELATIONS})
     SELECT rel.relname, a.attname
       FROM pg_attribute a
       JOIN rel ON rel.oid = a.attrelid
       JOIN pg_collation co ON co.oid = a.attcollation
      WHERE a.attnum > 0 AND NOT a.attisdropped AND NOT co.collisdeterministic
      ORDER BY 1, 2`,
    [schema, excluded],
  );
  for (const c of collations) tables.get(c.relname)?.nondeterministicColumns.push(c.attname);

  const { rows: domainRows } = await client.query<{
    typname: string;
    base_type: string;
    deterministic: boolean;
    conname: string | null;
    definition: string | null;
    convalidated: boolean | null;
  }>(
    `SELECT t.typname, bn.nspname || '.' || b.typname AS base_type,
            coalesce(co.collisdeterministic, true) AS deterministic,
            con.conname, pg_get_constraintdef(con.oid) AS definition, con.convalidated
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_type b ON b.oid = t.typbasetype
       JOIN pg_namespace bn ON bn.oid = b.typnamespace
       LEFT JOIN pg_collation co ON co.oid = t.typcollation
       LEFT JOIN pg_constraint con ON con.contypid = t.oid AND con.contype = 'c'
      WHERE n.nspname = $1 AND t.typtype = 'd'
      ORDER BY t.typname, con.conname`,
    [schema],
  );
  const domains = new Map<string, DomainExtras>();
  for (const d of domainRows) {
    const domain = domains.get(d.typname) ?? { baseType: d.base_type, deterministicCollation: d.deterministic, checks: [] };
    domains.set(d.typname, domain);
    if (d.conname !== null && d.definition !== null) domain.checks.push({ name: d.conname, clause: d.definition, validated: d.convalidated ?? true });
  }

  const constraints = await readConstraints(client, schema, excluded);
  return { schema, tables, domains, constraints };
}

async function readConstraints(client: pg.Client, schema: string, excluded: string[]): Promise<ConstraintEntry[]> {
  const entries: ConstraintEntry[] = [];

  // Table constraints (NOT NULL ones, which PostgreSQL 18 also catalogues, name themselves by column: left out).
  const { rows: tableConstraints } = await client.query<{
    conname: string;
    relname: string;
    contype: string;
    columns: string[];
    definition: string;
    ref_table: string | null;
    ref_columns: string[] | null;
  }>(
    `WITH rel AS (${RELATIONS})
     SELECT con.conname, rel.relname, con.contype,
            coalesce(array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                            ORDER BY k.ord), '{}') AS columns,
            pg_get_constraintdef(con.oid) AS definition,
            CASE WHEN con.contype = 'f' THEN
              CASE WHEN rn.nspname = $1 THEN rc.relname::text ELSE rn.nspname || '.' || rc.relname END END AS ref_table,
            CASE WHEN con.contype = 'f' THEN
              array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                     ORDER BY k.ord) END AS ref_columns
       FROM pg_constraint con
       JOIN rel ON rel.oid = con.conrelid
       LEFT JOIN pg_class rc ON rc.oid = con.confrelid
       LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE con.contype IN ('c', 'f', 'u', 'p', 'x') AND con.conparentid = 0`,
    [schema, excluded],
  );
  for (const c of tableConstraints) {
    const kind = KIND_BY_CONTYPE[c.contype];
    if (!kind) continue;
    entries.push({
      name: c.conname,
      table: c.relname,
      domain: null,
      kind,
      columns: c.columns,
      definition: c.definition,
      sqlstate: SQLSTATE_BY_KIND[kind],
      references: c.ref_table !== null ? { table: c.ref_table, columns: c.ref_columns ?? [] } : null,
      hint: null,
    });
  }

  // Domain CHECKs, with the columns that use the domain.
  const { rows: domainConstraints } = await client.query<{ conname: string; typname: string; definition: string; used_by: string[] }>(
    `WITH rel AS (${RELATIONS})
     SELECT con.conname, t.typname, pg_get_constraintdef(con.oid) AS definition,
            array(SELECT rel.relname || '.' || a.attname
                    FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid
                   WHERE a.atttypid = t.oid AND a.attnum > 0 AND NOT a.attisdropped AND rel.relkind IN ('r', 'p')
                   ORDER BY 1) AS used_by
       FROM pg_constraint con
       JOIN pg_type t ON t.oid = con.contypid
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 AND con.contype = 'c'`,
    [schema, excluded],
  );
  for (const d of domainConstraints) {
    entries.push({
      name: d.conname,
      table: null,
      domain: d.typname,
      kind: 'check',
      columns: d.used_by,
      definition: d.definition,
      sqlstate: SQLSTATE_BY_KIND.check,
      references: null,
      hint: null,
    });
  }

  // Unique indexes that no constraint stands for (expression or partial ones such as uq_users_email).
  const { rows: uniqueIndexes } = await client.query<{ indexname: string; relname: string; key_columns: string[]; expression_columns: string[]; definition: string }>(
    `WITH rel AS (${RELATIONS})
     SELECT i.relname AS indexname, rel.relname,
            array(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                   WHERE k.attnum > 0 ORDER BY k.ord) AS key_columns,
            array(SELECT a.attname::text FROM pg_depend d
                    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = ix.indexrelid
                     AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ix.indrelid AND d.refobjsubid > 0
                   ORDER BY a.attnum) AS expression_columns,
            pg_get_indexdef(ix.indexrelid) AS definition
       FROM pg_index ix
       JOIN rel ON rel.oid = ix.indrelid
       JOIN pg_class i ON i.oid = ix.indexrelid
      WHERE ix.indisunique AND NOT ix.indisprimary AND NOT i.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype IN ('u', 'p', 'x'))`,
    [schema, excluded],
  );
  for (const u of uniqueIndexes) {
    const columns = [...u.key_columns, ...u.expression_columns.filter((c) => !u.key_columns.includes(c))];
    entries.push({
      name: u.indexname,
      table: u.relname,
      domain: null,
      kind: 'unique',
      columns,
      definition: u.definition,
      sqlstate: SQLSTATE_BY_KIND.unique,
      references: null,
      hint: null,
    });
  }

  entries.push(...(await readTriggerErrors(client, schema, excluded, new Set(entries.map((e) => e.name)))));
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new Error(`two rules in schema ${schema} are named ${e.name}: constraints.ts needs unique names`);
    seen.add(e.name);
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

interface RaiseStatement {
  message: string | null;
  options: Map<string, { literal: string | null; word: string | null }>;
}

/**
 * Errors raised by trigger functions under a constraint name
 * (`RAISE EXCEPTION '...' USING ERRCODE = 'AG001', CONSTRAINT = 'trg_x'`, or
 * `CONSTRAINT = TG_NAME`), one entry per name. Names that are real
 * constraints (a trigger reporting a foreign key itself) are left to those.
 */
async function readTriggerErrors(client: pg.Client, schema: string, excluded: string[], taken: ReadonlySet<string>): Promise<ConstraintEntry[]> {
  const { rows } = await client.query<{
    tgname: string;
    relname: string;
    source: string;
    language: string;
    trigger_comment: string | null;
    update_columns: string[];
  }>(
    `WITH rel AS (${RELATIONS})
     SELECT tg.tgname, rel.relname, p.prosrc AS source, l.lanname AS language,
            obj_description(tg.oid, 'pg_trigger') AS trigger_comment,
            array(SELECT a.attname::text FROM unnest(tg.tgattr::int2[]) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = tg.tgrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS update_columns
       FROM pg_trigger tg
       JOIN rel ON rel.oid = tg.tgrelid
       JOIN pg_proc p ON p.oid = tg.tgfoid
       JOIN pg_language l ON l.oid = p.prolang
      WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
      ORDER BY tg.tgname`,
    [schema, excluded],
  );

  const byName = new Map<string, { table: string; columns: string[]; messages: string[]; sqlstates: string[]; hints: string[]; comment: string | null; updateColumns: string[] }>();
  for (const row of rows) {
    if (row.language !== 'plpgsql') continue;
    for (const raise of raiseStatements(row.source)) {
      const constraint = raise.options.get('CONSTRAINT');
      const name = constraint?.literal ?? (constraint?.word?.toUpperCase() === 'TG_NAME' ? row.tgname : null);
      if (!name || taken.has(name)) continue;
      const entry = byName.get(name) ?? {
        table: raise.options.get('TABLE')?.literal ?? row.relname,
        columns: [],
        messages: [],
        sqlstates: [],
        hints: [],
        comment: null,
        updateColumns: [],
      };
      byName.set(name, entry);
      const column = raise.options.get('COLUMN')?.literal;
      if (column && !entry.columns.includes(column)) entry.columns.push(column);
      const sqlstate = raise.options.get('ERRCODE')?.literal;
      if (sqlstate && !entry.sqlstates.includes(sqlstate)) entry.sqlstates.push(sqlstate);
      const hint = raise.options.get('HINT')?.literal;
      if (hint && !entry.hints.includes(hint)) entry.hints.push(hint);
      if (raise.message && !entry.messages.includes(raise.message)) entry.messages.push(raise.message);
      if (name === row.tgname) {
        entry.comment = row.trigger_comment;
        entry.updateColumns = row.update_columns;
      }
    }
  }

  return [...byName.entries()].map(([name, e]) => ({
    name,
    table: e.table,
    domain: null,
    kind: 'trigger' as const,
    columns: e.columns.length > 0 ? e.columns : e.updateColumns,
    definition: e.comment ?? e.messages.join(' | '),
    // P0001 is what RAISE EXCEPTION raises without an ERRCODE.
    sqlstate: e.sqlstates.join(' | ') || 'P0001',
    references: null,
    hint: e.hints.length > 0 ? e.hints.join(' | ') : null,
  }));
}

/** The RAISE EXCEPTION statements of a PL/pgSQL body: message format and USING options. */
export function raiseStatements(source: string): RaiseStatement[] {
  let tokens: Token[];
  try {
    tokens = tokenize(source);
  } catch {
    return [];
  }
  const found: RaiseStatement[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    if (!isKeyword(tokens[i], 'RAISE')) continue;
    let j = i + 1;
    if (isKeyword(tokens[j], 'EXCEPTION')) j += 1;
    else if (tokens[j]?.kind === 'ident' && ['DEBUG', 'LOG', 'INFO', 'NOTICE', 'WARNING'].includes((tokens[j] as Token).value.toUpperCase())) continue;
    const first = tokens[j];
    const message = first?.kind === 'string' ? first.value : null;
    const options = new Map<string, { literal: string | null; word: string | null }>();
    // Up to the statement's end: find USING, then name = value pairs separated by commas.
    let depth = 0;
    let using = -1;
    let end = j;
    for (; end < tokens.length; end += 1) {
      const t = tokens[end];
      if (isPunct(t, '(')) depth += 1;
      else if (isPunct(t, ')')) depth -= 1;
      else if (depth === 0 && isPunct(t, ';')) break;
      else if (depth === 0 && using === -1 && isKeyword(t, 'USING')) using = end;
    }
    if (using !== -1) {
      for (let k = using + 1; k < end; k += 1) {
        const name = tokens[k];
        if (name?.kind !== 'ident' || !isOp(tokens[k + 1], '=')) continue;
        const value = tokens[k + 2];
        options.set(name.value.toUpperCase(), {
          literal: value?.kind === 'string' ? value.value : null,
          word: value?.kind === 'ident' ? value.value : null,
        });
        k += 2;
      }
    }
    found.push({ message, options });
    i = end;
  }
  return found;
}
