import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { taskStatusSchema } from '../../generated/agentry/TaskStatus.js';
import { runSeed, type SeedResult } from '../../src/commands/seed.js';
import { runVerify } from '../../src/commands/verify.js';
import { createDatabase, dropDatabase, withClient } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import { demoCounts } from '../../src/seed/demo/plan.js';
import { contentDigest } from '../../src/seed/digest.js';
import { AGENT_TYPES, TASK_STATUS_TRANSITIONS, TASK_TYPES } from '../../src/seed/reference.js';
import { repoRoot, runCli, type CliResult } from '../helpers/cli.js';
import '../setup/context.js';

// `agentry seed`: the reference rows (equal to what the migrations insert,
// restored when changed, idempotent) and the demo dataset at a small scale,
// in clones of the migrated template. Each demo database is seeded with the
// same --as-of, so datasets of the same seed must be equal row for row.

const AS_OF = '2026-06-15';
const SCALE = 0.01;
const DATA_RULES = ['dependency-cycles', 'parent-cycles', 'workflow-counters', 'agent-counters', 'trust-scores'];

let adminUrl = '';
const created: string[] = [];

async function freshDatabase(): Promise<string> {
  const name = `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await createDatabase(adminUrl, name, { template: inject('agentryTemplateDb') });
  created.push(name);
  return name;
}

const urlOf = (name: string): string => withDatabase(adminUrl, name);
const cli = (name: string, ...args: string[]): Promise<CliResult> => runCli(['--database-url', adminUrl, '--database', name, ...args]);

async function query<T extends pg.QueryResultRow>(name: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withClient(urlOf(name), async (client) => (await client.query<T>(sql, params)).rows);
}

async function digest(name: string): Promise<string> {
  return withClient(urlOf(name), async (client) => (await contentDigest(client)).digest);
}

async function seedDemo(name: string, demo: Partial<NonNullable<Parameters<typeof runSeed>[0]['demo']>> = {}): Promise<SeedResult> {
  return runSeed({ databaseUrl: urlOf(name), demo: { scale: SCALE, asOf: AS_OF, ...demo } });
}

/** `node --import tsx src/cli/dev.ts ...`: the CLI from source in a real subprocess. */
function spawnCli(args: string[], env: Record<string, string> = {}) {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'DATABASE_URL' || key.startsWith('AGENTRY_')) continue;
    childEnv[key] = value;
  }
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(repoRoot, 'src/cli/dev.ts'), ...args], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code: code ?? -1, signal, stdout, stderr }));
  });
  return { child, done };
}

beforeAll(() => {
  adminUrl = inject('agentryAdminUrl');
});

afterAll(async () => {
  for (const name of created.splice(0)) await dropDatabase(adminUrl, name);
});

describe('reference data', () => {
  it('src/seed/reference.ts equals what the migrations insert', async () => {
    const db = await freshDatabase();
    const agentTypes = await query<{ name: string; description: string }>(db, 'SELECT name, description FROM agentry.agent_types ORDER BY name');
    expect(agentTypes).toEqual([...AGENT_TYPES].map((t) => ({ name: t.name, description: t.description })).sort((a, b) => (a.name < b.name ? -1 : 1)));
    const taskTypes = await query(
      db,
      `SELECT name, description, agent_type AS "agentType", avg_complexity::text AS "avgComplexity",
              avg_duration_seconds::text AS "avgDurationSeconds", required_input_keys AS "requiredInputKeys"
         FROM agentry.task_types ORDER BY name`,
    );
    expect(taskTypes).toEqual([...TASK_TYPES].map((t) => ({ ...t, requiredInputKeys: [...t.requiredInputKeys] })).sort((a, b) => (a.name < b.name ? -1 : 1)));
    const transitions = await query(db, `SELECT from_status AS "from", to_status AS "to", description FROM agentry.task_status_transitions ORDER BY 1, 2`);
    expect(transitions).toEqual([...TASK_STATUS_TRANSITIONS].sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1)));
  });

  it('seed restores changed and missing rows, reports them, keeps extra rows, and a second run changes nothing', async () => {
    const db = await freshDatabase();
    const first = await cli(db, '--json', 'seed');
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as SeedResult).reference).toMatchObject({ applied: true, changed: false, changes: [] });

    await withClient(urlOf(db), async (client) => {
      await client.query(`UPDATE agentry.task_types SET description = 'edited', required_input_keys = '{}' WHERE name = 'translation'`);
      await client.query(`UPDATE agentry.agent_types SET description = 'edited' WHERE name = 'archon'`);
      await client.query(`DELETE FROM agentry.task_status_transitions WHERE from_status = 'failed' AND to_status = 'retrying'`);
      await client.query(`INSERT INTO agentry.task_types (name, description, agent_type) VALUES ('house_cleaning', 'ours', 'CodeAgent')`);
    });

    const check = await cli(db, 'seed', '--check');
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('task_types: restored translation (description, required_input_keys) (not written: --check)');
    expect(check.stderr).toBe("agentry: reference data differs from the shipped values in 3 row(s); `agentry seed` restores them\n");
    expect(await query(db, `SELECT description FROM agentry.agent_types WHERE name = 'archon'`)).toEqual([{ description: 'edited' }]);

    const restore = await cli(db, 'seed');
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toContain('Reference data: 3 of 56 rows restored:');
    expect(restore.stdout).toContain('agent_types: restored archon (description)');
    expect(restore.stdout).toContain('task_status_transitions: inserted failed->retrying');
    expect(restore.stdout).toContain('task_types: 1 row(s) beyond the shipped ones kept: house_cleaning');
    expect(await query(db, `SELECT required_input_keys FROM agentry.task_types WHERE name = 'translation'`)).toEqual([
      { required_input_keys: ['text', 'source_lang', 'target_lang'] },
    ]);

    const again = await cli(db, '--json', 'seed', '--check');
    expect(again.code, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as SeedResult;
    expect(result.reference.changed).toBe(false);
    expect(result.reference.tables.map((t) => [t.table, t.rows, t.unchanged])).toEqual([
      ['agent_types', 10, 10],
      ['task_types', 17, 17],
      ['task_status_transitions', 29, 29],
    ]);
  });
});

describe('demo data', () => {
  let first = '';
  let firstDigest = '';
  let firstResult: SeedResult;

  beforeAll(async () => {
    first = await freshDatabase();
    firstResult = await seedDemo(first);
    firstDigest = await digest(first);
  });

  it('inserts the counts of its scale, and every table gets rows', async () => {
    const counts = demoCounts(SCALE);
    const demo = firstResult.demo!;
    expect(demo.action).toBe('seeded');
    expect(demo.counts).toEqual(counts);
    expect(demo.rows).toMatchObject({
      tasks: counts.tasks,
      agent_metrics: counts.agentMetrics,
      activity_logs: counts.activityLogs,
      audit_logs: counts.auditLogs,
      users: counts.users,
      api_keys: counts.apiKeys,
      user_sessions: counts.userSessions,
      rate_limit_windows: counts.rateLimitWindows,
      workers: counts.workers,
      agents: counts.agents,
      agent_capabilities: counts.agentCapabilities,
      projects: counts.projects,
      plans: counts.plans,
      task_chains: counts.taskChains,
      task_templates: counts.taskTemplates,
      scheduled_tasks: counts.scheduledTasks,
      workflows: counts.workflows,
      agent_sessions: counts.agentSessions,
      context_vectors: counts.agentSessions,
      webhooks: counts.webhooks,
      webhook_deliveries: counts.webhookDeliveries,
    });
    for (const [table, n] of Object.entries(demo.rows)) expect(n, table).toBeGreaterThan(0);
    // The database agrees with the report.
    const [row] = await query<{ tasks: string; metrics: string }>(
      first,
      'SELECT (SELECT count(*) FROM agentry.tasks) AS tasks, (SELECT count(*) FROM agentry.agent_metrics) AS metrics',
    );
    expect(row).toEqual({ tasks: String(counts.tasks), metrics: String(counts.agentMetrics) });
  });

  it('has tasks in every status, checkpoints in every decision state, DAGs, subtask trees and network agents', async () => {
    const statuses = await query<{ status: string }>(first, 'SELECT DISTINCT status::text AS status FROM agentry.tasks ORDER BY 1');
    expect(statuses.map((r) => r.status)).toEqual([...taskStatusSchema.options].sort());
    const decisions = await query<{ status: string }>(first, 'SELECT DISTINCT status FROM agentry.checkpoints ORDER BY 1');
    expect(decisions.map((r) => r.status)).toEqual(['approved', 'corrected', 'pending_review', 'rejected']);
    const [shape] = await query<Record<string, string>>(
      first,
      `SELECT (SELECT count(*) FROM agentry.task_dependencies)::text AS edges,
              (SELECT count(*) FROM agentry.tasks WHERE parent_task_id IS NOT NULL)::text AS subtasks,
              (SELECT count(*) FROM agentry.agents WHERE endpoint IS NOT NULL AND public_key IS NOT NULL AND signature IS NOT NULL)::text AS network,
              (SELECT count(*) FROM agentry.knowledge_entries WHERE previous_version_id IS NOT NULL)::text AS versions,
              (SELECT count(*) FROM agentry.corrections)::text AS corrections,
              (SELECT count(*) FROM agentry.learning_experiences)::text AS lessons,
              (SELECT count(*) FROM agentry.evaluations)::text AS evaluations,
              (SELECT count(*) FROM agentry.trust_records)::text AS trust,
              (SELECT count(DISTINCT status) FROM agentry.workflows WHERE workflow_type <> 'agentry_demo')::text AS workflow_states,
              (SELECT count(*) FROM agentry.api_keys WHERE octet_length(key_hash) = 32)::text AS hashed_keys,
              (SELECT count(*) FROM agentry.user_sessions WHERE octet_length(token_hash) = 32)::text AS hashed_tokens`,
    );
    for (const [what, n] of Object.entries(shape!)) expect(Number(n), what).toBeGreaterThan(0);
    expect(Number(shape!.hashed_keys)).toBe(demoCounts(SCALE).apiKeys);
    // Cancellation fields only on cancelled tasks, retries within their limit, timestamps in order: CHECKs, and the rows went in.
    const [cancelled] = await query<{ n: string }>(first, `SELECT count(*) AS n FROM agentry.tasks WHERE status = 'cancelled' AND cancelled_at IS NOT NULL`);
    expect(Number(cancelled!.n)).toBeGreaterThan(0);
  });

  it("holds verify's data rules: counters equal counted rows, trust scores equal the last record, no cycles", async () => {
    const result = await runVerify({ databaseUrl: urlOf(first), rules: DATA_RULES });
    expect(result.results.map((r) => [r.rule, r.status, r.details])).toEqual(DATA_RULES.map((rule) => [rule, 'pass', []]));
  });

  it('spreads telemetry over monthly partitions created for the whole range, none in the default partitions', async () => {
    const rows = await query<{ parent: string; part: string; n: string }>(
      first,
      `SELECT p.relname AS parent, c.relname AS part, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM agentry.%I', c.relname), false, true, '')))[1]::text AS n
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('agent_metrics', 'activity_logs', 'audit_logs') ORDER BY 1, 2`,
    );
    for (const parent of ['agent_metrics', 'activity_logs', 'audit_logs']) {
      const parts = rows.filter((r) => r.parent === parent);
      expect(parts.find((r) => r.part === `${parent}_default`)?.n, parent).toBe('0');
      // Six months of history up to 2026-06-15: December to June.
      for (const month of ['y2025m12', 'y2026m01', 'y2026m03', 'y2026m06']) {
        expect(Number(parts.find((r) => r.part === `${parent}_${month}`)?.n), `${parent}_${month}`).toBeGreaterThan(0);
      }
    }
  });

  it('the same seed gives the same content in another database, whatever the batch size and connections; another seed does not', async () => {
    const same = await freshDatabase();
    await seedDemo(same, { jobs: 1, batchSize: 32 });
    expect(await digest(same)).toBe(firstDigest);
    const other = await freshDatabase();
    await seedDemo(other, { seed: 2 });
    expect(await digest(other)).not.toBe(firstDigest);
  }, 120_000);

  it('a re-run changes nothing; other arguments replace the data and going back converges to the same content', async () => {
    const db = await freshDatabase();
    await seedDemo(db);
    const rerun = await seedDemo(db);
    expect(rerun.demo).toMatchObject({ action: 'unchanged', phases: [], removal: null });
    expect(await digest(db)).toBe(firstDigest);

    const seed2 = await seedDemo(db, { seed: 2, scale: 0.02 });
    expect(seed2.demo).toMatchObject({ action: 'seeded', auditSkipped: true });
    expect(seed2.demo!.removal!.removed.tasks).toBe(demoCounts(SCALE).tasks);
    expect(seed2.demo!.rows.tasks).toBe(demoCounts(0.02).tasks);
    // audit_logs is append-only: the first dataset's audit rows stay, and with them its users and API keys.
    expect(seed2.demo!.rows.audit_logs).toBe(demoCounts(SCALE).auditLogs);
    expect((await runVerify({ databaseUrl: urlOf(db), rules: DATA_RULES })).ok).toBe(true);

    const back = await seedDemo(db);
    expect(back.demo).toMatchObject({ action: 'seeded', auditSkipped: true });
    expect(await digest(db)).toBe(firstDigest);
    const reset = await seedDemo(db, { reset: true });
    expect(reset.demo!.removal!.mode).toBe('truncate');
    expect(await digest(db)).toBe(firstDigest);
  }, 120_000);

  it('beside other data, removes only demo rows (deleting them) and keeps the counters of the rest right', async () => {
    const db = await freshDatabase();
    await withClient(urlOf(db), async (client) => {
      await client.query(`INSERT INTO agentry.agents (id, name) VALUES ('ours-1', 'our agent')`);
      await client.query(`INSERT INTO agentry.workflows (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'our workflow')`);
      await client.query(`INSERT INTO agentry.tasks (title, workflow_id, agent_id, status, tokens_used) VALUES
                            ('ours a', '00000000-0000-4000-8000-000000000001', 'ours-1', 'completed', 10),
                            ('ours b', '00000000-0000-4000-8000-000000000001', NULL, 'pending', 0)`);
    });
    await seedDemo(db);
    const again = await seedDemo(db, { seed: 3 });
    expect(again.demo!.removal!.mode).toBe('delete');
    const ours = await query(db, `SELECT total_tasks, completed_tasks FROM agentry.workflows WHERE id = '00000000-0000-4000-8000-000000000001'`);
    expect(ours).toEqual([{ total_tasks: 2, completed_tasks: 1 }]);
    expect(await query(db, `SELECT count(*)::int AS n FROM agentry.tasks WHERE title LIKE 'ours %'`)).toEqual([{ n: 2 }]);
    expect((await runVerify({ databaseUrl: urlOf(db), rules: DATA_RULES })).ok).toBe(true);
  }, 120_000);

  it('a run killed midway (SIGKILL) is finished by the next run, with the same content', async () => {
    // Big enough (500 tasks in batches of 32) for the kill to land in the middle of the tasks phase.
    const scale = 0.05;
    const reference = await freshDatabase();
    await seedDemo(reference, { scale });
    const db = await freshDatabase();
    const run = spawnCli(['seed', '--demo', '--scale', String(scale), '--as-of', AS_OF, '--batch-size', '32', '--jobs', '1'], {
      DATABASE_URL: adminUrl,
      AGENTRY_DATABASE: db,
    });
    await withClient(urlOf(db), async (client) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { rows } = await client.query<{ done: number[] | null }>(
          `SELECT metadata #> '{agentry_demo_manifest,done,tasks}' AS done FROM agentry.workflows WHERE workflow_type = 'agentry_demo'`,
        );
        if ((rows[0]?.done?.length ?? 0) >= 2) break;
        if (Date.now() > deadline) throw new Error('the seed subprocess never reached the tasks phase');
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const [partial] = await query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM agentry.tasks');
    expect(partial!.n).toBeGreaterThan(0);
    expect(partial!.n).toBeLessThan(demoCounts(scale).tasks);

    const resumed = await seedDemo(db, { scale });
    expect(resumed.demo!.action).toBe('resumed');
    expect(resumed.demo!.phases.find((p) => p.phase === 'tasks')!.resumed).toBeGreaterThanOrEqual(2);
    expect(await digest(db)).toBe(await digest(reference));
    expect((await runVerify({ databaseUrl: urlOf(db), rules: DATA_RULES })).ok).toBe(true);
  }, 120_000);

  it('refuses to run beside another demo run on the same database', async () => {
    const db = await freshDatabase();
    await withClient(urlOf(db), async (client) => {
      // The lock a running `agentry seed --demo` holds.
      await client.query('SELECT pg_advisory_lock(7310309436771263844)');
      await expect(seedDemo(db)).rejects.toThrow('another agentry seed --demo is running on this database');
    });
    expect((await seedDemo(db)).demo!.action).toBe('seeded');
  });

  it('runs as a subprocess with --json (exit 0) and prints the summary', async () => {
    const db = await freshDatabase();
    const { done } = spawnCli(['--json', 'seed', '--demo', '--scale', String(SCALE), '--as-of', AS_OF, '--digest'], {
      DATABASE_URL: adminUrl,
      AGENTRY_DATABASE: db,
    });
    const result = await done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as SeedResult;
    expect(json.database).toMatch(new RegExp(`/${db}$`));
    expect(json.demo).toMatchObject({ action: 'seeded', args: { scale: SCALE, seed: 1, months: 6, asOf: AS_OF } });
    expect(json.digest!.digest).toBe(firstDigest);
  }, 60_000);
});

describe('usage', () => {
  it('exits 2 with one line on bad arguments and a missing database', async () => {
    for (const [args, message] of [
      [['seed', '--scale', '1'], /^agentry: --scale applies to the demo data: add --demo\n$/],
      [['seed', '--demo', '--scale', '0'], /--scale must be between 0\.005 and 1000, not 0/],
      [['seed', '--demo', '--scale', 'big'], /--scale expects a number such as 1 or 0\.01, not "big"/],
      [['seed', '--demo', '--as-of', '2999-01-01'], /as of 2999-01-01 is in the future/],
      [['seed', '--check', '--demo'], /--check compares the reference data only/],
      [['seed'], /^agentry: cannot connect to .*database "agentry_test_nowhere" does not exist \(`agentry demo` creates it; or pick one with --database\)\n$/],
    ] as const) {
      const run = await cli('agentry_test_nowhere', ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
