import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { diffSnapshots, normalizeForDrift } from '../../src/catalog/diff.js';
import type { Snapshot } from '../../src/catalog/snapshot.js';
import type { VerifyResult } from '../../src/commands/verify.js';
import { createDatabase, dropDatabase, withClient } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import { findCycles, RULE_NAMES, type RuleResult } from '../../src/verify/index.js';
import { repoRoot, runBin, runCli } from '../helpers/cli.js';
import '../setup/context.js';

// `agentry verify`: every rule passes on a correctly migrated database with
// data written through the triggers, and each rule fails on a database broken
// on purpose (a clone of the migrated template with one thing done wrong).
// Drift compares with a reference clone of the template (--reference-database)
// in process; the subprocess run migrates its own scratch database.

const W = '00000000-0000-4000-8000-00000000000a';
const T = (n: number): string => `00000000-0000-4000-8000-00000000010${n}`;

/** Data written the supported way: triggers keep the counters, the trust score and the DAG. */
const SEED = [
  `INSERT INTO agentry.agents (id, name) VALUES ('verify-agent', 'verify agent')`,
  `INSERT INTO agentry.workflows (id, name) VALUES ('${W}', 'verify workflow')`,
  `INSERT INTO agentry.tasks (id, title, workflow_id, agent_id, status, tokens_used, cost_usd) VALUES
     ('${T(1)}', 'one', '${W}', 'verify-agent', 'completed', 100, 0.01),
     ('${T(2)}', 'two', '${W}', 'verify-agent', 'failed', 50, 0.005),
     ('${T(3)}', 'three', '${W}', 'verify-agent', 'timeout', 7, 0),
     ('${T(4)}', 'four', '${W}', NULL, 'cancelled', 0, 0),
     ('${T(5)}', 'five', '${W}', 'verify-agent', 'pending', 0, 0)`,
  `UPDATE agentry.tasks SET parent_task_id = '${T(1)}' WHERE id IN ('${T(4)}', '${T(5)}')`,
  `INSERT INTO agentry.task_dependencies (task_id, depends_on_id) VALUES ('${T(5)}', '${T(2)}'), ('${T(2)}', '${T(1)}'), ('${T(3)}', '${T(1)}')`,
  `INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta) VALUES ('verify-agent', 'task_completed', 0.1)`,
  `INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta) VALUES ('verify-agent', 'task_failed', -0.05)`,
];

/** Writes that bypass the triggers (superuser only), as a restore with --disable-triggers would. */
const withoutTriggers = (...statements: string[]): string =>
  `BEGIN; SET LOCAL session_replication_role = replica; ${statements.join('; ')}; COMMIT`;

function utcMonth(offset: number): string {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  return `y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

let adminUrl = '';
let reference = '';
let correct = '';
const created: string[] = [];

/** A clone of the migrated template with the seed data and then `sql` applied; dropped after the file. */
async function database(...sql: string[]): Promise<string> {
  const name = `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await createDatabase(adminUrl, name, { template: inject('agentryTemplateDb') });
  created.push(name);
  await withClient(withDatabase(adminUrl, name), async (client) => {
    for (const statement of [...SEED, ...sql]) await client.query(statement);
  });
  return name;
}

async function verify(name: string, ...args: string[]): Promise<{ code: number; stderr: string; result: VerifyResult; byRule: Map<string, RuleResult> }> {
  const run = await runCli(['--database-url', adminUrl, '--database', name, '--json', 'verify', '--reference-database', reference, ...args]);
  const result = JSON.parse(run.stdout) as VerifyResult;
  return { code: run.code, stderr: run.stderr, result, byRule: new Map(result.results.map((r) => [r.rule, r])) };
}

beforeAll(async () => {
  adminUrl = inject('agentryAdminUrl');
  const name = `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await createDatabase(adminUrl, name, { template: inject('agentryTemplateDb') });
  created.push(name);
  reference = name;
  correct = await database();
});

afterAll(async () => {
  for (const name of created.splice(0)) await dropDatabase(adminUrl, name);
});

describe('agentry verify on a correct database', () => {
  it('passes every rule (in process, --json: one result per rule) and exits 0', async () => {
    const { code, result, stderr } = await verify(correct);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(result.results.map((r) => r.rule)).toEqual(RULE_NAMES);
    for (const r of result.results) {
      expect(Object.keys(r).sort()).toEqual(['details', 'message', 'rule', 'status']);
      // The vocabulary rule skips (with a reason) only where there is no generated/ to compare with.
      if (r.status === 'skip') expect([r.rule, existsSync(join(repoRoot, 'generated'))]).toEqual(['vocabularies', false]);
      else expect(r, r.message).toMatchObject({ status: 'pass', details: [] });
    }
    expect(result.ok).toBe(true);
  });

  it('prints a readable report, and --list-rules names every rule', async () => {
    const run = await runCli(['--database-url', adminUrl, '--database', correct, 'verify', '--reference-database', reference, '--rule', 'primary-keys', 'partitions']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Database: postgres:\/\/.*\n {2}pass {2}primary-keys +all \d+ tables have a primary key\n {2}pass {2}partitions /);
    expect(run.stdout).toMatch(/2 rules: 2 passed, 0 failed, 0 skipped\n$/);
    const list = await runCli(['verify', '--list-rules']);
    expect(list.code).toBe(0);
    for (const rule of RULE_NAMES) expect(list.stdout).toContain(rule);
  });

  it('exits 2 for an unknown rule or a bad --months-ahead, with a one-line message', async () => {
    const unknown = await runCli(['--database-url', adminUrl, '--database', correct, 'verify', '--rule', 'no-such-rule']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^agentry: unknown rule "no-such-rule" for --rule: expected one of primary-keys, .*\n$/);
    const months = await runCli(['--database-url', adminUrl, '--database', correct, 'verify', '--months-ahead', 'lots']);
    expect(months.code).toBe(2);
    expect(months.stderr).toMatch(/--months-ahead expects an integer/);
    const missing = await runCli(['--database-url', adminUrl, '--database', 'agentry_no_such_db', 'verify']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist \(`agentry demo` creates it/);
  });
});

describe('agentry verify on broken databases: each rule fails', () => {
  it('primary-keys: a table without a primary key', async () => {
    const name = await database('ALTER TABLE agentry.task_graph_lock DROP CONSTRAINT pk_task_graph_lock');
    const { code, byRule, stderr } = await verify(name, '--rule', 'primary-keys', 'drift');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^agentry: verify failed: 2 of 2 rules \(primary-keys, drift\); fix what each message says\n$/);
    expect(byRule.get('primary-keys')).toMatchObject({ status: 'fail', details: ['agentry.task_graph_lock'] });
    expect(byRule.get('primary-keys')!.message).toMatch(/1 table has no primary key: add one/);
    expect(byRule.get('drift')!.details).toEqual(
      expect.arrayContaining(['removed constraint task_graph_lock.pk_task_graph_lock', 'removed index task_graph_lock.pk_task_graph_lock']),
    );
  });

  it('fk-indexes and drift: a dropped foreign-key index', async () => {
    const name = await database('DROP INDEX agentry.idx_checkpoints_task');
    const { byRule } = await verify(name, '--rule', 'fk-indexes', 'drift');
    expect(byRule.get('fk-indexes')).toMatchObject({ status: 'fail', details: ['checkpoints.fk_checkpoints_task_id (task_id)'] });
    expect(byRule.get('drift')!.details).toEqual(['removed index checkpoints.idx_checkpoints_task']);
  });

  it('drift: a hand-added column and a changed default, each named', async () => {
    const name = await database('ALTER TABLE agentry.tasks ADD COLUMN notes text', 'ALTER TABLE agentry.tasks ALTER COLUMN priority SET DEFAULT 6');
    const { code, byRule } = await verify(name, '--rule', 'drift');
    expect(code).toBe(1);
    const drift = byRule.get('drift')!;
    expect(drift.status).toBe('fail');
    expect(drift.message).toMatch(/^2 differences from the migrations at head \(1 added, 1 changed\)/);
    expect(drift.details).toEqual(['added column tasks.notes', 'changed column tasks.priority: default: 5 -> 6']);
  });

  it('duplicate-indexes: the same definition under a second name', async () => {
    const name = await database('CREATE INDEX idx_checkpoints_task_again ON agentry.checkpoints (task_id)');
    const { byRule } = await verify(name, '--rule', 'duplicate-indexes', 'fk-indexes');
    expect(byRule.get('duplicate-indexes')).toMatchObject({
      status: 'fail',
      details: ['checkpoints: idx_checkpoints_task = idx_checkpoints_task_again (agentry.checkpoints USING btree (task_id))'],
    });
    expect(byRule.get('fk-indexes')!.status).toBe('pass');
  });

  it('invalid-indexes: what a failed CREATE UNIQUE INDEX CONCURRENTLY leaves behind', async () => {
    const name = await database(
      `INSERT INTO agentry.task_chains (name, client_id, steps) VALUES
         ('a', 'same-client', '[{"name": "s", "task_type": "fetch"}]'), ('b', 'same-client', '[{"name": "s", "task_type": "fetch"}]')`,
    );
    await withClient(withDatabase(adminUrl, name), async (client) => {
      await expect(client.query('CREATE UNIQUE INDEX CONCURRENTLY uq_task_chains_client_id ON agentry.task_chains (client_id)')).rejects.toThrow(
        /could not create unique index/,
      );
    });
    const { byRule } = await verify(name, '--rule', 'invalid-indexes');
    expect(byRule.get('invalid-indexes')).toMatchObject({ status: 'fail', details: ['task_chains: uq_task_chains_client_id'] });
    expect(byRule.get('invalid-indexes')!.message).toMatch(/REINDEX INDEX CONCURRENTLY/);
  });

  it('partitions: a dropped monthly partition (which drift ignores, partitions being compared by shape)', async () => {
    const next = `audit_logs_${utcMonth(1)}`;
    const name = await database(`DROP TABLE agentry.${next}`);
    const { byRule } = await verify(name, '--rule', 'partitions', 'drift');
    expect(byRule.get('partitions')).toMatchObject({ status: 'fail', details: [expect.stringMatching(new RegExp(`^audit_logs: \\d{4}-\\d{2} \\(${next}\\)$`))] });
    expect(byRule.get('partitions')!.message).toMatch(/agentry partitions maintain/);
    expect(byRule.get('drift')!.status).toBe('pass');
    // The migrations create three months ahead; asking for more fails on every partitioned table.
    const further = await verify(correct, '--rule', 'partitions', '--months-ahead', '5');
    expect(further.byRule.get('partitions')!.details).toHaveLength(3 * 2);
    const earlier = await verify(name, '--rule', 'partitions', '--months-ahead', '0');
    expect(earlier.byRule.get('partitions')!.status).toBe('pass');
  });

  it('updated-at-triggers: a dropped trg_<table>_updated_at', async () => {
    const name = await database('DROP TRIGGER trg_projects_updated_at ON agentry.projects');
    const { byRule } = await verify(name, '--rule', 'updated-at-triggers');
    expect(byRule.get('updated-at-triggers')).toMatchObject({ status: 'fail', details: ['projects: no trigger trg_projects_updated_at'] });
  });

  it('roles: wrong grants and a wrong owner', async () => {
    const name = await database(
      'GRANT UPDATE ON agentry.audit_logs TO agentry_app',
      'GRANT SELECT (key_hash) ON agentry.api_keys TO agentry_app',
      'GRANT CREATE ON SCHEMA agentry TO agentry_app',
      'GRANT INSERT ON agentry.tasks TO agentry_readonly',
      'ALTER TABLE agentry.task_chains OWNER TO CURRENT_USER',
    );
    const { byRule } = await verify(name, '--rule', 'roles', 'drift');
    const roles = byRule.get('roles')!;
    expect(roles.status).toBe('fail');
    expect(roles.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^table task_chains is owned by \w+, not agentry_owner/),
        'agentry_app has CREATE on schema agentry',
        expect.stringMatching(/^agentry_app may UPDATE audit_logs, which the design forbids/),
        expect.stringMatching(/^agentry_app can read api_keys\.key_hash/),
        expect.stringMatching(/^agentry_readonly may INSERT tasks, which the design forbids/),
      ]),
    );
    expect(byRule.get('drift')!.details).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^changed partitioned table audit_logs: acl: \{.*agentry_app=ar\/.* -> \{.*agentry_app=arw\//),
        expect.stringMatching(/^changed schema agentry: acl: /),
        expect.stringMatching(/^changed table task_chains: owner: agentry_owner -> \w+/),
      ]),
    );
  });

  it('workflow-counters and agent-counters: counters corrupted with the triggers disabled', async () => {
    const name = await database(
      withoutTriggers(
        `UPDATE agentry.workflows SET total_tokens_used = 1, completed_tasks = 0 WHERE id = '${W}'`,
        `UPDATE agentry.agents SET total_tasks_failed = 9 WHERE id = 'verify-agent'`,
      ),
    );
    const { byRule } = await verify(name, '--rule', 'workflow-counters', 'agent-counters', 'trust-scores');
    expect(byRule.get('workflow-counters')).toMatchObject({
      status: 'fail',
      details: [`workflow ${W} (verify workflow): completed_tasks 0, counted 1; total_tokens_used 1, counted 157`],
    });
    expect(byRule.get('agent-counters')).toMatchObject({ status: 'fail', details: ['agent verify-agent (verify agent): total_tasks_failed 9, counted 2'] });
    expect(byRule.get('trust-scores')!.status).toBe('pass');
  });

  it('trust-scores: a score moved outside the ledger', async () => {
    const name = await database(withoutTriggers(`UPDATE agentry.agents SET trust_score = 0.9 WHERE id = 'verify-agent'`));
    const { byRule } = await verify(name, '--rule', 'trust-scores');
    expect(byRule.get('trust-scores')).toMatchObject({
      status: 'fail',
      details: [expect.stringMatching(/^agent verify-agent: trust_score 0\.9000, last trust record #\d+ says 0\.5500$/)],
    });
  });

  it('dependency-cycles and parent-cycles: cycles written with the triggers disabled', async () => {
    const name = await database(
      withoutTriggers(
        `INSERT INTO agentry.task_dependencies (task_id, depends_on_id) VALUES ('${T(1)}', '${T(5)}')`,
        `UPDATE agentry.tasks SET parent_task_id = '${T(4)}' WHERE id = '${T(1)}'`,
      ),
    );
    const { byRule } = await verify(name, '--rule', 'dependency-cycles', 'parent-cycles');
    expect(byRule.get('dependency-cycles')).toMatchObject({ status: 'fail', details: [`tasks ${T(1)}, ${T(2)}, ${T(5)}`] });
    expect(byRule.get('parent-cycles')).toMatchObject({ status: 'fail', details: [`tasks ${T(1)}, ${T(4)}`] });
  });

  it('migration-checksums: an applied migration whose recorded checksum no longer matches its file', async () => {
    const name = await database(`UPDATE agentry.pgmigrations_checksums SET sha256 = repeat('0', 64) WHERE name = '1764547202000_access'`);
    const { byRule } = await verify(name, '--rule', 'migration-checksums', 'drift');
    expect(byRule.get('migration-checksums')).toMatchObject({
      status: 'fail',
      details: [expect.stringMatching(/^1764547202000_access: edited since it was applied \(recorded 000000000000…, file [0-9a-f]{12}…\)$/)],
    });
    expect(byRule.get('migration-checksums')!.message).toMatch(/agentry migrate ledger --accept <name>/);
    // The ledger is bookkeeping: drift does not look at it.
    expect(byRule.get('drift')!.status).toBe('pass');
    const without = await database('DROP TABLE agentry.pgmigrations_checksums');
    const skipped = await verify(without, '--rule', 'migration-checksums');
    expect(skipped.byRule.get('migration-checksums')).toMatchObject({ status: 'skip', message: expect.stringMatching(/^no checksum ledger/) });
  });

  it.skipIf(!existsSync(join(repoRoot, 'generated')))('vocabularies: a CHECK list that no longer matches the generated union', async () => {
    const name = await database(
      'ALTER TABLE agentry.user_sessions DROP CONSTRAINT chk_user_sessions_status',
      `ALTER TABLE agentry.user_sessions ADD CONSTRAINT chk_user_sessions_status CHECK (status IN ('active', 'revoked', 'suspended'))`,
      'ALTER TABLE agentry.workers DROP CONSTRAINT chk_workers_status',
    );
    const { byRule } = await verify(name, '--rule', 'vocabularies');
    expect(byRule.get('vocabularies')).toMatchObject({
      status: 'fail',
      details: [
        'user_sessions.status (chk_user_sessions_status): allowed by the CHECK but missing from the union: suspended; in the union but refused by the CHECK: expired',
        'workers.status (workersSchema): generated as a union, but the database has no such CHECK',
      ],
    });
    expect(byRule.get('vocabularies')!.message).toMatch(/regenerate with `agentry types`/);
  });

  it('--skip reports a rule as skipped; a failing rule still fails the run', async () => {
    const name = await database('DROP TRIGGER trg_projects_updated_at ON agentry.projects');
    const { code, result } = await verify(name, '--rule', 'updated-at-triggers', 'primary-keys', '--skip', 'primary-keys');
    expect(code).toBe(1);
    expect(result.results.map((r) => [r.rule, r.status])).toEqual([
      ['primary-keys', 'skip'],
      ['updated-at-triggers', 'fail'],
    ]);
  });
});

describe('agentry verify as a subprocess (built CLI, scratch database for drift)', () => {
  it('exits 0 on the correct database and 1 with a one-line message on a broken one', async () => {
    const ok = await runBin(['--database-url', adminUrl, '--database', correct, 'verify'], { cwd: repoRoot, timeoutMs: 150_000 });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/pass {2}drift +the live schema equals the migrations at head/);

    const broken = await database('ALTER TABLE agentry.tasks ADD COLUMN notes text');
    const bad = await runBin(['--database-url', adminUrl, '--database', broken, '--json', 'verify', '--rule', 'drift'], { cwd: repoRoot, timeoutMs: 150_000 });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).results).toEqual([
      { rule: 'drift', status: 'fail', message: expect.stringMatching(/^1 difference /), details: ['added column tasks.notes'] },
    ]);
    expect(bad.stderr).toMatch(/^agentry: verify failed: 1 of 1 rules \(drift\); fix what each message says\n$/);
    // Two processes each migrate a scratch database for the drift rule: slow on a loaded 2-core machine
    // (in CI the 100,000-task load test runs beside it).
  }, 330_000);
});

describe('building blocks', () => {
  it('findCycles: strongly connected components and self loops, deep chains without recursion', () => {
    expect(findCycles([['a', 'b'], ['b', 'c']])).toEqual([]);
    expect(findCycles([['a', 'b'], ['b', 'a'], ['c', 'c'], ['d', 'a']])).toEqual([['a', 'b'], ['c']]);
    const chain = Array.from({ length: 20_000 }, (_, i) => [`n${i}`, `n${i + 1}`] as const);
    expect(findCycles(chain)).toEqual([]);
    expect(findCycles([...chain, ['n20000', 'n0']])[0]).toHaveLength(20_001);
  });

  it('normalizeForDrift: monthly partitions differ by month only, bookkeeping is ignored', () => {
    const partition = (month: string) => ({ name: `audit_logs_${month}`, kind: 'r', is_partition: true, parents: 'audit_logs', partition_bound: month });
    const a: Snapshot = { relations: [partition('y2026m01'), partition('y2026m02'), { name: 'pgmigrations', kind: 'r' }] };
    const b: Snapshot = { relations: [partition('y2027m05')] };
    expect(normalizeForDrift(a)).toEqual(normalizeForDrift(b));
    expect(diffSnapshots(a, b)).toEqual([]);
    const c: Snapshot = { relations: [partition('y2027m05'), { ...partition('y2027m06'), kind: 'p' }] };
    expect(diffSnapshots(a, c)).toEqual([{ kind: 'added', section: 'relations', object: 'partitioned table audit_logs_yYYYYmMM' }]);
  });
});
