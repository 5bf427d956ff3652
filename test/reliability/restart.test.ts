import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

import type { Tasks, TasksId, WorkersId } from '../../generated/index.js';
import { migrateUp } from '../../src/commands/migrate.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConnectionError } from '../../src/dal/errors.js';
import { createDatabase, withClient } from '../../src/db/admin.js';
import { freePort, startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { withDatabase } from '../../src/db/url.js';
import { recordFigures } from '../helpers/figures.js';
import { tempDir } from '../helpers/fs.js';
import { waitFor } from './support/faults.js';

// PostgreSQL restarted under workers that claim and complete tasks through the
// DAL. The test starts its own embedded server (a temporary data directory,
// a fixed port), migrates it, enqueues 2,000 tasks and runs 4 workers, each a
// DAL client with its own pool, in claim-then-complete loops. Twice the server
// goes away under them, and comes back on the same data directory and port:
// once a fast shutdown (SIGINT: sessions terminated, 57P01), once an
// immediate one (SIGQUIT to the postmaster: no checkpoint, crash recovery at
// the next start). Workers must see only typed, retryable ConnectionErrors
// and carry on; at the end every task is completed exactly once.
//
// A claim or a completion whose reply is lost (the server went away between
// its commit and the answer) is the one ambiguity a worker cannot avoid: after
// such an error a worker takes over the tasks the database says it holds
// ("adopts" them) and checks whether a completion went through before
// repeating it, as a real worker must.

const TASKS = 2000;
const WORKERS = 4;
const CLAIM_BATCH = 10;
const CAPABILITY = 'faults-restart';
const RUN_LIMIT_MS = 150_000;

let server: EmbeddedServer | undefined;

afterAll(async () => {
  await server?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface WorkerLog {
  claimed: TasksId[];
  completed: TasksId[];
  connectionErrors: number;
  adopted: number;
  completionsFoundDone: number;
}

describe('PostgreSQL restarted while workers are claiming', () => {
  it('4 DAL workers over 2,000 tasks, the server stopped twice (fast, then immediate) and restarted: typed errors, then every task completed exactly once', async () => {
    const started = performance.now();
    const dataDir = join(await tempDir('agentry-faults-restart-'), 'pg');
    const port = await freePort();
    server = await startEmbedded({ dataDir, port });
    const adminUrl = server.connectionString;
    const url = withDatabase(adminUrl, 'faults');
    await createDatabase(adminUrl, 'faults');
    await migrateUp({ databaseUrl: url, lint: false });

    const { workerIds, taskIds } = await withClient(url, async (client) => {
      const workers = await client.query<{ id: WorkersId }>(
        `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools)
         SELECT 'faults-restart-' || g, 'restart worker ' || g, '{}', '[]' FROM generate_series(1, $1::int) AS g RETURNING id`,
        [WORKERS],
      );
      const tasks = await client.query<{ id: TasksId }>(
        `INSERT INTO agentry.tasks (title, status, capability_required, priority)
         SELECT 'restart ' || g, 'queued', $2, 1 + g % 10 FROM generate_series(1, $1::int) AS g RETURNING id`,
        [TASKS, CAPABILITY],
      );
      return { workerIds: workers.rows.map((r) => r.id), taskIds: tasks.rows.map((r) => r.id) };
    });

    const setupSeconds = (performance.now() - started) / 1000;

    // Idle connections dropped by a restart are reported here, typed.
    const idleErrors: Error[] = [];
    const clients: AgentryClient[] = workerIds.map((_, i) =>
      createAgentry(
        { connectionString: url, max: 2, application_name: `faults-worker-${i}`, connectionTimeoutMillis: 5_000 },
        { onError: (error) => idleErrors.push(error) },
      ),
    );
    // A plain session per worker for the one thing the DAL has no statement for: "which tasks do I hold?".
    const holdings = workerIds.map(() => {
      const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5_000 });
      pool.on('error', () => undefined);
      pool.on('connect', (c) => c.on('error', () => undefined));
      return pool;
    });

    const completed = new Set<string>();
    const unexpected: unknown[] = [];
    const errorCodes = new Map<string, number>();
    const deadline = Date.now() + RUN_LIMIT_MS;
    const logs: WorkerLog[] = workerIds.map(() => ({ claimed: [], completed: [], connectionErrors: 0, adopted: 0, completionsFoundDone: 0 }));

    /** Runs op until it succeeds, as long as it fails with retryable ConnectionErrors; anything else is recorded and thrown. */
    async function retrying<T>(log: WorkerLog, op: () => Promise<T>, onLost?: () => void): Promise<T> {
      for (;;) {
        try {
          return await op();
        } catch (error) {
          if (!(error instanceof ConnectionError && error.retryable)) {
            unexpected.push(error);
            throw error;
          }
          log.connectionErrors += 1;
          errorCodes.set(error.code ?? 'none', (errorCodes.get(error.code ?? 'none') ?? 0) + 1);
          onLost?.();
          if (Date.now() > deadline) throw new Error('workers did not finish in time', { cause: error });
          await sleep(25 + Math.random() * 50);
        }
      }
    }

    async function finish(i: number, task: Pick<Tasks, 'id' | 'version'>): Promise<void> {
      const log = logs[i]!;
      const agentry = clients[i]!;
      let unsure = false;
      await retrying(
        log,
        async () => {
          if (unsure) {
            // The last attempt's reply was lost: did it commit?
            const now = await agentry.work.getTask(task.id);
            if (now.status === 'completed') {
              expect(now.output).toEqual({ by: i });
              log.completionsFoundDone += 1;
              return;
            }
            expect({ status: now.status, version: now.version }).toEqual({ status: 'running', version: task.version });
          }
          await agentry.work.complete(task.id, task.version, { by: i });
        },
        () => {
          unsure = true;
        },
      );
      log.completed.push(task.id);
      completed.add(task.id);
    }

    /** The tasks the database says worker i runs (a plain query of the test's: the server may be down again, so retried). */
    async function heldBy(i: number): Promise<Pick<Tasks, 'id' | 'version'>[]> {
      for (;;) {
        try {
          const { rows } = await holdings[i]!.query<Pick<Tasks, 'id' | 'version'>>(
            `SELECT id, version FROM agentry.tasks WHERE worker_id = $1 AND status = 'running' AND capability_required = $2`,
            [workerIds[i], CAPABILITY],
          );
          return rows;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(50);
        }
      }
    }

    async function work(i: number): Promise<void> {
      const log = logs[i]!;
      let lostClaim = false;
      while (completed.size < TASKS) {
        let claimed: Tasks[] = await retrying(
          log,
          () => clients[i]!.work.claimReadyTasks({ workerId: workerIds[i]!, batchSize: CLAIM_BATCH, capability: CAPABILITY, status: 'running' }),
          () => {
            lostClaim = true;
          },
        );
        if (lostClaim) {
          // A claim may have committed without its reply: what the database says this worker runs is its own.
          // (Every task it knew of is completed by now: it claims only with empty hands.)
          const held = await heldBy(i);
          const known = new Set(claimed.map((t) => t.id));
          const orphans = held.filter((t) => !known.has(t.id));
          log.adopted += orphans.length;
          claimed = [...claimed, ...(orphans as Tasks[])];
          lostClaim = false;
        }
        if (claimed.length === 0) {
          if (Date.now() > deadline) throw new Error(`worker ${i} gave up with ${TASKS - completed.size} tasks not completed`);
          await sleep(20);
          continue;
        }
        for (const task of claimed) log.claimed.push(task.id);
        for (const task of claimed) await finish(i, task);
      }
    }

    const workers = Promise.all(workerIds.map((_, i) => work(i)));
    // Surface a worker's failure at once rather than after the restarts.
    let failed: unknown;
    void workers.catch((error: unknown) => {
      failed = error;
    });

    const downtimes: number[] = [];
    const restart = async (mode: 'fast' | 'immediate', atFraction: number) => {
      await waitFor(
        () => `${Math.round(atFraction * 100)}% of the tasks completed (${completed.size}; ${String(failed ?? '')})`,
        () => {
          if (failed !== undefined) throw failed;
          return completed.size >= TASKS * atFraction;
        },
        RUN_LIMIT_MS,
      );
      const down = performance.now();
      if (mode === 'immediate') {
        // The postmaster (it runs as the postgres user when the tests run as root; root may signal it).
        const pid = Number.parseInt((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]!, 10);
        process.kill(pid, 'SIGQUIT');
      }
      await server!.stop();
      // Down for a moment: the workers meet a refused connection, not only a dropped one.
      await sleep(300);
      server = await startEmbedded({ dataDir, port });
      downtimes.push(performance.now() - down);
    };

    try {
      await restart('fast', 0.3);
      const atFirst = completed.size;
      await restart('immediate', 0.65);
      await workers;
      // The restarts happened while work remained.
      expect(atFirst).toBeLessThan(TASKS);
    } finally {
      await workers.catch(() => undefined);
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(holdings.map((p) => p.end()));
    }

    expect(unexpected).toEqual([]);
    // Every worker met the restarts, and carried on.
    const connectionErrors = logs.reduce((n, l) => n + l.connectionErrors, 0);
    expect(connectionErrors).toBeGreaterThan(0);
    expect(idleErrors.every((e) => e instanceof ConnectionError && e.retryable)).toBe(true);

    // Claims: each task once, by one worker; completions: each task once.
    const claimedBy = new Map<string, number[]>();
    logs.forEach((log, i) => log.claimed.forEach((id) => claimedBy.set(id, [...(claimedBy.get(id) ?? []), i])));
    const claimedTwice = [...claimedBy.values()].filter((by) => by.length > 1).length;
    const completions = logs.flatMap((l) => l.completed);
    expect(claimedTwice).toBe(0);
    expect(claimedBy.size).toBe(TASKS);
    expect(completions).toHaveLength(TASKS);
    expect(new Set(completions)).toEqual(new Set(taskIds));

    // The database agrees: all completed, each by the worker that claimed it, each updated exactly
    // twice (version 0 -> 1 by its one claim, -> 2 by its one completion).
    const rows = await withClient(url, async (client) => {
      const { rows: r } = await client.query<{ id: string; status: string; version: number; worker_id: string; by: number }>(
        `SELECT id, status, version, worker_id, (output ->> 'by')::int AS by FROM agentry.tasks WHERE capability_required = $1`,
        [CAPABILITY],
      );
      return r;
    });
    expect(rows).toHaveLength(TASKS);
    const wrong = rows.filter((r) => {
      const by = claimedBy.get(r.id)?.[0];
      return r.status !== 'completed' || r.version !== 2 || by === undefined || r.by !== by || r.worker_id !== workerIds[by];
    });
    expect(wrong).toEqual([]);

    recordFigures('faults-restart', {
      tasks: TASKS,
      workers: WORKERS,
      restarts: downtimes.length,
      fastShutdowns: 1,
      immediateShutdowns: 1,
      downtimeMsEach: downtimes.map((d) => Math.round(d)).join(', '),
      connectionErrorsSeen: connectionErrors,
      connectionErrorCodes: [...errorCodes].map(([code, n]) => `${code}: ${n}`).join(', '),
      idleConnectionErrors: idleErrors.length,
      untypedErrors: unexpected.length,
      claimsAdoptedAfterLostReply: logs.reduce((n, l) => n + l.adopted, 0),
      completionsFoundDoneAfterLostReply: logs.reduce((n, l) => n + l.completionsFoundDone, 0),
      tasksCompleted: rows.filter((r) => r.status === 'completed').length,
      tasksLost: TASKS - rows.filter((r) => r.status === 'completed').length,
      tasksClaimedTwice: claimedTwice,
      setupSeconds: Math.round(setupSeconds * 10) / 10,
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    });
  }, 240_000);
});
