import { fail, pass, plural, type Rule } from './types.js';

// Structural rules of schema agentry, read from pg_catalog. The foreign-key
// index and duplicate-index queries are the ones test/schema/coverage.test.ts
// holds the migrations to.

export const primaryKeys: Rule = {
  name: 'primary-keys',
  group: 'schema',
  description: 'every table (partitions included) has a primary key',
  async run({ client }) {
    const { rows } = await client.query<{ table: string; kind: string }>(
      `SELECT c.relname AS table, c.relkind::text AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
        ORDER BY 1`,
    );
    const { rows: count } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p')`,
    );
    if (rows.length === 0) return pass(`all ${plural(count[0]?.n ?? 0, 'table')} have a primary key`);
    return fail(
      `${plural(rows.length, 'table has', 'tables have')} no primary key: add one (CONSTRAINT pk_<table> PRIMARY KEY (...)) in a migration`,
      rows.map((r) => `agentry.${r.table}`),
    );
  },
};

export const fkIndexes: Rule = {
  name: 'fk-indexes',
  group: 'schema',
  description: "every foreign key's column set is the leading column(s) of a valid, non-partial index",
  async run({ client }) {
    const { rows } = await client.query<{ table: string; name: string; columns: string }>(
      `SELECT c.relname AS table, k.conname AS name,
              (SELECT string_agg(a.attname, ', ' ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) AS columns
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND k.contype = 'f' AND NOT c.relispartition
          AND NOT EXISTS (
            SELECT 1 FROM pg_index x
             WHERE x.indrelid = k.conrelid AND x.indpred IS NULL AND x.indisvalid
               AND (SELECT array_agg(col ORDER BY col) FROM unnest((x.indkey::int2[])[0:cardinality(k.conkey) - 1]) col)
                   = (SELECT array_agg(col ORDER BY col) FROM unnest(k.conkey) col))
        ORDER BY 1, 2`,
    );
    if (rows.length === 0) return pass('every foreign key leads an index');
    return fail(
      `${plural(rows.length, 'foreign key has', 'foreign keys have')} no index leading with its columns: CREATE INDEX idx_<table>_<column> ON agentry.<table> (<columns>) in a migration`,
      rows.map((r) => `${r.table}.${r.name} (${r.columns})`),
    );
  },
};

export const duplicateIndexes: Rule = {
  name: 'duplicate-indexes',
  group: 'schema',
  description: 'no two indexes of a table have the same columns, expressions, method, operator classes and predicate',
  async run({ client }) {
    const { rows } = await client.query<{ table: string; names: string[]; definition: string }>(
      `SELECT c.relname AS table, array_agg(ic.relname::text ORDER BY ic.relname) AS names, d.definition
         FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace,
              LATERAL (SELECT regexp_replace(pg_get_indexdef(x.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?', '') AS definition) d
        WHERE n.nspname = 'agentry' AND NOT c.relispartition
        GROUP BY c.relname, d.definition
       HAVING count(*) > 1
        ORDER BY 1, 3`,
    );
    if (rows.length === 0) return pass('no index is defined twice');
    return fail(
      `${plural(rows.length, 'index is', 'indexes are')} defined more than once: drop all but one of each group`,
      rows.map((r) => `${r.table}: ${r.names.join(' = ')} (${r.definition})`),
    );
  },
};

export const invalidIndexes: Rule = {
  name: 'invalid-indexes',
  group: 'schema',
  description: 'no index is invalid (pg_index.indisvalid), e.g. left behind by a failed CREATE INDEX CONCURRENTLY',
  async run({ client }) {
    const { rows } = await client.query<{ table: string; name: string }>(
      `SELECT c.relname AS table, ic.relname AS name
         FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND NOT x.indisvalid
        ORDER BY 1, 2`,
    );
    if (rows.length === 0) return pass('every index is valid');
    return fail(
      `${plural(rows.length, 'index is', 'indexes are')} invalid (a failed concurrent build?): DROP INDEX CONCURRENTLY and create it again, or REINDEX INDEX CONCURRENTLY`,
      rows.map((r) => `${r.table}: ${r.name}`),
    );
  },
};

export const updatedAtTriggers: Rule = {
  name: 'updated-at-triggers',
  group: 'schema',
  description: 'every table with an updated_at column has an enabled BEFORE UPDATE FOR EACH ROW trigger trg_<table>_updated_at whose function sets NEW.updated_at',
  async run({ client }) {
    const { rows } = await client.query<{ table: string; trigger: string | null; timing_ok: boolean | null; enabled: boolean | null; sets_it: boolean | null }>(
      `SELECT c.relname AS table, t.tgname AS trigger,
              (t.tgtype::int & 1) = 1 AND (t.tgtype::int & 2) = 2 AND (t.tgtype::int & 16) = 16 AS timing_ok,
              t.tgenabled <> 'D' AS enabled,
              p.prosrc ~* 'NEW\\.updated_at\\s*:?=' AS sets_it
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
         LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = 'trg_' || c.relname || '_updated_at' AND NOT t.tgisinternal
         LEFT JOIN pg_proc p ON p.oid = t.tgfoid
        WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY 1`,
    );
    const problems: string[] = [];
    for (const r of rows) {
      const expected = `trg_${r.table}_updated_at`;
      if (r.trigger === null) problems.push(`${r.table}: no trigger ${expected}`);
      else if (!r.timing_ok) problems.push(`${r.table}: ${expected} is not BEFORE UPDATE FOR EACH ROW`);
      else if (!r.enabled) problems.push(`${r.table}: ${expected} is disabled`);
      else if (!r.sets_it) problems.push(`${r.table}: the function of ${expected} does not set NEW.updated_at`);
    }
    if (problems.length === 0) return pass(`all ${plural(rows.length, 'table')} with updated_at have their trg_<table>_updated_at trigger`);
    return fail(
      `${plural(problems.length, 'table with updated_at lacks', 'tables with updated_at lack')} a working trigger: CREATE TRIGGER trg_<table>_updated_at BEFORE UPDATE ON agentry.<table> FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at()`,
      problems,
    );
  },
};

export const partitionsAhead: Rule = {
  name: 'partitions',
  group: 'schema',
  description: 'every range-partitioned table has partitions for the current month and the next N (--months-ahead, default 2)',
  async run({ client, monthsAhead, asOf }) {
    // The session is in UTC (withCatalogClient), so bounds print and parse as UTC.
    const { rows } = await client.query<{ table: string; month: string; expected: string }>(
      `WITH parents AS (
         SELECT c.oid, c.relname FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'agentry' AND pt.partstrat = 'r' AND pt.partnatts = 1 AND NOT c.relispartition),
       parts AS (
         SELECT i.inhparent AS parent,
                (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz AS lo,
                (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS hi
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhparent IN (SELECT oid FROM parents)),
       months AS (
         SELECT generate_series(date_trunc('month', $1::timestamptz), date_trunc('month', $1::timestamptz) + make_interval(months => $2), interval '1 month') AS m)
       SELECT p.relname AS table, to_char(m.m, 'YYYY-MM') AS month, p.relname || '_' || to_char(m.m, '"y"YYYY"m"MM') AS expected
         FROM parents p CROSS JOIN months m
        WHERE NOT EXISTS (SELECT 1 FROM parts x WHERE x.parent = p.oid AND x.lo <= m.m AND x.hi >= m.m + interval '1 month')
        ORDER BY 1, 2`,
      [asOf.toISOString(), monthsAhead],
    );
    const { rows: parents } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_partitioned_table pt JOIN pg_class c ON c.oid = pt.partrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'agentry' AND pt.partstrat = 'r' AND NOT c.relispartition`,
    );
    const first = asOf.toISOString().slice(0, 7);
    if (rows.length === 0) {
      return pass(`${plural(parents[0]?.n ?? 0, 'range-partitioned table has', 'range-partitioned tables have')} partitions from ${first} through ${monthsAhead} month(s) ahead`);
    }
    return fail(
      `${plural(rows.length, 'monthly partition is', 'monthly partitions are')} missing (rows would go to the default partition): run \`agentry partitions maintain --months-ahead ${Math.max(monthsAhead, 3)}\``,
      rows.map((r) => `${r.table}: ${r.month} (${r.expected})`),
    );
  },
};

export const SCHEMA_RULES: readonly Rule[] = [primaryKeys, fkIndexes, duplicateIndexes, invalidIndexes, updatedAtTriggers, partitionsAhead];
