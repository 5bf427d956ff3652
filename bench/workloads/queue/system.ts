import { performance } from 'node:perf_hooks';

/**
 * One queue under test. Every system gets the same work on the same server:
 * a single producer enqueues tasks in batches through the system's own bulk
 * call, and W workers (W connections) each loop claim one task -> complete
 * it, one at a time (batch size 1: graphile-worker has no batched fetch
 * without its local queue, so 1 is the size all four can do alike).
 */
export interface QueueSystem {
  name: string;
  /** Installs the system's schema into an empty database (untimed, once per run of the workload). */
  install(url: string): Promise<void>;
  /**
   * Enqueues `count` tasks in batches of `batch` over one connection. The
   * connection is opened first; returns the milliseconds of the enqueueing.
   */
  enqueue(url: string, count: number, batch: number): Promise<number>;
  /**
   * `workers` concurrent workers (one connection each) claim and complete
   * `count` tasks of the queued backlog between them, or as many as they get
   * through in `deadlineMs` (then no new claim is started and the tasks in
   * flight finish). Connections are opened first; the clock starts at the
   * first claim and stops when the last task is complete.
   */
  work(url: string, workers: number, count: number, deadlineMs?: number): Promise<WorkResult>;
}

export interface WorkResult {
  ms: number;
  /** Tasks completed inside the measured time (count, or fewer when the deadline came first). */
  done: number;
  /** Per-call latencies where the system lets us time them (ms). */
  claimMs?: Float64Array;
  completeMs?: Float64Array;
}

/** The payload every system carries per task: a small JSON object. */
export function payload(n: number): { n: number } {
  return { n };
}

/** What a completion writes as the task's output (for the systems that keep one). */
export const OUTPUT = { ok: true } as const;

/**
 * Runs `workers` loops that each take one unit of a shared budget of `count`
 * and run one cycle for it, until the budget is spent or `deadlineMs` has
 * passed since the start (no unit is started after it). cycle(i) gets the
 * unit's index (0..count-1) and returns false when the queue was empty
 * (which fails the run: the backlog is always larger than the count).
 * Returns the elapsed milliseconds and the units done.
 */
export async function runWorkers(
  workers: number,
  count: number,
  cycle: (index: number, worker: number) => Promise<boolean>,
  deadlineMs = Number.POSITIVE_INFINITY,
): Promise<{ ms: number; done: number }> {
  let next = 0;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (;;) {
        if (performance.now() - start > deadlineMs) return;
        const index = next++;
        if (index >= count) return;
        if (!(await cycle(index, worker))) throw new Error(`queue ran dry after ${index} of ${count} tasks`);
        done += 1;
      }
    }),
  );
  return { ms: performance.now() - start, done };
}
