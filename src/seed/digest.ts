import { createHash } from 'node:crypto';

import type pg from 'pg';

import { quoteIdent } from '../db/identifiers.js';

/**
 * Columns that are not content: stamped by the database at write time
 * (updated_at by triggers, trust_records.created_at by the ledger's trigger,
 * and the created_at of the reference rows the migrations insert, which is
 * when the database was migrated). Everything else, identity ids included, is
 * compared.
 */
export const NOT_CONTENT: Readonly<Record<string, readonly string[]>> = {
  '*': ['updated_at'],
  trust_records: ['created_at'],
  agent_types: ['created_at'],
  task_types: ['created_at'],
};

/** Tables left out: migration bookkeeping and the graph lock's counter. */
const SKIPPED_TABLES = new Set(['pgmigrations', 'pgmigrations_checksums', 'task_graph_lock']);

export interface TableDigest {
  rows: number;
  /** Sum of a 64-bit hash of each row's content columns (order-independent), as text. */
  hash: string;
}

export interface ContentDigest {
  /** sha256 over every table's rows and hash. */
  digest: string;
  tables: Record<string, TableDigest>;
}

/**
 * A digest of the content of every table in schema agentry: equal digests mean
 * equal rows (as multisets) in the content columns. Used to show that the same
 * seed gives the same data; costs one scan of each table.
 */
export async function contentDigest(client: pg.ClientBase): Promise<ContentDigest> {
  await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1");
  const { rows: columns } = await client.query<{ table: string; column: string }>(
    `SELECT c.relname AS table, a.attname AS column
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname, a.attnum`,
  );
  const byTable = new Map<string, string[]>();
  for (const { table, column } of columns) {
    if (SKIPPED_TABLES.has(table)) continue;
    if (NOT_CONTENT['*']!.includes(column) || NOT_CONTENT[table]?.includes(column)) continue;
    byTable.set(table, [...(byTable.get(table) ?? []), column]);
  }
  const tables: Record<string, TableDigest> = {};
  for (const [table, cols] of byTable) {
    const row = `ROW(${cols.map((c) => `t.${quoteIdent(c)}`).join(', ')})::text`;
    const { rows } = await client.query<{ n: string; h: string }>(
      `SELECT count(*)::text AS n, coalesce(sum(('x' || substr(md5(${row}), 1, 16))::bit(64)::bigint::numeric), 0)::text AS h
         FROM agentry.${quoteIdent(table)} t`,
    );
    tables[table] = { rows: Number(rows[0]?.n ?? 0), hash: rows[0]?.h ?? '0' };
  }
  const hash = createHash('sha256');
  for (const [table, d] of Object.entries(tables).sort(([a], [b]) => a.localeCompare(b))) hash.update(`${table}:${d.rows}:${d.hash}\n`);
  return { digest: hash.digest('hex'), tables };
}

