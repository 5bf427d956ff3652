import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runPlan } from '../../src/commands/plan.js';
import { formatPlan } from '../../src/cli/commands/plan.js';
import { parseExpectation } from '../../src/plan/expectations.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();
let dir: string;

/** Writes sql/queries/<context>/<name>.sql under a temporary folder. */
function query(context: string, name: string, header: string[], statement: string): void {
  mkdirSync(join(dir, context), { recursive: true });
  writeFileSync(join(dir, context, `${name}.sql`), [`-- name: ${context}.${name}`, `-- description: test query`, ...header, statement, ''].join('\n'));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agentry-plan-'));
  // Enough rows that the planner prefers indexes where they help, and statistics to plan with.
  await db.pool.query(`
    INSERT INTO agentry.tasks (title, status, priority, created_at)
    SELECT 'task ' || g, (ARRAY['queued', 'pending', 'cancelled'])[1 + g % 3], 1 + g % 10, now() - make_interval(secs => g)
      FROM generate_series(1, 20000) AS g`);
  await db.pool.query(`INSERT INTO agentry.agents (id, name) VALUES ('plan-agent', 'plan agent'), ('busy-agent', 'busy agent')`);
  // A few rows of the agent asked about among many of another: an index is worth reading.
  await db.pool.query(`
    INSERT INTO agentry.agent_metrics (agent_id, metric_type, metric_value, recorded_at)
    SELECT CASE WHEN g % 200 = 0 THEN 'plan-agent' ELSE 'busy-agent' END, 'latency', g,
           date_trunc('month', now()) + make_interval(secs => g)
      FROM generate_series(1, 20000) AS g`);
  await db.pool.query('ANALYZE');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('plan assertions', () => {
  it('parses the five forms and refuses anything else with the list of forms', () => {
    expect(parseExpectation('index pk_tasks', 3)).toMatchObject({ kind: 'index', index: 'pk_tasks' });
    expect(parseExpectation('no-seq-scan tasks', 3)).toMatchObject({ kind: 'no-seq-scan', table: 'tasks' });
    expect(parseExpectation('partitions agent_metrics <= 1', 3)).toMatchObject({ kind: 'partitions', table: 'agent_metrics', max: 1 });
    expect(parseExpectation('max-cost 100.5', 3)).toMatchObject({ kind: 'max-cost', max: 100.5 });
    expect(parseExpectation('max-rows 10', 3)).toMatchObject({ kind: 'max-rows', max: 10 });
    expect(parseExpectation('uses the fast path', 3)).toMatchObject({ error: expect.stringMatching(/unknown plan assertion.*no-seq-scan/) });
  });
});

describe('runPlan', () => {
  it('passes a query whose plan shows what its header says, with example parameters evaluated in the database', async () => {
    query('work', 'by_id', ['-- param: $1 id uuid = (SELECT id FROM agentry.tasks ORDER BY created_at LIMIT 1)', '-- expect: index pk_tasks', '-- expect: no-seq-scan tasks', '-- expect: max-rows 1'], 'SELECT * FROM agentry.tasks WHERE id = $1');
    const result = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['work.by_id'] });
    expect(result.ok).toBe(true);
    expect(result.results[0]).toMatchObject({ query: 'work.by_id', ok: true, summary: 'Index Scan using pk_tasks on tasks', planRows: 1 });
    expect(result.results[0]!.assertions.map((a) => a.ok)).toEqual([true, true, true]);
  });

  it('fails a query that does not use its index, naming what the plan reads instead', async () => {
    query('work', 'by_title', ['-- param: $1 title text = \'task 7\'', '-- expect: index pk_tasks', '-- expect: no-seq-scan tasks'], 'SELECT * FROM agentry.tasks WHERE title = $1');
    const result = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['work.by_title'] });
    expect(result.ok).toBe(false);
    const [r] = result.results;
    expect(r!.assertions).toEqual([
      expect.objectContaining({ assertion: 'index pk_tasks', ok: false, message: expect.stringMatching(/index pk_tasks is not used/) }),
      expect.objectContaining({ assertion: 'no-seq-scan tasks', ok: false, message: 'Seq Scan on tasks' }),
    ]);
  });

  it('judges the plan that an index drop changes: the same query passes, then fails', async () => {
    query('work', 'queue', ['-- param: $1 n integer = 10', '-- expect: index idx_tasks_status_priority', '-- expect: no-seq-scan tasks'],
      `SELECT id FROM agentry.tasks WHERE status = 'queued' ORDER BY priority DESC, created_at LIMIT $1`);
    expect((await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['work.queue'] })).ok).toBe(true);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DROP INDEX agentry.idx_tasks_status_priority');
      // The checker's own connection must see the drop: commit it, then restore.
      await client.query('COMMIT');
      const broken = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['work.queue'] });
      expect(broken.ok).toBe(false);
      expect(broken.results[0]!.assertions[0]).toMatchObject({ ok: false, message: expect.stringMatching(/idx_tasks_status_priority is not used/) });
    } finally {
      await client.query('CREATE INDEX idx_tasks_status_priority ON agentry.tasks (status, priority DESC, created_at)');
      client.release();
    }
  });

  it('counts the partitions a statement scans (pruning) and maps partition indexes to their parent', async () => {
    query('telemetry', 'this_month', [
      "-- param: $1 agent_id varchar = 'plan-agent'",
      "-- param: $2 since timestamptz = date_trunc('month', now())",
      '-- expect: partitions agent_metrics <= 1',
      '-- expect: index pk_agent_metrics',
    ], `SELECT count(*) FROM agentry.agent_metrics WHERE agent_id = $1 AND metric_type = 'latency' AND recorded_at >= $2 AND recorded_at < $2 + interval '1 day'`);
    query('telemetry', 'all_time', ["-- param: $1 agent_id varchar = 'plan-agent'", '-- expect: partitions agent_metrics <= 1'],
      'SELECT count(*) FROM agentry.agent_metrics WHERE agent_id = $1');
    const result = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['telemetry'] });
    const byName = Object.fromEntries(result.results.map((r) => [r.query, r]));
    expect(byName['telemetry.this_month']!.ok).toBe(true);
    expect(byName['telemetry.all_time']!.ok).toBe(false);
    expect(byName['telemetry.all_time']!.assertions[0]!.message).toMatch(/partitions of agent_metrics scanned .* at most 1 expected/);
  });

  it('fails on cost and row bounds, on an unknown assertion, on a query with no assertion, and on a statement that does not plan', async () => {
    query('bad', 'costly', ['-- expect: max-cost 1', '-- expect: max-rows 5'], 'SELECT * FROM agentry.tasks');
    query('bad', 'vague', ['-- expect: is fast'], 'SELECT 1');
    query('bad', 'silent', [], 'SELECT 1');
    query('bad', 'broken', [], 'SELECT no_such_column FROM agentry.tasks');
    const result = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['bad'] });
    const byName = Object.fromEntries(result.results.map((r) => [r.query, r]));
    expect(byName['bad.costly']!.assertions.map((a) => a.message)).toEqual([expect.stringMatching(/estimated cost .* exceeds 1/), expect.stringMatching(/estimated 20000 rows, at most 5/)]);
    expect(byName['bad.vague']!.assertions[0]!.message).toMatch(/unknown plan assertion "is fast"/);
    expect(byName['bad.silent']!.assertions[0]!.message).toMatch(/declares no -- expect: line/);
    expect(byName['bad.broken']!.error).toMatch(/no_such_column/);
    expect(result).toMatchObject({ ok: false, failed: 4, passed: 0 });
  });

  it('with analyze, runs DML in a rolled-back transaction: nothing changes', async () => {
    query('work', 'cancel_all', ['-- expect: max-rows 100000'], `UPDATE agentry.tasks SET priority = 1 WHERE status = 'pending'`);
    const before = await db.pool.query(`SELECT count(*)::int AS n FROM agentry.tasks WHERE priority = 1`);
    const result = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['work.cancel_all'], analyze: true });
    expect(result.results[0]!.executionMs).toBeGreaterThan(0);
    const after = await db.pool.query(`SELECT count(*)::int AS n FROM agentry.tasks WHERE priority = 1`);
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('with showSql, returns the statements of the failing (or all) queries in house style, with their example parameters', async () => {
    query('show', 'fast', ['-- param: $1 id uuid = (SELECT id FROM agentry.tasks LIMIT 1)', '-- expect: index pk_tasks'], 'select *\n  from agentry.tasks where id=$1');
    query('show', 'slow', ['-- expect: max-rows 1'], 'SELECT * FROM agentry.tasks');
    const failing = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['show'], showSql: 'failing' });
    expect(failing.statements).toEqual([{ query: 'show.slow', file: join(dir, 'show', 'slow.sql'), params: [], sql: 'SELECT * FROM agentry.tasks' }]);
    const all = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['show'], showSql: 'all' });
    expect(all.statements?.map((q) => [q.query, q.sql])).toEqual([
      ['show.fast', 'select * from agentry.tasks where id = $1'],
      ['show.slow', 'SELECT * FROM agentry.tasks'],
    ]);
    expect(all.statements?.[0]?.params).toEqual([{ position: 1, name: 'id', type: 'uuid', example: '(SELECT id FROM agentry.tasks LIMIT 1)' }]);
    expect((await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['show'] })).statements).toBeUndefined();
  });

  it('does not judge index and no-seq-scan assertions about a table too small for them, unless told to (minRows)', async () => {
    query('fleet', 'small', ["-- param: $1 id varchar = 'plan-agent'", '-- expect: no-seq-scan workers', '-- expect: index pk_workers'],
      'SELECT * FROM agentry.workers WHERE machine_id = $1');
    const lenient = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['fleet.small'] });
    expect(lenient.ok).toBe(true);
    expect(lenient.results[0]!.assertions).toEqual([
      expect.objectContaining({ ok: true, skipped: true, message: expect.stringMatching(/not judged: workers holds about 0 rows \(fewer than 1000\)/) }),
      expect.objectContaining({ ok: true, skipped: true }),
    ]);
    const strict = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['fleet.small'], minRows: 0 });
    expect(strict.ok).toBe(false);
    expect(strict.results[0]!.assertions.map((a) => a.ok)).toEqual([false, false]);
  });

  it('allows a Seq Scan on a partition under minRows (the first sliver of a window) but not on a large one', async () => {
    // A few rows of last month beside this month's 20,000: a window over both reads last month's whole.
    await db.pool.query(`
      INSERT INTO agentry.agent_metrics (agent_id, metric_type, metric_value, recorded_at)
      SELECT 'plan-agent', 'latency', g, date_trunc('month', now()) - make_interval(secs => g)
        FROM generate_series(1, 40) AS g`);
    await db.pool.query('ANALYZE agentry.agent_metrics');
    query('window', 'two_months', [
      "-- param: $1 agent_id varchar = 'plan-agent'",
      "-- param: $2 since timestamptz = date_trunc('month', now()) - interval '1 day'",
      '-- expect: no-seq-scan agent_metrics',
    ], `SELECT count(*) FROM agentry.agent_metrics WHERE agent_id = $1 AND metric_type = 'latency' AND recorded_at >= $2 AND recorded_at < $2 + interval '2 days'`);
    const strict = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['window'], minRows: 0 });
    // The planner really reads the small partition whole: judged without the allowance, it fails naming it.
    expect(strict.results[0]!.assertions[0]).toMatchObject({ ok: false, message: expect.stringMatching(/^Seq Scan on agent_metrics_\w+$/) });
    const small = /Seq Scan on (\S+)$/.exec(strict.results[0]!.assertions[0]!.message!)![1]!;
    const lenient = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['window'] });
    expect(lenient.ok).toBe(true);
    expect(lenient.results[0]!.assertions[0]).toMatchObject({ ok: true, message: `Seq Scan only on partitions under 1000 rows (${small}), where it is the right plan` });
    expect(formatPlan(lenient)).toContain(`passed with an allowance:\n  window.two_months line 5: expect no-seq-scan agent_metrics: Seq Scan only on partitions under 1000 rows (${small})`);
    // The same statement with a bar below that partition's size is judged on it again.
    expect((await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['window.two_months'], minRows: 10 })).ok).toBe(false);
    // A window pruned to that partition alone: what the plan reads is small, so its index is not judged.
    query('window', 'last_month', [
      "-- param: $1 agent_id varchar = 'plan-agent'",
      "-- param: $2 until timestamptz = date_trunc('month', now())",
      '-- expect: index pk_agent_metrics',
    ], `SELECT count(*) FROM agentry.agent_metrics WHERE agent_id = $1 AND recorded_at >= $2 - interval '1 hour' AND recorded_at < $2`);
    const pruned = await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['window.last_month'] });
    expect(pruned.results[0]!.assertions[0]).toMatchObject({
      ok: true,
      skipped: true,
      message: `not judged: the partitions of agent_metrics this plan reads (${small}) hold about 40 rows (fewer than 1000), where a sequential scan is the right plan`,
    });
    expect((await runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['window.last_month'], minRows: 10 })).results[0]!.assertions[0]!.skipped).toBeUndefined();
  });

  it('refuses an unknown query name as a usage error', async () => {
    await expect(runPlan({ databaseUrl: db.url, queriesDir: dir, only: ['nope.nothing'] })).rejects.toMatchObject({ kind: 'usage' });
  });
});

describe('agentry plan (CLI)', () => {
  it('lists the shipped queries with their assertions', async () => {
    const { code, stdout } = await runCli(['plan', '--list', '--json']);
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as { name: string; expectations: string[] }[];
    expect(list.find((q) => q.name === 'work.get_task')?.expectations).toEqual(['index pk_tasks', 'no-seq-scan tasks']);
  });

  it('--list --show-sql prints statements in house style under their example parameters, without a database', async () => {
    const { code, stdout } = await runCli(['plan', '--list', '--show-sql', '--only', 'work.get_task']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      '-- work.get_task (sql/queries/work/get_task.sql)\n-- $1 id uuid = (SELECT id FROM agentry.tasks LIMIT 1)\nSELECT * FROM agentry.tasks WHERE id = $1;\n',
    );
    expect((await runCli(['plan', '--show-sql', 'some'])).code).toBe(2);
  });

  it('--show-sql all prints the statement after the plan table', async () => {
    const { code, stdout } = await runCli(['--database-url', db.adminUrl, '--database', db.name, 'plan', '--only', 'work.get_task', '--show-sql', 'all']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nplan: 1 of 1 queries pass\n\n-- work\.get_task \(sql\/queries\/work\/get_task\.sql\)\n-- \$1 id uuid = .*\nSELECT \* FROM agentry\.tasks WHERE id = \$1;\n$/);
  });

  it('checks the shipped work.get_task on this database, exit 0, and --json gives one result per query', async () => {
    const { code, stdout } = await runCli(['--database-url', db.adminUrl, '--database', db.name, '--json', 'plan', '--only', 'work.get_task']);
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.results).toHaveLength(1);
    expect(result.results[0]).toMatchObject({ query: 'work.get_task', ok: true });
  });
});
