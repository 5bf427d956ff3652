import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { migrateUp } from '../../src/commands/migrate.js';
import { runSeed, type SeedResult } from '../../src/commands/seed.js';
import type { Model } from '../../src/seed/demo/model.js';
import type { Phase } from '../../src/seed/demo/phases.js';
import { runPhases } from '../../src/seed/demo/runner.js';
import { runVerify } from '../../src/commands/verify.js';
import { createDatabase, dropDatabase, withClient } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import { contentDigest, type ContentDigest } from '../../src/seed/digest.js';
import { runBin } from '../helpers/cli.js';
import { recordFigures } from '../helpers/figures.js';
import { tempDir } from '../helpers/fs.js';
import { backendsOn, quietPool, spawnBin, waitFor } from './support/faults.js';
import '../setup/context.js';

// `agentry seed --demo --scale 0.2` (2,000 tasks, 20,000 metric rows, 188
// batches at --batch-size 100) as a real subprocess, interrupted again and
// again: SIGKILL at three points of the run (each re-run resumes and gets
// further), then one of its connections terminated by the server in the middle
// of a batch. The last run completes, and the data equals, table by table, that
// of one uninterrupted run (default batch size) into another clone of the same
// template. test/cli/seed.test.ts kills a scale-0.05 run once, in-process
// resume; this is the binary, many faults, and a larger dataset.

const SCALE = '0.2';
const AS_OF = '2026-06-15';
const SEED_ARGS = ['seed', '--demo', '--scale', SCALE, '--as-of', AS_OF];
/** The killed runs: small batches (many commit points), two connections. */
const INTERRUPTED_ARGS = [...SEED_ARGS, '--batch-size', '100', '--jobs', '2'];
const DATA_RULES = ['dependency-cycles', 'parent-cycles', 'workflow-counters', 'agent-counters', 'trust-scores'];

let adminUrl = '';
let cwd = '';
let admin: pg.Pool;
const created: string[] = [];

const figures = {
  seedRuns: 0,
  sigkills: 0,
  backendTerminations: 0,
  batchesDoneBeforeEachFault: '',
  batchesResumed: 0,
  tasksSeeded: 0,
  metricRowsSeeded: 0,
  tablesCompared: 0,
  tablesDiffering: 0,
  rowsLost: 0,
  separatelyMigratedDigestsEqual: false,
  wallSeconds: 0,
};

async function freshDatabase(): Promise<string> {
  const name = `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await createDatabase(adminUrl, name, { template: inject('agentryTemplateDb') });
  created.push(name);
  return name;
}

beforeAll(async () => {
  adminUrl = inject('agentryAdminUrl');
  cwd = await tempDir('agentry-faults-seed-');
  admin = quietPool(adminUrl);
});

afterAll(async () => {
  await admin?.end();
  for (const name of created.splice(0)) await dropDatabase(adminUrl, name);
  recordFigures('faults-seed', figures);
});

const env = (database: string) => ({ DATABASE_URL: adminUrl, AGENTRY_DATABASE: database });

/** Batches recorded as done in the demo manifest (each commits with its batch), and its state; null before it exists. */
async function manifestOf(client: pg.Client): Promise<{ state: string; done: number } | null> {
  const { rows } = await client.query<{ state: string; done: Record<string, number[]> | null }>(
    `SELECT metadata #>> '{agentry_demo_manifest,state}' AS state, metadata #> '{agentry_demo_manifest,done}' AS done
       FROM agentry.workflows WHERE workflow_type = 'agentry_demo'`,
  );
  const row = rows[0];
  if (!row) return null;
  return { state: row.state, done: Object.values(row.done ?? {}).reduce((n, batches) => n + batches.length, 0) };
}

describe('agentry seed --demo interrupted again and again', () => {
  it('SIGKILL three times and a terminated connection once; the next run completes with the data of an uninterrupted run', async () => {
    const started = performance.now();
    const [reference, db] = [await freshDatabase(), await freshDatabase()];

    const clean = await runBin(['--json', ...SEED_ARGS, '--digest'], { cwd, env: env(reference), timeoutMs: 150_000 });
    figures.seedRuns += 1;
    expect(clean.code, clean.stderr).toBe(0);
    const cleanResult = JSON.parse(clean.stdout) as SeedResult;
    expect(cleanResult.demo!.action).toBe('seeded');

    const watcher = new pg.Client({ connectionString: withDatabase(adminUrl, db) });
    watcher.on('error', () => undefined);
    await watcher.connect();
    const beforeFaults: number[] = [];
    try {
      // Each fault lands once the manifest records this many batches (of 188): in the tasks, then
      // among their dependencies, trust rounds and metrics; the analyze batches (29) come last.
      for (const [i, threshold] of [20, 60, 100, 130].entries()) {
        const run = spawnBin(INTERRUPTED_ARGS, { cwd, env: env(db) });
        figures.seedRuns += 1;
        let manifest: { state: string; done: number } | null = null;
        await waitFor(
          () => `${threshold} batches done (manifest: ${JSON.stringify(manifest)}, stderr: ${run.output().stderr})`,
          async () => {
            if (run.child.exitCode !== null) throw new Error(`the seed exited before the fault (${run.child.exitCode}): ${run.output().stderr}`);
            manifest = await manifestOf(watcher);
            return manifest !== null && manifest.state === 'seeding' && manifest.done >= threshold;
          },
          120_000,
          10,
        );
        beforeFaults.push((manifest as { done: number } | null)!.done);
        if (i < 3) {
          run.child.kill('SIGKILL');
          figures.sigkills += 1;
          expect((await run.done).signal).toBe('SIGKILL');
        } else {
          // One of its two connections while it runs a statement (a batch, or the VACUUM after one): the server ends that session.
          // Not the run's first session (it holds the seed lock and writes the manifest around the phases).
          let pid = 0;
          await waitFor('a seeding connection in the middle of a batch', async () => {
            pid = (await backendsOn(admin, db, 'agentry seed')).slice(1).find((b) => b.state === 'active')?.pid ?? 0;
            return pid !== 0;
          });
          await admin.query('SELECT pg_terminate_backend($1)', [pid]);
          figures.backendTerminations += 1;
          const failed = await run.done;
          expect(failed.signal).toBeNull();
          expect(failed.code).toBe(1);
          expect(failed.stdout).toBe('');
          expect(failed.stderr).toMatch(/^agentry: demo seed failed in phase [a-z-]+, batch \d+ of \d+: terminating connection due to administrator command\n$/);
        }
        // What the interrupted run committed is recorded, and nothing it did not record is lost or doubled:
        // the manifest never goes back, and the dataset is still "seeding".
        const after = await manifestOf(watcher);
        expect(after!.state).toBe('seeding');
        expect(after!.done).toBeGreaterThanOrEqual(beforeFaults[i]!);
      }
    } finally {
      await watcher.end();
    }
    figures.batchesDoneBeforeEachFault = beforeFaults.join(', ');

    const resumed = await runBin(['--json', ...INTERRUPTED_ARGS, '--digest'], { cwd, env: env(db), timeoutMs: 150_000 });
    figures.seedRuns += 1;
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = JSON.parse(resumed.stdout) as SeedResult;
    expect(result.demo!.action).toBe('resumed');
    figures.batchesResumed = result.demo!.phases.reduce((n, p) => n + p.resumed, 0);
    // Most of the work was done by the interrupted runs: at least what the last fault saw recorded.
    expect(figures.batchesResumed).toBeGreaterThanOrEqual(beforeFaults.at(-1)!);

    // The same data as the uninterrupted run, table by table (content columns; row counts included).
    const [mine, theirs] = await Promise.all([
      withClient(withDatabase(adminUrl, db), (client) => contentDigest(client)),
      withClient(withDatabase(adminUrl, reference), (client) => contentDigest(client)),
    ]);
    figures.tablesCompared = Object.keys(theirs.tables).length;
    const differing = Object.keys(theirs.tables).filter((t) => JSON.stringify(mine.tables[t]) !== JSON.stringify(theirs.tables[t]));
    figures.tablesDiffering = differing.length;
    figures.rowsLost = Object.keys(theirs.tables).reduce((n, t) => n + Math.max(0, theirs.tables[t]!.rows - (mine.tables[t]?.rows ?? 0)), 0);
    expect(differing).toEqual([]);
    expect(mine.digest).toBe(theirs.digest);
    // What the binary prints with --digest agrees (both runs are the built dist/).
    expect(result.digest!.digest).toBe(cleanResult.digest!.digest);
    figures.tasksSeeded = mine.tables['tasks']!.rows;
    figures.metricRowsSeeded = mine.tables['agent_metrics']!.rows;
    expect(figures.tasksSeeded).toBe(2000);

    const verify = await runVerify({ databaseUrl: withDatabase(adminUrl, db), rules: DATA_RULES });
    expect(verify.ok, JSON.stringify(verify)).toBe(true);
    // No seeding session is left behind.
    expect(await backendsOn(admin, db, 'agentry seed')).toEqual([]);
    figures.wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  }, 240_000);
});

describe('a seeding connection ended by the server between two statements', () => {
  it('reports the server\'s reason (57P01), not the driver\'s "not queryable" that the next statement meets', async () => {
    const db = await freshDatabase();
    let backend = 0;
    const phase: Phase = {
      name: 'probe',
      after: [],
      parallel: false,
      batches: () => 2,
      run: async (ctx) => {
        backend = (await ctx.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        return 1;
      },
      // After batch 1 commits, the server ends this session while it is idle; batch 2 then starts on it.
      afterCommit: async (ctx, batch) => {
        if (batch !== 0) return;
        const lost = new Promise<void>((resolve) => ctx.client.once('error', () => resolve()));
        await admin.query('SELECT pg_terminate_backend($1)', [backend]);
        await lost;
      },
    };
    const run = runPhases({ databaseUrl: withDatabase(adminUrl, db), model: {} as Model, phases: [phase], done: {}, skip: [], jobs: 1, onProgress: () => undefined });
    await expect(run).rejects.toThrow(/^demo seed failed in phase probe, batch 2 of 2: terminating connection due to administrator command$/);
  });
});

describe('comparing datasets across databases', () => {
  it('the same demo data in two databases migrated at different times has the same digest (migration-time stamps are not content)', async () => {
    // The template clones above share every stamp; a clean run "into another database" often does not.
    const [cloned, migrated] = [await freshDatabase(), `agentry_test_${process.pid}_${randomBytes(4).toString('hex')}`];
    await createDatabase(adminUrl, migrated);
    created.push(migrated);
    await new Promise((resolve) => setTimeout(resolve, 20)); // a later now() than the template's
    await migrateUp({ databaseUrl: withDatabase(adminUrl, migrated), lint: false });
    const digests: ContentDigest[] = [];
    for (const name of [cloned, migrated]) {
      const result = await runSeed({ databaseUrl: withDatabase(adminUrl, name), demo: { scale: 0.01, asOf: AS_OF }, digest: true });
      expect(result.demo!.action).toBe('seeded');
      digests.push(result.digest!);
    }
    const differing = Object.keys(digests[0]!.tables).filter((t) => JSON.stringify(digests[0]!.tables[t]) !== JSON.stringify(digests[1]!.tables[t]));
    expect(differing).toEqual([]);
    expect(digests[0]!.digest).toBe(digests[1]!.digest);
    figures.separatelyMigratedDigestsEqual = true;
  }, 60_000);
});
