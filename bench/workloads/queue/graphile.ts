import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';

import { Logger, makeWorkerUtils, run, runMigrations, type AddJobsJobSpec, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';

import { payload, type QueueSystem, type WorkResult } from './system.js';

const TASK = 'bench';
const silent = new Logger(() => () => undefined);

/**
 * The pool is ours, not graphile-worker's: it removes its error listeners when
 * it is released, and a connection that closes late (the run's database is
 * dropped right after) would then crash the process.
 *
 * graphile-worker 0.17 does not wait for a job's completion: the worker emits
 * job:success, starts completeJob (a DELETE of the job) without awaiting it
 * and fetches its next job at once. Counting job:success would count
 * completions that are not yet done, so the pool reports each completion
 * when its statement (named complete_job/<schema>: a DELETE of
 * _private_jobs, autocommitted) returns.
 */
function openPool(url: string, max: number, onCompleted?: () => void): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    if (!onCompleted) return;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      const config = args[0] as { name?: unknown; text?: unknown } | undefined;
      const completes =
        (typeof config?.name === 'string' && config.name.startsWith('complete_job')) ||
        (typeof config?.text === 'string' && /^\s*delete from \S+\._private_jobs\b/i.test(config.text));
      if (completes && result instanceof Promise) {
        result.then(onCompleted, () => undefined);
      }
      return result;
    };
  });
  return pool;
}

/**
 * graphile-worker 0.17: workerUtils.addJobs(specs) to enqueue (its bulk
 * call), and its own runner to work: run({ concurrency: W }) with a no-op
 * task, i.e. W workers that each get one job, run it and complete it, its
 * defaults otherwise (no local queue, no batched completion). The pool has
 * W connections for the workers plus the one its LISTEN holds. The clock
 * starts at the first worker's first getJob and stops when the count-th
 * completion has been committed (or at the last one before the deadline);
 * see openPool for why completions are watched on the pool.
 */
export const graphileSystem: QueueSystem = {
  name: 'graphile-worker',

  async install(url) {
    await runMigrations({ connectionString: url, logger: silent });
  },

  async enqueue(url, count, batch) {
    const pgPool = openPool(url, 1);
    try {
      const utils = await makeWorkerUtils({ pgPool, logger: silent });
      try {
        await utils.withPgClient((client) => client.query('SELECT 1'));
        const start = performance.now();
        for (let from = 0; from < count; from += batch) {
          const specs: AddJobsJobSpec[] = [];
          for (let n = from; n < Math.min(count, from + batch); n++) specs.push({ identifier: TASK, payload: payload(n) });
          await utils.addJobs(specs);
        }
        return performance.now() - start;
      } finally {
        await utils.release();
      }
    } finally {
      await pgPool.end();
    }
  },

  async work(url, workers, count, deadlineMs = Number.POSITIVE_INFINITY): Promise<WorkResult> {
    const events = new EventEmitter() as WorkerEvents;
    let start = 0;
    let done = 0;
    let ms = 0;
    let deadline: NodeJS.Timeout | undefined;
    let finished!: () => void;
    let failed!: (error: Error) => void;
    const allDone = new Promise<void>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    events.on('worker:getJob:start', () => {
      if (start !== 0) return;
      start = performance.now();
      // At the deadline: what was complete by then counts (the tasks in flight are not waited for).
      if (Number.isFinite(deadlineMs)) deadline = setTimeout(finished, deadlineMs);
    });
    // A completion is counted when its DELETE has been acknowledged (committed), not at job:success.
    const onCompleted = () => {
      if (start === 0 || done >= count || (Number.isFinite(deadlineMs) && performance.now() - start > deadlineMs)) return;
      done += 1;
      ms = performance.now() - start;
      if (done === count) finished();
    };
    events.on('job:error', ({ error }) => failed(error instanceof Error ? error : new Error(String(error))));
    const pgPool = openPool(url, workers + 1, onCompleted);
    const runner = await run({
      pgPool,
      concurrency: workers,
      noHandleSignals: true,
      pollInterval: 2000,
      logger: silent,
      events,
      parsedCronItems: [],
      taskList: { [TASK]: async () => undefined },
    });
    try {
      await Promise.race([allDone, runner.promise.then(() => Promise.reject(new Error('graphile-worker stopped early')))]);
      return { ms, done };
    } finally {
      clearTimeout(deadline);
      await runner.stop();
      await pgPool.end();
    }
  },
};
