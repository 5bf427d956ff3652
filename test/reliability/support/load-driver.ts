import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import type pg from 'pg';

import type { AgentsId, Tasks, TasksId, WorkersId, WorkflowsId } from '../../../generated/index.js';
import type { AgentryClient } from '../../../src/dal/client.js';
import { ConflictError } from '../../../src/dal/errors.js';
import type { NewTask } from '../../../src/dal/work.js';

// The load driver of test/reliability/lifecycle-load.test.ts: a feeder that
// streams workflows of DAG-dependent tasks in, N workers that claim, start,
// complete or fail them (or hang on them), a reaper that requeues due retries
// and times out hung tasks, and a canceller that cancels random live tasks
// (a user) and every queued task one of whose dependencies can no longer
// complete (the orchestrator). Everything goes through the DAL; what each
// actor saw is recorded in memory for the test to check against the rows.

export interface LoadOptions {
  /** Tasks in all. */
  tasks: number;
  /** Concurrent workers, each with its own worker row, agent and (pooled) connection. */
  workers: number;
  /** claimReadyTasks batch size. */
  batchSize: number;
  /** The feeder keeps at most about this many unfinished tasks in the queue. */
  window: number;
  /** Workflow sizes, uniform in [min, max]. */
  workflowSize: readonly [number, number];
  /** Per attempt: probability that the worker fails the task. */
  pFail: number;
  /** Per failure: probability that it is permanent (retryable: false). */
  pPermanent: number;
  /** Per task: probability of timeout_seconds = 1. */
  pTimeoutTask: number;
  /** Per attempt of such a task: probability that the worker abandons it (hangs), so the reaper times it out. */
  pHang: number;
  /** User cancellations as a share of the tasks finished so far. */
  pCancel: number;
  /** Seed of the random choices (the interleaving is the scheduler's). */
  seed: number;
  /** Stop and report after this long, finished or not. */
  deadlineMs: number;
  /** Called every 10 s with a line on how far the run is. */
  progress?: (line: string) => void;
}

export type TerminalKind = 'completed' | 'failed' | 'timeout' | 'cancelled';

/** One claim of one task by one worker. heldFrom/heldUntil (performance.now() ms) lie inside the real claim. */
export interface ClaimRecord {
  taskId: string;
  worker: number;
  /** The version claimReadyTasks returned. */
  claimVersion: number;
  /** The last version this worker wrote (or read back) while holding it. */
  lastVersion: number;
  /** When the claim's answer arrived: the claim had committed. */
  heldFrom: number;
  /** When the worker sent the call that ended the claim (complete, fail), or gave it up: still held then. */
  heldUntil: number;
  end: 'held' | 'completed' | 'retrying' | 'failed' | 'abandoned' | 'lost';
}

export interface LoadStats {
  claimCalls: number;
  emptyClaims: number;
  claims: number;
  starts: number;
  completions: number;
  failCalls: number;
  retriesScheduled: number;
  finalFailures: number;
  permanentFailures: number;
  hangs: number;
  timeouts: number;
  requeued: number;
  userCancels: number;
  userCancelsFrom: Record<string, number>;
  cascadeCancels: number;
  cancelRaces: number;
  /** Worker calls refused with a version mismatch because the task was cancelled or timed out meanwhile. */
  lostTo: Record<string, number>;
  /** Version mismatches the worker could not explain (the task is not cancelled or timed out): bugs. */
  unexplainedConflicts: { taskId: string; status: string; op: string }[];
  /** Retryable ConflictErrors (deadlock, serialization failure, lock not available) by reason, retried. */
  retriedConflicts: Record<string, number>;
  /** The same, by reason and statement. */
  conflictsByQuery: Record<string, number>;
  /** Any other error an actor hit (reported, makes the test fail). */
  errors: string[];
  heartbeats: number;
  workflows: number;
  dependencyEdges: number;
  createMs: number;
  operations: number;
  /** Calls and milliseconds spent per kind of DAL call (retries included). */
  timeByOperation: Record<string, { calls: number; ms: number }>;
}

export interface LoadResult {
  options: LoadOptions;
  stats: LoadStats;
  claims: ClaimRecord[];
  /** Every successful start: (task, started_at as the database stamped it). */
  attempts: { taskId: string; startedAt: Date }[];
  /** The terminal event each task reached, as the actor that caused it saw it. */
  terminals: Map<string, { kind: TerminalKind; by: string }>;
  /** A second terminal event for a task that already had one: must stay empty. */
  doubleTerminals: { taskId: string; first: string; second: string }[];
  /** Tasks failed with retryable: false. */
  permanent: Set<string>;
  taskIds: string[];
  workflowIds: string[];
  workerIds: WorkersId[];
  agentIds: AgentsId[];
  finished: boolean;
  wallMs: number;
}

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const emptyStats = (): LoadStats => ({
  claimCalls: 0,
  emptyClaims: 0,
  claims: 0,
  starts: 0,
  completions: 0,
  failCalls: 0,
  retriesScheduled: 0,
  finalFailures: 0,
  permanentFailures: 0,
  hangs: 0,
  timeouts: 0,
  requeued: 0,
  userCancels: 0,
  userCancelsFrom: {},
  cascadeCancels: 0,
  cancelRaces: 0,
  lostTo: {},
  unexplainedConflicts: [],
  retriedConflicts: {},
  conflictsByQuery: {},
  errors: [],
  heartbeats: 0,
  workflows: 0,
  dependencyEdges: 0,
  createMs: 0,
  operations: 0,
  timeByOperation: {},
});

const bump = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1;
};

/**
 * Runs the load. `workers` is the client the workers share (its pool should
 * have one connection per worker); `feeder` creates the workflows and tasks;
 * `aux` serves the reaper and the canceller; `auxPool` is aux's pool, for the
 * canceller's read-only look-ups.
 */
export async function runLoad(
  options: LoadOptions,
  clients: { workers: AgentryClient; feeder: AgentryClient; aux: AgentryClient; auxPool: pg.Pool },
): Promise<LoadResult> {
  const { workers, feeder: feederClient, aux, auxPool } = clients;
  const stats = emptyStats();
  const claims: ClaimRecord[] = [];
  const attempts: LoadResult['attempts'] = [];
  const terminals: LoadResult['terminals'] = new Map();
  const doubleTerminals: LoadResult['doubleTerminals'] = [];
  const permanent = new Set<string>();
  const taskIds: string[] = [];
  const workflowIds: string[] = [];
  const random = rng(options.seed);
  let stop = false;
  let fed = 0;

  const terminal = (taskId: string, kind: TerminalKind, by: string) => {
    const first = terminals.get(taskId);
    if (first) doubleTerminals.push({ taskId, first: `${first.kind} by ${first.by}`, second: `${kind} by ${by}` });
    else terminals.set(taskId, { kind, by });
  };

  /** Runs a DAL call, again after a retryable ConflictError (a deadlock: the transaction was rolled back), counting each. */
  const call = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      stats.operations += 1;
      const t0 = performance.now();
      try {
        return await fn();
      } catch (error) {
        if (error instanceof ConflictError && error.retryable && attempt < 50) {
          bump(stats.retriedConflicts, error.reason);
          bump(stats.conflictsByQuery, `${error.reason} ${error.query ?? '?'}`);
          await sleep(1 + random() * 10);
          continue;
        }
        throw error;
      } finally {
        const spent = (stats.timeByOperation[label] ??= { calls: 0, ms: 0 });
        spent.calls += 1;
        spent.ms += performance.now() - t0;
      }
    }
  };

  // -- fleet: one worker machine and one agent per worker -------------------
  const workerIds: WorkersId[] = [];
  const agentIds: AgentsId[] = [];
  const runTag = randomUUID().slice(0, 8);
  for (let w = 0; w < options.workers; w += 1) {
    const worker = await aux.fleet.registerWorker({
      machineId: `load-${runTag}-${w}`,
      machineName: `load worker ${w}`,
      systemInfo: { cores: 1 },
      tools: ['python'],
    });
    const agent = await aux.fleet.registerAgent({
      id: `load-${runTag}-agent-${w}` as AgentsId,
      name: `load agent ${runTag} ${w}`,
      workerId: worker.id,
      status: 'online',
      capabilities: ['load'],
    });
    workerIds.push(worker.id);
    agentIds.push(agent.id as AgentsId);
  }

  const started = performance.now();
  const deadline = started + options.deadlineMs;

  // -- feeder -------------------------------------------------------------------
  const buildWorkflow = (workflowId: WorkflowsId, size: number): NewTask[] => {
    const ids = Array.from({ length: size }, () => randomUUID() as TasksId);
    return ids.map((id, i) => {
      // Roots: the first task, and about one in six of the others.
      const edges = i === 0 || random() < 0.15 ? 0 : 1 + Math.floor(random() * 3);
      const dependsOn = new Set<TasksId>();
      for (let e = 0; e < edges; e += 1) dependsOn.add(ids[Math.floor(random() * i)]!);
      stats.dependencyEdges += dependsOn.size;
      const policyDraw = random();
      return {
        id,
        title: `load task ${i}`,
        status: 'queued',
        workflow_id: workflowId,
        priority: 1 + Math.floor(random() * 10),
        max_retries: random() < 0.05 ? 0 : 1 + Math.floor(random() * 3),
        retry_policy: policyDraw < 0.02 ? 'none' : policyDraw < 0.4 ? 'fixed' : policyDraw < 0.7 ? 'linear' : 'exponential',
        ...(random() < options.pTimeoutTask && { timeout_seconds: 1 }),
        ...(dependsOn.size > 0 && { depends_on: [...dependsOn] }),
      } satisfies NewTask;
    });
  };

  const feeder = async () => {
    const chunk = Math.max(options.workflowSize[1], Math.min(500, Math.floor(options.window / 3)));
    while (fed < options.tasks && !stop) {
      if (fed - terminals.size > options.window - chunk) {
        await sleep(5);
        continue;
      }
      const batch: NewTask[] = [];
      while (batch.length < chunk && fed + batch.length < options.tasks) {
        const [min, max] = options.workflowSize;
        const size = Math.min(min + Math.floor(random() * (max - min + 1)), options.tasks - fed - batch.length);
        const workflow = await call('createWorkflow', () => feederClient.work.createWorkflow({ name: `load ${stats.workflows}`, workflow_type: 'load_test', initiator: 'lifecycle-load' }),
        );
        stats.workflows += 1;
        workflowIds.push(workflow.id);
        batch.push(...buildWorkflow(workflow.id, size));
      }
      const t0 = performance.now();
      await call('createTasks', () => feederClient.work.createTasks(batch));
      stats.createMs += performance.now() - t0;
      for (const task of batch) taskIds.push(task.id as string);
      fed += batch.length;
    }
  };

  // -- workers ------------------------------------------------------------------
  const work = async (w: number) => {
    const workerId = workerIds[w]!;
    const agentId = agentIds[w]!;
    const draw = rng(options.seed * 7919 + w);
    let lastBeat = performance.now();
    await call('setWorkerStatus', () => workers.fleet.setWorkerStatus(workerId, 'busy'));

    const handle = async (task: Tasks) => {
      const claim: ClaimRecord = {
        taskId: task.id,
        worker: w,
        claimVersion: task.version,
        lastVersion: task.version,
        heldFrom: performance.now(),
        heldUntil: Number.NaN,
        end: 'held',
      };
      claims.push(claim);
      let op = 'start';
      let sentAt = performance.now();
      try {
        const running = await call('start', () => workers.work.start(task.id, task.version));
        claim.lastVersion = running.version;
        stats.starts += 1;
        attempts.push({ taskId: task.id, startedAt: running.started_at! });

        if (running.timeout_seconds !== null && draw() < options.pHang) {
          // Hang: never report back; the reaper times it out.
          claim.heldUntil = performance.now();
          claim.end = 'abandoned';
          stats.hangs += 1;
          return;
        }
        const usage = { tokens: 1 + Math.floor(draw() * 2000), costUsd: (draw() * 0.01).toFixed(6) };
        if (draw() < options.pFail) {
          const retryable = draw() >= options.pPermanent;
          op = 'fail';
          sentAt = performance.now();
          const after = await call('fail', () => workers.work.fail(running.id, running.version, { message: 'simulated failure', retryable }, { usage, backoff: { baseSeconds: 0, capSeconds: 0 } }),
          );
          claim.heldUntil = sentAt;
          claim.lastVersion = after.version;
          stats.failCalls += 1;
          if (after.status === 'retrying') {
            claim.end = 'retrying';
            stats.retriesScheduled += 1;
          } else {
            claim.end = 'failed';
            stats.finalFailures += 1;
            if (!retryable) {
              permanent.add(task.id);
              stats.permanentFailures += 1;
            }
            terminal(task.id, 'failed', `worker ${w}`);
          }
        } else {
          op = 'complete';
          sentAt = performance.now();
          const done = await call('complete', () => workers.work.complete(running.id, running.version, { worker: w }, usage));
          claim.heldUntil = sentAt;
          claim.lastVersion = done.version;
          claim.end = 'completed';
          stats.completions += 1;
          terminal(task.id, 'completed', `worker ${w}`);
        }
      } catch (error) {
        if (!(error instanceof ConflictError && error.reason === 'version_mismatch')) throw error;
        // Someone else moved the task while we held it: only a cancellation or the reaper may.
        claim.heldUntil = sentAt;
        claim.end = 'lost';
        const now = await call('getTask', () => workers.work.getTask(task.id));
        if (now.status === 'cancelled' || now.status === 'timeout') bump(stats.lostTo, now.status);
        else stats.unexplainedConflicts.push({ taskId: task.id, status: now.status, op });
      }
    };

    while (!stop) {
      if (performance.now() - lastBeat > 1000) {
        lastBeat = performance.now();
        await call('heartbeat', () => workers.fleet.heartbeat(workerId, { cpuPercent: (draw() * 100).toFixed(2) }));
        stats.heartbeats += 1;
      }
      stats.claimCalls += 1;
      const claimed = await call('claimReadyTasks', () => workers.work.claimReadyTasks({ workerId, agentId, batchSize: options.batchSize }));
      if (claimed.length === 0) {
        stats.emptyClaims += 1;
        await sleep(10 + draw() * 20);
        continue;
      }
      stats.claims += claimed.length;
      for (const task of claimed) await handle(task);
    }
    await call('setWorkerStatus', () => workers.fleet.setWorkerStatus(workerId, 'offline'));
  };

  // -- reaper ---------------------------------------------------------------------
  const reaper = async () => {
    while (!stop) {
      const requeued = await call('requeueDueRetries', () => aux.work.requeueDueRetries(1000));
      stats.requeued += requeued.length;
      const timedOut = await call('markTimedOut', () => aux.work.markTimedOut(1000));
      for (const task of timedOut) {
        stats.timeouts += 1;
        terminal(task.id, 'timeout', 'reaper');
      }
      await sleep(25);
    }
  };

  // -- canceller: a user cancelling random live tasks, and the orchestrator -------
  const cancelOne = async (id: TasksId, version: number, reason: string, by: string): Promise<boolean> => {
    try {
      await call('cancel', () => aux.work.cancel(id, version, reason, by));
      terminal(id, 'cancelled', by);
      return true;
    } catch (error) {
      // The task moved since we read it (claimed, started, finished, cancelled by the other loop).
      if (error instanceof ConflictError && error.reason === 'version_mismatch') {
        stats.cancelRaces += 1;
        return false;
      }
      throw error;
    }
  };

  const canceller = async () => {
    while (!stop) {
      // Orchestrator: a queued task with a dependency that is cancelled, timed
      // out or failed for good can never become ready; cancel it. ('failed' is
      // final once committed: fail() moves to retrying in the same transaction.)
      const { rows: doomed } = await auxPool.query<{ id: TasksId; version: number }>(
        `SELECT t.id, t.version
           FROM agentry.tasks t
          WHERE t.status = 'queued'
            AND EXISTS (SELECT 1 FROM agentry.task_dependencies d JOIN agentry.tasks dep ON dep.id = d.depends_on_id
                         WHERE d.task_id = t.id AND dep.status IN ('cancelled', 'timeout', 'failed'))
          LIMIT 2000`,
      );
      for (const task of doomed) {
        if (await cancelOne(task.id, task.version, 'a dependency can no longer complete', 'load-orchestrator')) stats.cascadeCancels += 1;
      }
      // User: keep cancellations at about pCancel of the tasks finished so far.
      const due = Math.floor(options.pCancel * terminals.size) - stats.userCancels;
      if (due > 0) {
        const { rows: victims } = await auxPool.query<{ id: TasksId; version: number; status: string }>(
          `SELECT id, version, status FROM agentry.tasks
            WHERE status IN ('queued', 'assigned', 'running', 'retrying')
            ORDER BY random() LIMIT $1`,
          [Math.min(due, 10)],
        );
        for (const task of victims) {
          if (await cancelOne(task.id, task.version, 'cancelled by the user', 'load-user')) {
            stats.userCancels += 1;
            bump(stats.userCancelsFrom, task.status);
          }
        }
      }
      await sleep(doomed.length > 0 ? 5 : 40);
    }
  };

  const guard = (name: string, fn: () => Promise<void>) =>
    fn().catch((error: unknown) => {
      stats.errors.push(`${name}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
      stop = true;
    });

  const actors = [
    guard('feeder', feeder),
    guard('reaper', reaper),
    guard('canceller', canceller),
    ...workerIds.map((_, w) => guard(`worker ${w}`, () => work(w))),
  ];
  let finished = false;
  let lastReport = performance.now();
  while (!stop) {
    if (options.progress && performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      const ms = Object.fromEntries(Object.entries(stats.timeByOperation).map(([k, v]) => [k, `${v.calls}/${Math.round(v.ms)}ms`]));
      options.progress(`${Math.round((lastReport - started) / 1000)} s: fed ${fed}, finished ${terminals.size}, ops ${stats.operations} ${JSON.stringify(ms)}`);
    }
    if (fed === options.tasks && terminals.size >= options.tasks) {
      finished = true;
      break;
    }
    if (performance.now() > deadline) break;
    await sleep(20);
  }
  const wallMs = performance.now() - started;
  stop = true;
  await Promise.all(actors);
  return { options, stats, claims, attempts, terminals, doubleTerminals, permanent, taskIds, workflowIds, workerIds, agentIds, finished, wallMs };
}
