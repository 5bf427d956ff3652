import { performance } from 'node:perf_hooks';

import pg from 'pg';

import { createAgentry } from '../../../src/dal/index.js';
import type { NewTask } from '../../../src/dal/index.js';
import { migrateUp } from '../../../src/commands/migrate.js';
import { OUTPUT, payload, runWorkers, type QueueSystem, type WorkResult } from './system.js';

/**
 * Agentry through its DAL, the way a service would use it: work.createTasks
 * (status 'queued') to enqueue, work.claimReadyTasks({ batchSize: 1, status:
 * 'running' }) to claim (queued -> running, the shortest legal path), and
 * work.complete(id, version, output) (running -> completed).
 */
export const agentrySystem: QueueSystem = {
  name: 'agentry',

  async install(url) {
    await migrateUp({ databaseUrl: url, lint: false });
  },

  async enqueue(url, count, batch) {
    const pool = openPool(url, 1);
    const agentry = createAgentry({ pool });
    try {
      await pool.query('SELECT 1');
      const start = performance.now();
      for (let from = 0; from < count; from += batch) {
        const tasks: NewTask[] = [];
        for (let n = from; n < Math.min(count, from + batch); n++) tasks.push({ title: `task ${n}`, status: 'queued', input: payload(n) });
        await agentry.work.createTasks(tasks);
      }
      return performance.now() - start;
    } finally {
      await agentry.close();
      await pool.end();
    }
  },

  async work(url, workers, count, deadlineMs): Promise<WorkResult> {
    const pool = openPool(url, workers);
    const agentry = createAgentry({ pool });
    const claimMs = new Float64Array(count);
    const completeMs = new Float64Array(count);
    try {
      await warm(pool, workers);
      const { ms, done } = await runWorkers(
        workers,
        count,
        async (i) => {
        const t0 = performance.now();
        const [task] = await agentry.work.claimReadyTasks({ batchSize: 1, status: 'running' });
        const t1 = performance.now();
        if (!task) return false;
        await agentry.work.complete(task.id, task.version, OUTPUT);
        completeMs[i] = performance.now() - t1;
        claimMs[i] = t1 - t0;
        return true;
        },
        deadlineMs,
      );
      return { ms, done, claimMs: claimMs.subarray(0, done), completeMs: completeMs.subarray(0, done) };
    } finally {
      await agentry.close();
      await pool.end();
    }
  },
};

/**
 * A pool whose idle connections may be terminated without crashing the
 * process: pool.end() resolves before every socket has closed, and the run's
 * database is then dropped WITH (FORCE).
 */
function openPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** Opens all `size` connections of a pool before the clock starts. */
export async function warm(pool: pg.Pool, size: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  for (const client of clients) client.release();
}
