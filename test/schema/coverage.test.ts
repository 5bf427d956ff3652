import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';

// Whole-schema checks on the migrated database: every named rule is tested
// somewhere under test/schema, every foreign key is indexed, no index is
// defined twice, and names follow the conventions of docs/schema.md.

const db = useTestDatabase();
const SCHEMA_TESTS = import.meta.dirname;

interface Named {
  name: string;
  kind: string;
  table: string;
}

let constraints: Named[] = [];
let triggers: Named[] = [];
let indexes: Array<Named & { unique: boolean; primary: boolean; constraint: string | null }> = [];
let testText = '';

beforeAll(async () => {
  // Constraints of tables (not of partitions, whose copies carry the parent's name) and of domains.
  constraints = (
    await db.pool.query<Named>(
      `SELECT k.conname AS name, k.contype::text AS kind, coalesce(c.relname, 'domain ' || t.typname) AS table
         FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
         LEFT JOIN pg_class c ON c.oid = k.conrelid AND k.conrelid <> 0
         LEFT JOIN pg_type t ON t.oid = k.contypid AND k.contypid <> 0
        WHERE n.nspname = 'agentry' AND k.contype IN ('c', 'f', 'u', 'p', 'x')
          AND (c.oid IS NULL OR (NOT c.relispartition AND c.relname !~ '^pgmigrations($|_)'))
        ORDER BY 3, 1`,
    )
  ).rows;
  // User triggers of the parent tables (a partition's clone has tgparentid set).
  triggers = (
    await db.pool.query<Named>(
      `SELECT DISTINCT t.tgname AS name, 'trigger' AS kind, c.relname AS table
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND NOT t.tgisinternal AND t.tgparentid = 0 AND NOT c.relispartition
        ORDER BY 3, 1`,
    )
  ).rows;
  // Indexes of tables, not the child indexes PostgreSQL makes on each partition.
  indexes = (
    await db.pool.query(
      `SELECT i.indexname AS name, 'index' AS kind, i.tablename AS table, x.indisunique AS unique, x.indisprimary AS primary,
              (SELECT k.conname FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x')) AS constraint
         FROM pg_indexes i JOIN pg_class ic ON ic.relname = i.indexname
         JOIN pg_namespace n ON n.oid = ic.relnamespace AND n.nspname = i.schemaname
         JOIN pg_index x ON x.indexrelid = ic.oid
         JOIN pg_class c ON c.oid = x.indrelid
        WHERE i.schemaname = 'agentry' AND NOT ic.relispartition AND NOT c.relispartition AND i.tablename !~ '^pgmigrations($|_)'
        ORDER BY 3, 1`,
    )
  ).rows;
  // This file names rules only to describe them: it does not count.
  const files = (await readdir(SCHEMA_TESTS)).filter((f) => f.endsWith('.test.ts') && f !== 'coverage.test.ts').sort();
  testText = (await Promise.all(files.map((f) => readFile(join(SCHEMA_TESTS, f), 'utf8')))).join('\n');
});

function mentioned(name: string): boolean {
  return new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`).test(testText);
}

function report(items: Named[]): string {
  return items.map((i) => `  ${i.table}: ${i.name}`).join('\n');
}

describe('every named rule is exercised by a test in test/schema', () => {
  it('sees the schema (sanity)', () => {
    expect(constraints.filter((c) => c.kind === 'c').length).toBeGreaterThan(150);
    expect(constraints.filter((c) => c.kind === 'f').length).toBeGreaterThan(50);
    expect(triggers.length).toBeGreaterThan(20);
    expect(indexes.length).toBeGreaterThan(100);
    expect(constraints.map((c) => c.name)).toContain('chk_task_status_valid'); // a domain's CHECK
    expect(mentioned('chk_checkpoints_decision_consistent')).toBe(true);
    expect(mentioned('chk_checkpoints_decision')).toBe(false); // whole names only
  });

  it('every CHECK constraint (tables and domains)', () => {
    const missing = constraints.filter((c) => c.kind === 'c' && !mentioned(c.name));
    expect(missing, `CHECK constraints no test/schema/*.test.ts names:\n${report(missing)}`).toEqual([]);
  });

  it('every foreign key', () => {
    const missing = constraints.filter((c) => c.kind === 'f' && !mentioned(c.name));
    expect(missing, `foreign keys no test/schema/*.test.ts names:\n${report(missing)}`).toEqual([]);
  });

  it('every unique constraint and unique index (primary keys aside)', () => {
    const missing = [
      ...constraints.filter((c) => (c.kind === 'u' || c.kind === 'x') && !mentioned(c.name)),
      ...indexes.filter((i) => i.unique && !i.primary && i.constraint === null && !mentioned(i.name)),
    ];
    expect(missing, `unique constraints/indexes no test/schema/*.test.ts names:\n${report(missing)}`).toEqual([]);
  });

  it('every trigger', () => {
    const missing = triggers.filter((t) => !mentioned(t.name));
    expect(missing, `triggers no test/schema/*.test.ts names:\n${report(missing)}`).toEqual([]);
  });
});

describe('indexes', () => {
  it('every foreign key’s columns are the leading columns of a (non-partial) index', async () => {
    const { rows } = await db.pool.query<{ table: string; name: string; columns: string }>(
      `SELECT c.relname AS table, k.conname AS name,
              (SELECT string_agg(a.attname, ', ' ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS columns
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND k.contype = 'f' AND NOT c.relispartition
          AND NOT EXISTS (
            SELECT 1 FROM pg_index x
             WHERE x.indrelid = k.conrelid AND x.indpred IS NULL
               AND (SELECT array_agg(col ORDER BY col) FROM unnest((x.indkey::int2[])[0:cardinality(k.conkey) - 1]) col)
                   = (SELECT array_agg(col ORDER BY col) FROM unnest(k.conkey) col))
        ORDER BY 1, 2`,
    );
    expect(rows, `foreign keys without an index leading with their columns:\n${rows.map((r) => `  ${r.table}.${r.name} (${r.columns})`).join('\n')}`).toEqual([]);
  });

  it('no two indexes on a table have the same definition (columns, method, operator classes, predicate)', async () => {
    const { rows } = await db.pool.query<{ table: string; names: string[]; definition: string }>(
      `SELECT c.relname AS table, array_agg(ic.relname::text ORDER BY ic.relname) AS names, d.definition
         FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace,
              LATERAL (SELECT regexp_replace(pg_get_indexdef(x.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?', '') AS definition) d
        WHERE n.nspname = 'agentry' AND NOT c.relispartition
        GROUP BY c.relname, d.definition
       HAVING count(*) > 1`,
    );
    expect(rows, `duplicate indexes:\n${rows.map((r) => `  ${r.table}: ${r.names.join(' = ')} (${r.definition})`).join('\n')}`).toEqual([]);
  });

  it('the duplicate check sees through names: the same definition under two names is caught', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE INDEX idx_coverage_probe ON agentry.checkpoints (task_id)');
      const { rows } = await client.query(
        `SELECT array_agg(ic.relname::text ORDER BY ic.relname) AS names
           FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
          WHERE x.indrelid = 'agentry.checkpoints'::regclass
          GROUP BY regexp_replace(pg_get_indexdef(x.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?', '') HAVING count(*) > 1`,
      );
      expect(rows).toEqual([{ names: ['idx_checkpoints_task', 'idx_coverage_probe'] }]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('naming conventions (docs/schema.md: names are the contract)', () => {
  it('constraints are pk_/fk_/uq_/chk_<table>_..., domain checks chk_<domain>_...', () => {
    const prefix: Record<string, string> = { p: 'pk', f: 'fk', u: 'uq', c: 'chk', x: 'ex' };
    const bad = constraints.filter((c) => {
      const subject = c.table.replace(/^domain /, '');
      return !(c.name === `${prefix[c.kind]}_${subject}` || c.name.startsWith(`${prefix[c.kind]}_${subject}_`));
    });
    expect(bad, `unconventional constraint names:\n${report(bad)}`).toEqual([]);
  });

  it('indexes are idx_<table>_..., unique ones uq_<table>_..., primary keys pk_<table>', () => {
    const bad = indexes.filter((i) => {
      if (i.primary) return i.name !== `pk_${i.table}`;
      if (i.unique) return !i.name.startsWith(`uq_${i.table}_`);
      return !i.name.startsWith(`idx_${i.table}_`);
    });
    expect(bad, `unconventional index names:\n${report(bad)}`).toEqual([]);
  });

  it('triggers are trg_<table>_...', () => {
    const bad = triggers.filter((t) => !t.name.startsWith(`trg_${t.table}_`));
    expect(bad, `unconventional trigger names:\n${report(bad)}`).toEqual([]);
  });
});
