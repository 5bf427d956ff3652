import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { withCatalogClient } from '../../src/catalog/session.js';
import { catalogSnapshot, type Snapshot } from '../../src/catalog/snapshot.js';
import { migrateUp, type MigrateRunResult } from '../../src/commands/migrate.js';
import { migrationChecksum } from '../../src/migrate/sql.js';
import { bookkeeping, emptyDatabase, type EmptyDatabase } from '../cli/migrate-support.js';
import { repoRoot, runBin } from '../helpers/cli.js';
import { recordFigures } from '../helpers/figures.js';
import { tempDir } from '../helpers/fs.js';
import { cleanMigration, tempMigrationsDir } from '../helpers/migrations.js';
import { backendsOn, quietPool, spawnBin, waitFor, type Spawned } from './support/faults.js';

// `agentry migrate up` under faults, as real subprocesses (node bin/agentry.js)
// on fresh empty databases: several runs at once, a run killed (SIGKILL) in the
// middle of a migration, and a run whose server session is terminated
// (pg_terminate_backend) in the middle of one. The migrations folder is a copy
// of the shipped migrations/ plus three of the test's own; the middle one
// creates a table, writes a row, then waits at a "gate" (an advisory lock the
// test holds) before its last statement, so "in the middle" is a state the
// test sees in pg_stat_activity, not a guess at a timing.

const GATE_KEY = '7100420000000042';
const FAST = '1800000000000_faults_fast';
const GATE = '1800000000001_faults_gate';
const AFTER = '1800000000002_faults_after';

const OWN: Record<string, string> = {
  [`${FAST}.sql`]: cleanMigration(
    'CREATE TABLE agentry.faults_fast (id bigint PRIMARY KEY);',
    'DROP TABLE agentry.faults_fast;',
  ),
  // Not cleanMigration: its lock_timeout (5 s) would end the wait at the gate
  // before a loaded machine has run the test's steps.
  [`${GATE}.sql`]: [
    '-- Up Migration',
    "SET LOCAL lock_timeout = '2min';",
    "SET LOCAL statement_timeout = '2min';",
    'CREATE TABLE agentry.faults_gate (id bigint PRIMARY KEY, note text NOT NULL);',
    "INSERT INTO agentry.faults_gate (id, note) VALUES (1, 'written before the gate');",
    '-- Waits while the test holds the gate (an advisory lock of its own session).',
    `SELECT pg_advisory_xact_lock(${GATE_KEY});`,
    'ALTER TABLE agentry.faults_gate ADD COLUMN after_gate boolean;',
    '',
    '-- Down Migration',
    "SET LOCAL lock_timeout = '5s';",
    "SET LOCAL statement_timeout = '1min';",
    'DROP TABLE agentry.faults_gate;',
    '',
  ].join('\n'),
  [`${AFTER}.sql`]: cleanMigration('CREATE TABLE agentry.faults_after (id bigint PRIMARY KEY);', 'DROP TABLE agentry.faults_after;'),
};

let dir = '';
let cwd = '';
let shipped: string[] = [];
let all: string[] = [];
/** name -> sha256 of the file, as the ledger must hold it. */
const checksums = new Map<string, string>();
/** The catalog at "the previous version" (shipped + FAST) and at head, from a reference database migrated in this process. */
let beforeGate: Snapshot = {};
let atHead: Snapshot = {};
let admin: pg.Pool;

const figures = {
  processesRun: 0,
  concurrentRuns: 0,
  runsThatWaited: 0,
  lockRefusals: 0,
  sigkills: 0,
  backendTerminations: 0,
  migrationsApplied: 0,
  doubleApplies: 0,
  partialMigrationsLeft: 0,
  ledgerDisagreements: 0,
};

beforeAll(async () => {
  cwd = await tempDir('agentry-faults-cwd-');
  dir = await tempMigrationsDir(OWN);
  shipped = (await readdir(join(repoRoot, 'migrations'))).filter((f) => f.endsWith('.sql')).sort();
  for (const file of shipped) await copyFile(join(repoRoot, 'migrations', file), join(dir, file));
  shipped = shipped.map((f) => f.replace(/\.sql$/, ''));
  all = [...shipped, FAST, GATE, AFTER];
  for (const name of all) checksums.set(name, migrationChecksum(await readFile(join(dir, `${name}.sql`), 'utf8')));
  admin = quietPool(inject('agentryAdminUrl'));

  const reference = await emptyDatabase();
  await migrateUp({ databaseUrl: reference.url, migrationsDir: dir, count: shipped.length + 1, lint: false });
  beforeGate = await snapshotOf(reference);
  await migrateUp({ databaseUrl: reference.url, migrationsDir: dir, lint: false });
  atHead = await snapshotOf(reference);
});

afterAll(async () => {
  await admin?.end();
  recordFigures('faults-migrate', figures);
});

const snapshotOf = (db: EmptyDatabase): Promise<Snapshot> => withCatalogClient(db.url, (client) => catalogSnapshot(client));

function up(db: EmptyDatabase, ...args: string[]): Spawned {
  figures.processesRun += 1;
  return spawnBin([...db.args(dir), ...args], { cwd });
}

function upAndWait(db: EmptyDatabase, ...args: string[]) {
  figures.processesRun += 1;
  return runBin([...db.args(dir), ...args], { cwd, timeoutMs: 60_000 });
}

/**
 * pgmigrations and the ledger name exactly `names`, in order, each once, each
 * with the checksum of its file: the two tables agree.
 */
async function expectApplied(db: EmptyDatabase, names: string[]): Promise<void> {
  const rows = await bookkeeping(db);
  const disagreements = rows.filter((r) => r.name === null || r.sha256 !== checksums.get(r.name));
  figures.ledgerDisagreements += disagreements.length;
  expect(disagreements).toEqual([]);
  const counts = await db.query<{ name: string; n: number }>('SELECT name, count(*)::int AS n FROM agentry.pgmigrations GROUP BY name HAVING count(*) > 1');
  figures.doubleApplies += counts.length;
  expect(counts).toEqual([]);
  expect(rows.map((r) => r.name)).toEqual(names);
}

/** The gate's own table: absent at the previous version, complete (with the column added after the gate) at head. */
async function gateTable(db: EmptyDatabase): Promise<{ exists: boolean; rows?: number; afterGate?: boolean }> {
  const [found] = await db.query<{ t: string | null }>("SELECT to_regclass('agentry.faults_gate')::text AS t");
  if (!found?.t) return { exists: false };
  const [count] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM agentry.faults_gate');
  const [column] = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'agentry.faults_gate'::regclass AND attname = 'after_gate' AND NOT attisdropped",
  );
  return { exists: true, rows: count!.n, afterGate: column!.n === 1 };
}

async function expectPreviousVersion(db: EmptyDatabase): Promise<void> {
  await expectApplied(db, [...shipped, FAST]);
  const gate = await gateTable(db);
  if (gate.exists) figures.partialMigrationsLeft += 1;
  expect(gate).toEqual({ exists: false });
  expect(await snapshotOf(db)).toEqual(beforeGate);
}

async function expectHead(db: EmptyDatabase): Promise<void> {
  await expectApplied(db, all);
  expect(await gateTable(db)).toEqual({ exists: true, rows: 1, afterGate: true });
  expect(await snapshotOf(db)).toEqual(atHead);
}

/** Holds the gate: a session of the test's own that has the advisory lock the GATE migration waits for. */
async function closeGate(db: EmptyDatabase): Promise<{ open(): Promise<void> }> {
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('SELECT pg_advisory_lock($1::bigint)', [GATE_KEY]);
  let opened = false;
  return {
    async open() {
      if (opened) return;
      opened = true;
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [GATE_KEY]);
      await client.end();
    },
  };
}

/** The server process of the run waiting at the gate, once pg_stat_activity shows it there. */
async function waitAtGate(db: EmptyDatabase, run: Spawned): Promise<number> {
  let pid = 0;
  await waitFor(`${GATE} to wait at the gate`, async () => {
    if (run.child.exitCode !== null) throw new Error(`agentry migrate exited early: ${run.output().stderr}`);
    const waiting = (await backendsOn(admin, db.name, 'agentry migrate')).filter(
      (b) => b.wait_event_type === 'Lock' && b.wait_event === 'advisory' && b.query?.includes('pg_advisory_xact_lock'),
    );
    pid = waiting[0]?.pid ?? 0;
    return waiting.length === 1;
  });
  return pid;
}

const appliedBy = (stdout: string): string[] => (JSON.parse(stdout) as MigrateRunResult).migrations.map((m) => m.name);
const WAITING = /^agentry: another agentry migrate is running on postgres:\/\/\S+ \(server process (\d+), "agentry migrate"\); waiting up to (\d+(?:\.\d+)?)s for it to finish\n$/;

describe('two (or more) `agentry migrate up` at once', () => {
  it('three started together on an empty database: one applies every migration once, the others wait and find nothing to do', async () => {
    const db = await emptyDatabase();
    // The gate keeps the winner inside GATE until both others are seen waiting: a real overlap, however slow the machine.
    const gate = await closeGate(db);
    try {
      const runs = [up(db, '--json', 'migrate', 'up'), up(db, '--json', 'migrate', 'up', '--lock-wait', '30'), up(db, '--json', 'migrate', 'up')];
      figures.concurrentRuns += runs.length;
      await waitFor(
        () => `one run at the gate and two waiting: ${JSON.stringify(runs.map((r) => r.output().stderr))}`,
        () => runs.filter((r) => WAITING.test(r.output().stderr)).length === 2,
      );
      const winner = runs.find((r) => r.output().stderr === '')!;
      const pid = await waitAtGate(db, winner);
      for (const run of runs) if (run !== winner) expect(WAITING.exec(run.output().stderr)![1]).toBe(String(pid));
      figures.runsThatWaited += 2;
      await gate.open();
      const results = await Promise.all(runs.map((r) => r.done));
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const applied = results.map((r) => appliedBy(r.stdout));
      // Exactly one run applied anything, and it applied all of them; nothing twice.
      expect(applied.filter((names) => names.length > 0)).toEqual([all]);
      expect(applied[runs.indexOf(winner)]).toEqual(all);
      figures.migrationsApplied += applied.flat().length;
      // The others said they waited, in one line each, and nothing else.
      for (const [i, result] of results.entries()) if (runs[i] !== winner) expect(result.stderr).toMatch(WAITING);
      await expectHead(db);
    } finally {
      await gate.open();
    }
  }, 120_000);

  it('a second run while the first is mid-migration: --no-lock-wait and a short --lock-wait refuse in one line; waiting runs take the rest, each migration once', async () => {
    const db = await emptyDatabase();
    const gate = await closeGate(db);
    try {
      const first = up(db, '--json', 'migrate', 'up', String(shipped.length + 2));
      const pid = await waitAtGate(db, first);

      const noWait = await upAndWait(db, 'migrate', 'up', '--no-lock-wait');
      expect(noWait.code).toBe(1);
      expect(noWait.stdout).toBe('');
      expect(noWait.stderr).toMatch(
        new RegExp(
          `^agentry: another agentry migrate is running on postgres://\\S+/${db.name} \\(server process ${pid}, "agentry migrate"\\) \\(--no-lock-wait: not waiting\\); retry when it has finished\\n$`,
        ),
      );
      const short = await upAndWait(db, 'migrate', 'up', '--lock-wait', '0.5');
      expect(short.code).toBe(1);
      // It says that it waits, then, half a second later, that it gave up.
      expect(short.stderr.split('\n').slice(0, 1).join('\n') + '\n').toMatch(WAITING);
      expect(short.stderr.split('\n')[1]).toMatch(
        new RegExp(`^agentry: another agentry migrate is running on .*\\(server process ${pid}, "agentry migrate"\\); gave up after waiting 0\\.5s \\(--lock-wait <seconds> waits longer\\); retry when it has finished$`),
      );
      expect(short.stderr.split('\n')).toHaveLength(3);
      figures.lockRefusals += 2;

      const waiters = [up(db, '--json', 'migrate', 'up'), up(db, '--json', 'migrate', 'up', '--lock-wait', '30')];
      figures.concurrentRuns += 2 + waiters.length;
      await waitFor(
        () => `both waiting runs to say they wait: ${JSON.stringify(waiters.map((w) => ({ ...w.output(), exit: w.child.exitCode })))}`,
        () => waiters.every((w) => WAITING.test(w.output().stderr)),
      );
      figures.runsThatWaited += waiters.length;
      expect(waiters.map((w) => WAITING.exec(w.output().stderr)![1])).toEqual([String(pid), String(pid)]);
      expect(waiters.map((w) => WAITING.exec(w.output().stderr)![2])).toEqual(['60', '30']);
      // While the first run waits inside GATE, its earlier migrations are committed and GATE is not.
      await expectPreviousVersion(db);

      await gate.open();
      const firstDone = await first.done;
      expect(firstDone.code, firstDone.stderr).toBe(0);
      expect(appliedBy(firstDone.stdout)).toEqual([...shipped, FAST, GATE]);
      const waited = await Promise.all(waiters.map((w) => w.done));
      for (const result of waited) expect(result.code, result.stderr).toBe(0);
      // The last migration was left for the waiters: exactly one of them applied it.
      const byWaiters = waited.map((r) => appliedBy(r.stdout));
      expect(byWaiters.flat()).toEqual([AFTER]);
      figures.migrationsApplied += appliedBy(firstDone.stdout).length + byWaiters.flat().length;
      await expectHead(db);
    } finally {
      await gate.open();
    }
  }, 120_000);
});

describe('a migrate run that dies in the middle of a migration', () => {
  it('SIGKILL: the database stays at the previous version, the server ends the dead run’s session within seconds, and the next up completes to head', async () => {
    const db = await emptyDatabase();
    const gate = await closeGate(db);
    try {
      const run = up(db, 'migrate', 'up');
      const pid = await waitAtGate(db, run);
      run.child.kill('SIGKILL');
      figures.sigkills += 1;
      const killed = await run.done;
      expect(killed.signal).toBe('SIGKILL');
      // Every migration before GATE was committed in its own transaction; GATE's table and row are not there.
      await expectPreviousVersion(db);

      // The migrate session checks its client's socket every second
      // (client_connection_check_interval), so the server ends the dead run's
      // statement and session although the gate is still closed: its
      // transaction is rolled back and the migration lock is free again.
      await waitFor('the dead run’s server session to end', async () =>
        !(await backendsOn(admin, db.name, 'agentry migrate')).some((b) => b.pid === pid),
        15_000,
        200,
      );
      await expectPreviousVersion(db);

      await gate.open();
      const next = up(db, 'migrate', 'up');
      figures.concurrentRuns += 1;
      const result = await next.done;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Applied 2 migrations on postgres://\\S+/${db.name}:\\n {2}\\+ ${GATE}\\n {2}\\+ ${AFTER}\\n`));
      figures.migrationsApplied += shipped.length + 1 + 2;
      await expectHead(db);
      expect((await runBin([...db.args(dir), 'migrate', 'status', '--check'], { cwd })).code).toBe(0);
    } finally {
      await gate.open();
    }
  }, 120_000);

  it('pg_terminate_backend of its session: one line on stderr, the previous version kept, and the next up completes to head', async () => {
    const db = await emptyDatabase();
    await migrateUp({ databaseUrl: db.url, migrationsDir: dir, count: shipped.length + 1, lint: false });
    await expectPreviousVersion(db);
    const gate = await closeGate(db);
    try {
      const run = up(db, 'migrate', 'up');
      const pid = await waitAtGate(db, run);
      const [terminated] = (await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid])).rows;
      expect(terminated!.ok).toBe(true);
      figures.backendTerminations += 1;
      const result = await run.done;
      expect(result.signal).toBeNull();
      // Exit 1, one line naming the migration that failed and why.
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`agentry: migration ${GATE} (up) failed: terminating connection due to administrator command\n`);
      expect(await backendsOn(admin, db.name, 'agentry migrate')).toEqual([]);
      await expectPreviousVersion(db);
    } finally {
      await gate.open();
    }
    const next = await upAndWait(db, 'migrate', 'up');
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toContain(`+ ${GATE}\n  + ${AFTER}\n`);
    figures.migrationsApplied += shipped.length + 1 + 2;
    await expectHead(db);
  }, 120_000);
});
