import { resolve } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { repoRoot } from '../helpers/cli.js';
import { recordFigures } from '../helpers/figures.js';
import { checkProject, checkSnippets, type Allowance, type CheckResult } from './support/sql-checker.js';

// No SQL in src/ is built by pasting values into its text: the checker
// (support/sql-checker.ts) parses every src/**/*.ts file with the TypeScript
// compiler and follows the SQL argument of every .query(), pgm.sql() and
// new QueryStream() back to literals, constants and quoteIdent/quoteQualified
// calls. What it cannot prove is listed here, each with the reason it is not
// a value from outside; the list must match the code exactly (an entry that
// matches nothing fails too).

const ALLOWED: Allowance[] = [
  // The DAL and the plan checker run the repository's own named SQL files.
  { file: 'src/dal/client.ts', expression: 'definition.text', reason: 'the text of a named SQL file of sql/queries, checked by the loader (one statement, $n parameters)' },
  { file: 'src/dal/client.ts', expression: 'sql', reason: 'beginStatement(): BEGIN plus an isolation level looked up in the ISOLATION_SQL constant (Object.hasOwn-guarded) and READ ONLY' },
  { file: 'src/dal/client.ts', expression: 'runtime.state.savepoints', reason: 'savepoint names agentry_savepoint_<n>: n is an integer counter of the transaction' },
  {
    file: 'src/dal/knowledge.ts',
    expression: 'v.match',
    reason: "a query NAME, not SQL: 'any' | 'all' (zod enum) picks knowledge.search_by_tags_any or _all; unknown names are refused by the executor",
  },
  { file: 'src/plan/explain.ts', expression: 'query.text', reason: 'the plan checker PREPAREs the named SQL files of the repository' },
  { file: 'src/plan/explain.ts', expression: 'param.example', reason: 'the example SQL expression of a `-- param:` header line of a named SQL file (repository text, by design)' },
  { file: 'src/plan/explain.ts', expression: 'param.type', reason: 'the PostgreSQL type of a `-- param:` header line of a named SQL file' },
  { file: 'src/plan/explain.ts', expression: 'p.type', reason: 'the PostgreSQL type of a `-- param:` header line of a named SQL file' },
  // Migrations.
  { file: 'src/migrate/runner.ts', expression: 'up', reason: 'the Up section of a migration file: the schema itself, checksummed in the ledger' },
  { file: 'src/migrate/runner.ts', expression: 'down', reason: 'the Down section of a migration file' },
  {
    file: 'src/migrate/ledger.ts',
    expression: `value.replaceAll("'", "''")`,
    reason:
      "literal() for the ledger statement added to each migration: pgm.sql takes no bind parameters; the values are a migration name (files.ts NAME_PATTERN: letters, digits, _ and -) and a hex SHA-256, so no quote or backslash can occur",
  },
  // Catalog and verify: SQL from constant tables of the same module.
  { file: 'src/catalog/snapshot.ts', expression: 'sql', reason: 'loop variable over the constant SNAPSHOT_SECTIONS / REFERENCE_DATA objects of the file' },
  { file: 'src/verify/privilege-rules.ts', expression: 'p', reason: 'an element of the constant ALL_TABLE_PRIVILEGES (design.ts), typed TablePrivilege' },
  // The demo seed is an SQL generator: INSERT ... SELECT statements computed
  // from the seeded model (integers validated by the CLI: --scale, --seed,
  // --months; constant vocabularies, strings through lit()); no outside text.
  { file: 'src/seed/demo/phases.ts', expression: 'sql', reason: 'exec(client, sql): the demo generator statements (see above)' },
  { file: 'src/seed/demo/phases.ts', expression: /^m\.(r|pick)\(/, reason: 'the model’s deterministic SQL expressions for random draws and picks from constant lists' },
  { file: 'src/seed/demo/phases.ts', expression: /^Math\.min\(1, \(c\.trustRecordsPerAgent/, reason: 'a number computed from the model counts' },
  { file: 'src/seed/demo/phases.ts', expression: 't', reason: 'vacuum(client, ...tables): table names given as literals by its callers' },
  { file: 'src/seed/demo/phases.ts', expression: 'tables[i]', reason: 'analyzePhase(DEMO_TABLES): the table names of the constant OWNED list (removal.ts)' },
  { file: 'src/seed/demo/sql.ts', expression: "TABLE_CODE[table].toString(16).padStart(4, '0')", reason: 'hex digits of a number of the constant TABLE_CODE' },
  { file: 'src/seed/demo/sql.ts', expression: "n.toString(16).padStart(12, '0')", reason: 'hex digits of a number (demo uuid counter)' },
  {
    file: 'src/seed/demo/sql.ts',
    expression: 'column',
    reason: 'the generator helpers inDemoRange, inCounterRange and counterOf take a column name or SQL expression, given as literals by phases.ts and removal.ts',
  },
  { file: 'src/seed/demo/removal.ts', expression: /^[op]\.(table|demo|other|where)$/, reason: 'a table name or SQL condition of the constant OWNED list of the file (or of parts built from it)' },
];

let result: CheckResult | undefined;
let planted: CheckResult | undefined;

afterAll(() => {
  if (!result || !planted) return;
  recordFigures('security-sql', {
    srcFilesScanned: result.files,
    queryCallSitesChecked: result.sites.length,
    queryCallSitesConstant: result.sites.filter((s) => s.verdict === 'constant').length,
    queryCallSitesQuoted: result.sites.filter((s) => s.verdict === 'quoted').length,
    queryCallSitesAllowed: result.sites.filter((s) => s.verdict === 'allowed').length,
    sqlAllowances: ALLOWED.length,
    plantedOffencesFound: planted.findings.length,
  });
});

describe('SQL construction in src/', () => {
  it('builds no SQL text from values: every sink is literals, constants, or identifiers through quoteIdent/quoteQualified', { timeout: 60_000 }, () => {
    result = checkProject(resolve(repoRoot, 'tsconfig.json'), { root: repoRoot, under: 'src', allow: ALLOWED });
    expect(result.files).toBeGreaterThan(80);
    expect(result.sites.length).toBeGreaterThan(150);
    const report = [...new Set(result.findings.map((f) => `${f.file}:${f.line}: ${f.expression} (${f.why}) in ${f.sink}`))];
    expect(report).toEqual([]);
    expect(result.unused.map((a) => `${a.file}: ${String(a.expression)}`)).toEqual([]);
    // Every kind of verdict occurs, so the classification is exercised on the real code.
    const verdicts = new Set(result.sites.map((s) => s.verdict));
    expect([...verdicts].sort()).toEqual(['allowed', 'constant', 'quoted']);
    // The quoting helper is what makes the identifier sites safe (e.g. createDatabase, the digest).
    expect(result.sites.filter((s) => s.verdict === 'quoted').map((s) => s.file)).toEqual(
      expect.arrayContaining(['src/db/admin.ts', 'src/seed/digest.ts', 'src/seed/demo/removal.ts']),
    );
  });
});

describe('the checker itself', () => {
  const SNIPPETS = {
    'bad.ts': `
      import pg from 'pg';
      declare const client: pg.Client;
      declare const pool: pg.Pool;
      export async function byId(id: string, name: string, n: number) {
        await client.query("SELECT * FROM agentry.tasks WHERE id = '" + id + "'");
        await pool.query(\`SELECT * FROM agentry.tasks WHERE title = '\${name}'\`);
        const sql = \`DELETE FROM agentry.tasks LIMIT \${n}\`;
        await client.query(sql);
        await client.query({ text: 'SELECT ' + n, values: [] });
        await client.query(where(name));
        let dynamic = 'SELECT 1';
        dynamic += name;
        await client.query(dynamic);
      }
      function where(column: string) {
        return \`SELECT 1 WHERE \${column} IS NULL\`;
      }
      export function migrate(pgm: { sql(text: string): void }, name: string) {
        pgm.sql(\`INSERT INTO agentry.pgmigrations (name) VALUES ('\${name}')\`);
      }
    `,
    'stream.ts': `
      import pg from 'pg';
      import QueryStream from 'pg-query-stream';
      export const open = (filter: string) => new QueryStream(\`SELECT * FROM agentry.tasks WHERE \${filter}\`);
      export const rows = (filter: string) => new pg.Query({ text: \`SELECT * FROM agentry.tasks WHERE \${filter}\`, values: [] });
    `,
    'good.ts': `
      import pg from 'pg';
      import { quoteIdent } from './identifiers.js';
      import { TABLE } from './constants.js';
      declare const client: pg.Client;
      const COLUMNS = ['id', 'title'] as const;
      const LIMIT = 10;
      export async function safe(table: string, id: string, columns: string[]) {
        await client.query('SELECT 1');
        await client.query(\`SELECT * FROM \${quoteIdent(table)} WHERE id = $1 LIMIT \${LIMIT}\`, [id]);
        await client.query(\`SELECT \${COLUMNS.join(', ')} FROM \${TABLE}\`);
        await client.query(\`SELECT \${columns.map(quoteIdent).join(', ')} FROM \${TABLE}\`);
        await client.query(\`SELECT \${columns.map((c) => \`t.\${quoteIdent(c)}\`).join(', ')} FROM \${TABLE} t\`);
        await client.query(count('tasks'));
        await client.query(id ? 'SELECT 1' : \`SELECT \${LIMIT}\`);
      }
      function count(table: string) {
        return \`SELECT count(*) FROM agentry.\${table}\`;
      }
    `,
    'identifiers.ts': `export function quoteIdent(name: string): string { return '"' + name.replaceAll('"', '""') + '"'; }`,
    'constants.ts': `export const TABLE = 'agentry.tasks';`,
  };

  it('finds values concatenated or interpolated into SQL, through variables, functions, object configs, pgm.sql, QueryStream and pg.Query', { timeout: 60_000 }, () => {
    planted = checkSnippets(SNIPPETS);
    const found = planted.findings.map((f) => `${f.file}:${f.expression}`);
    expect(new Set(found)).toEqual(
      new Set([
        'src/bad.ts:id', // '...' + id + '...'
        'src/bad.ts:name', // `...${name}` and where(name) and pgm.sql(`...${name}`)
        'src/bad.ts:n', // `LIMIT ${n}` through const sql, and 'SELECT ' + n in { text }
        'src/bad.ts:dynamic', // a let: cannot be followed
        'src/stream.ts:filter',
      ]),
    );
    // Each bad sink is flagged, no good one is.
    const bySite = planted.sites.map((s) => `${s.file}:${s.line}:${s.verdict}`);
    expect(planted.sites.filter((s) => s.file === 'src/bad.ts' || s.file === 'src/stream.ts').every((s) => s.verdict === 'unsafe')).toBe(true);
    expect(planted.sites.filter((s) => s.file === 'src/bad.ts' || s.file === 'src/stream.ts')).toHaveLength(9);
    expect(planted.sites.filter((s) => s.file === 'src/stream.ts').map((s) => s.sink)).toEqual([
      expect.stringContaining('new QueryStream('),
      expect.stringContaining('new pg.Query({ text:'),
    ]);
    const good = planted.sites.filter((s) => s.file === 'src/good.ts');
    expect(good, bySite.join('\n')).toHaveLength(7);
    expect(good.map((s) => s.verdict)).toEqual(['constant', 'quoted', 'constant', 'quoted', 'quoted', 'constant', 'constant']);
    // count('tasks') is safe because every caller passes a literal; the finding
    // in where() names the parameter reached through the call.
    expect(planted.findings.find((f) => f.expression === 'name' && f.why.includes('parameter'))).toBeDefined();
  });

  it('takes an allowance only for the exact expression and file, and reports allowances that match nothing', { timeout: 60_000 }, () => {
    const allow: Allowance[] = [
      { file: 'src/stream.ts', expression: 'filter', reason: 'test' },
      { file: 'src/good.ts', expression: 'filter', reason: 'matches nothing' },
    ];
    const checked = checkSnippets({ 'stream.ts': SNIPPETS['stream.ts'], 'bad.ts': SNIPPETS['bad.ts'] }, allow);
    expect(checked.findings.map((f) => f.file)).not.toContain('src/stream.ts');
    expect(checked.findings.length).toBeGreaterThan(0);
    expect(checked.sites.find((s) => s.file === 'src/stream.ts')!.verdict).toBe('allowed');
    expect(checked.unused).toEqual([allow[1]]);
  });
});
