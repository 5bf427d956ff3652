import { performance } from 'node:perf_hooks';

import PgBoss from 'pg-boss';

import { OUTPUT, payload, runWorkers, type QueueSystem, type WorkResult } from './system.js';

const QUEUE = 'bench';

/**
 * pg-boss 10.4: boss.insert(jobs) to enqueue (its bulk call), and per worker
 * boss.fetch(queue, { batchSize: 1 }) -> boss.complete(queue, id, output).
 * fetch/complete are what boss.work() runs under its polling loop; calling
 * them directly keeps its 0.5 s minimum polling interval out of the figure.
 * No supervisor, scheduler or monitor runs during the measurement (each
 * would be a timer of its own that the others do not have).
 */
function open(url: string, max: number): PgBoss {
  const boss = new PgBoss({ connectionString: url, max, supervise: false, schedule: false, migrate: false });
  boss.on('error', () => undefined);
  return boss;
}

export const pgBossSystem: QueueSystem = {
  name: 'pg-boss',

  async install(url) {
    const boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue(QUEUE);
    await boss.stop({ graceful: false, wait: true });
  },

  async enqueue(url, count, batch) {
    const boss = open(url, 1);
    try {
      await boss.start();
      await boss.getDb().executeSql('SELECT 1', []);
      const start = performance.now();
      for (let from = 0; from < count; from += batch) {
        const jobs: PgBoss.JobInsert[] = [];
        for (let n = from; n < Math.min(count, from + batch); n++) jobs.push({ name: QUEUE, data: payload(n) });
        await boss.insert(jobs);
      }
      return performance.now() - start;
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
  },

  async work(url, workers, count, deadlineMs): Promise<WorkResult> {
    const boss = open(url, workers);
    const claimMs = new Float64Array(count);
    const completeMs = new Float64Array(count);
    try {
      await boss.start();
      const db = boss.getDb();
      await Promise.all(Array.from({ length: workers }, () => db.executeSql('SELECT pg_sleep(0.01)', [])));
      const { ms, done } = await runWorkers(
        workers,
        count,
        async (i) => {
        const t0 = performance.now();
        const [job] = await boss.fetch(QUEUE, { batchSize: 1 });
        const t1 = performance.now();
        if (!job) return false;
        await boss.complete(QUEUE, job.id, OUTPUT);
        completeMs[i] = performance.now() - t1;
        claimMs[i] = t1 - t0;
        return true;
        },
        deadlineMs,
      );
      return { ms, done, claimMs: claimMs.subarray(0, done), completeMs: completeMs.subarray(0, done) };
    } finally {
      await boss.stop({ graceful: false, wait: true });
    }
  },
};
