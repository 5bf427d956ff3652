import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AgentsId, WorkersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConflictError } from '../../src/dal/errors.js';
import { loadQueries } from '../../src/dal/sql.js';
import { useTestDatabase } from '../helpers/db.js';
import { recordFigures } from '../helpers/figures.js';
import { runLoad, type ClaimRecord, type LoadOptions, type LoadResult } from './support/load-driver.js';

// Issue 6, load: concurrent workers take a stream of workflows of
// DAG-dependent tasks through the whole life cycle with the real DAL (claim,
// start, complete, fail with retries, the reaper's requeue and timeout,
// cancel), with random failures, permanent failures, hangs that the reaper
// times out and user cancellations, then check the rows against what every
// actor saw.
//
// Cancellation and the DAG: a task whose dependency ended cancelled, timed
// out or failed for good can never become ready (claims want every
// dependency completed), and nothing in the schema or the DAL moves it on. The
// driver's orchestrator loop therefore cancels every queued task with such a
// dependency ("a dependency can no longer complete"), transitively as the
// cancellations land, so every task still ends in one terminal state.
//
// Size: AGENTRY_LOAD_TASKS tasks (default 100,000, the figure; in CI
// the file runs beside the rest of the suite and takes several minutes),
// AGENTRY_LOAD_WORKERS workers (16, one connection each, claims in batches of
// 8). Before migration hot_paths the roll-up trigger wrote the workflow row on
// every status change of its tasks (queued -> assigned included), so a
// workflow's transitions serialised, and batch claims deadlocked until the
// claim took its locks in id order (21f2a7e). Other
// knobs: AGENTRY_LOAD_SEED, AGENTRY_LOAD_WINDOW (unfinished tasks the feeder
// keeps queued, 1500), AGENTRY_LOAD_WF_MIN/MAX (workflow sizes, 10..60),
// AGENTRY_LOAD_TIMEOUT_MS (1,200 s; the run stops 60 s before), AGENTRY_LOAD_PROGRESS=1
// (a line every 10 s), AGENTRY_LOAD_SYNC_COMMIT=on, and AGENTRY_LOAD_QUERIES (another
// sql/queries folder, to compare statements: those before 21f2a7e deadlock).

const TASKS = Number(process.env.AGENTRY_LOAD_TASKS ?? 100_000);
const WORKERS = Number(process.env.AGENTRY_LOAD_WORKERS ?? 16);
const SEED = Number(process.env.AGENTRY_LOAD_SEED ?? 20_251_201);
/** The whole test (set-up, the run, the checks) must fit in this. */
const TEST_TIMEOUT_MS = Number(process.env.AGENTRY_LOAD_TIMEOUT_MS ?? 1_200_000);

const options: LoadOptions = {
  tasks: TASKS,
  workers: WORKERS,
  batchSize: 8,
  window: Number(process.env.AGENTRY_LOAD_WINDOW ?? 1500),
  workflowSize: [Number(process.env.AGENTRY_LOAD_WF_MIN ?? 10), Number(process.env.AGENTRY_LOAD_WF_MAX ?? 60)],
  pFail: 0.06,
  pPermanent: 0.05,
  pTimeoutTask: 0.005,
  pHang: 0.5,
  pCancel: 0.003,
  seed: SEED,
  deadlineMs: TEST_TIMEOUT_MS - 60_000,
  ...(process.env.AGENTRY_LOAD_PROGRESS && { progress: (line: string) => console.info(line) }),
};

const db = useTestDatabase({ max: 4 });
let pools: pg.Pool[] = [];
let workers: AgentryClient;
let feeder: AgentryClient;
let aux: AgentryClient;
let auxPool: pg.Pool;

/**
 * Commits do not wait for the WAL flush (AGENTRY_LOAD_SYNC_COMMIT=on to wait):
 * on a shared 2-core machine the flush, not the database's locking, is what
 * bounds a run otherwise. Locks, visibility and the order of commits are the
 * same; only a crash could lose the last moments, and none is injected here.
 */
const SYNC_COMMIT = process.env.AGENTRY_LOAD_SYNC_COMMIT === 'on' ? 'on' : 'off';

const poolOf = (max: number, settings = '') => {
  const options = `-c synchronous_commit=${SYNC_COMMIT} ${settings}`.trim();
  const pool = new pg.Pool({ connectionString: db.url, max, options }).on('error', () => undefined);
  // Our listener outlives close(): the database is dropped (terminating the sockets) right after this file.
  pool.on('connect', (client) => client.on('error', () => undefined));
  pools.push(pool);
  return pool;
};

beforeAll(async () => {
  const queries = process.env.AGENTRY_LOAD_QUERIES ? { queries: loadQueries(process.env.AGENTRY_LOAD_QUERIES) } : {};
  // One connection per worker.
  workers = createAgentry({ pool: poolOf(WORKERS) }, queries);
  // The feeder needs no planner settings of its own: the cycle check of every
  // new edge walks the graph by index lookups (migration hot_paths; before it,
  // a hash join over the whole edge table at each step slowed task creation
  // with every edge stored, about 10 s per 500 tasks at 15,000 edges).
  feeder = createAgentry({ pool: poolOf(1) }, queries);
  // The reaper and the canceller.
  auxPool = poolOf(2);
  aux = createAgentry({ pool: auxPool }, queries);
});

afterAll(async () => {
  await Promise.all([workers, feeder, aux].map((client) => client?.close()));
  await Promise.all(pools.map((pool) => pool.end()));
});

/** The load's tasks (the first test leaves tasks of its own in the database): those of its workflows. */
const LOAD_TASKS = `(SELECT t.* FROM agentry.tasks t JOIN agentry.workflows w ON w.id = t.workflow_id WHERE w.workflow_type = 'load_test')`;
const LOAD_WORKFLOWS = `(SELECT * FROM agentry.workflows WHERE workflow_type = 'load_test')`;

/** Claims of one task that overlap in time, or a later claim that did not see the earlier claim's last write. */
function doubleClaims(claims: ClaimRecord[]): { taskId: string; first: ClaimRecord; second: ClaimRecord }[] {
  const byTask = new Map<string, ClaimRecord[]>();
  for (const claim of claims) {
    const list = byTask.get(claim.taskId);
    if (list) list.push(claim);
    else byTask.set(claim.taskId, [claim]);
  }
  const found: { taskId: string; first: ClaimRecord; second: ClaimRecord }[] = [];
  for (const [taskId, list] of byTask) {
    list.sort((a, b) => a.claimVersion - b.claimVersion);
    for (let i = 1; i < list.length; i += 1) {
      const [first, second] = [list[i - 1]!, list[i]!];
      // The claim intervals recorded lie inside the real ones, so overlapping
      // recorded intervals are overlapping claims; and a claim must have
      // been made on top of everything the previous holder wrote.
      const overlap = !(first.heldUntil < second.heldFrom) || Number.isNaN(first.heldUntil);
      if (overlap || second.claimVersion <= first.lastVersion) found.push({ taskId, first, second });
    }
  }
  return found;
}

describe('batch statements over many workflows', () => {
  it('16 claimers taking batches of 16 across 60 workflows, completing as they go, never deadlock', async () => {
    // The roll-up trigger updates a claimed task's workflow row (and its
    // agent's). A batch used to take those locks in row order, so two batches
    // over the same workflows deadlocked (about one per second of this load);
    // work.claim_ready_tasks now locks them in id order first.
    const claimers = 16;
    const { rows: fleet } = await db.pool.query<{ worker_id: WorkersId; agent_id: AgentsId }>(
      `WITH w AS (
         INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools)
         SELECT 'order-' || g, 'order ' || g, '{}', '[]' FROM generate_series(1, $1::int) AS g RETURNING id, machine_id)
       INSERT INTO agentry.agents (id, name, worker_id)
       SELECT w.machine_id || '-agent', w.machine_id || ' agent', w.id FROM w
       RETURNING worker_id, id AS agent_id`,
      [claimers],
    );
    const workflows = await Promise.all(Array.from({ length: 60 }, (_, i) => aux.work.createWorkflow({ name: `order ${i}` })));
    const capability = 'lock-order';
    await aux.work.createTasks(
      Array.from({ length: 3000 }, (_, i) => ({
        title: `order ${i}`,
        status: 'queued' as const,
        capability_required: capability,
        workflow_id: workflows[i % workflows.length]!.id,
        // Every batch, most urgent first, spans many workflows.
        priority: 1 + ((i * 7) % 10),
      })),
    );
    const deadlocks: string[] = [];
    /** Runs the call again after a deadlock (its transaction was rolled back), noting the statement. */
    const noting = async <T>(fn: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await fn();
        } catch (error) {
          if (!(error instanceof ConflictError && error.reason === 'deadlock')) throw error;
          deadlocks.push(error.query ?? '?');
          // Each one costs deadlock_timeout (1 s): a few are proof enough.
          if (deadlocks.length >= 5) throw new Error(`deadlocks in ${deadlocks.join(', ')}`);
        }
      }
    };
    let done = 0;
    const claimLoop = async ({ worker_id: workerId, agent_id: agentId }: (typeof fleet)[number]) => {
      for (;;) {
        const claimed = await noting(() => workers.work.claimReadyTasks({ workerId, agentId, batchSize: 16, capability }));
        if (claimed.length === 0) return;
        for (const task of claimed) {
          const running = await noting(() => workers.work.start(task.id, task.version));
          await noting(() => workers.work.complete(running.id, running.version, { ok: true }, { tokens: 1 }));
          done += 1;
        }
      }
    };
    await Promise.all(fleet.map((claimant) => claimLoop(claimant)));
    expect(deadlocks).toEqual([]);
    expect(done).toBe(3000);
    const { rows } = await db.pool.query<{ completed: number }>(
      `SELECT sum(completed_tasks)::int AS completed FROM agentry.workflows WHERE id = ANY ($1::uuid[])`,
      [workflows.map((workflow) => workflow.id)],
    );
    expect(rows[0]!.completed).toBe(3000);
  }, 120_000);
});

describe('the task life cycle under load', () => {
  let result: LoadResult;

  it(
    `${WORKERS} workers take ${TASKS.toLocaleString('en')} DAG-dependent tasks through claim, start, complete, fail, retry, timeout and cancel; every row adds up`,
    async () => {
      result = await runLoad(options, { workers, feeder, aux, auxPool });
      const { stats } = result;
      const wallSeconds = result.wallMs / 1000;

      // Nothing went wrong in an actor, and the run finished within its deadline.
      expect(stats.errors).toEqual([]);
      expect(stats.unexplainedConflicts).toEqual([]);
      expect(result.doubleTerminals).toEqual([]);
      expect(
        result.finished,
        `not finished after ${Math.round(wallSeconds)} s: ${result.taskIds.length} of ${TASKS} tasks created, ${result.terminals.size} finished (AGENTRY_LOAD_TASKS sets the size)`,
      ).toBe(true);

      // -- every task: exactly one terminal state, the one its actor saw ---------
      const { rows: tasks } = await db.pool.query<{
        id: string;
        status: string;
        retry_count: number;
        max_retries: number;
        retry_policy: string;
        next_retry_at: Date | null;
      }>(`SELECT id, status, retry_count, max_retries, retry_policy, next_retry_at FROM ${LOAD_TASKS} AS t`);
      const terminalStatuses = new Set(['completed', 'failed', 'timeout', 'cancelled']);
      const lost: string[] = [];
      const wrongTerminal: string[] = [];
      const failedWithRetriesLeft: string[] = [];
      for (const task of tasks) {
        const seen = result.terminals.get(task.id);
        if (!terminalStatuses.has(task.status) || !seen) lost.push(`${task.id} ${task.status} (seen: ${seen?.kind ?? 'nothing'})`);
        else if (seen.kind !== task.status) wrongTerminal.push(`${task.id}: row ${task.status}, seen ${seen.kind} by ${seen.by}`);
        if (
          task.status === 'failed' &&
          task.retry_policy !== 'none' &&
          task.retry_count < task.max_retries &&
          !result.permanent.has(task.id)
        ) {
          failedWithRetriesLeft.push(task.id);
        }
      }
      expect(tasks).toHaveLength(TASKS);
      expect(new Set(result.taskIds).size).toBe(TASKS);
      expect(result.terminals.size).toBe(TASKS);
      expect(lost.slice(0, 10)).toEqual([]);
      expect(wrongTerminal.slice(0, 10)).toEqual([]);
      expect(failedWithRetriesLeft.slice(0, 10)).toEqual([]);

      // What the actors counted is what the rows say.
      const byStatus = Object.fromEntries(
        (await db.pool.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM ${LOAD_TASKS} AS t GROUP BY status`)).rows.map(
          (row) => [row.status, row.n],
        ),
      );
      expect(byStatus).toEqual(
        Object.fromEntries(
          Object.entries({
            completed: stats.completions,
            failed: stats.finalFailures,
            timeout: stats.timeouts,
            cancelled: stats.userCancels + stats.cascadeCancels,
          }).filter(([, n]) => n > 0),
        ),
      );

      // -- no task was held by two workers at once --------------------------------
      const doubles = doubleClaims(result.claims);
      expect(doubles.slice(0, 5)).toEqual([]);
      expect(result.claims.filter((claim) => claim.end === 'held')).toEqual([]);
      // The last claimer is the worker and agent the row names.
      const lastClaim = new Map<string, ClaimRecord>();
      for (const claim of result.claims) {
        const previous = lastClaim.get(claim.taskId);
        if (!previous || previous.claimVersion < claim.claimVersion) lastClaim.set(claim.taskId, claim);
      }
      const { rows: owners } = await db.pool.query<{ id: string; worker_id: string | null; agent_id: string | null }>(
        `SELECT id, worker_id, agent_id FROM ${LOAD_TASKS} AS t`,
      );
      const wrongOwner = owners.filter((row) => {
        const claim = lastClaim.get(row.id);
        if (!claim) return row.worker_id !== null || row.agent_id !== null;
        return row.worker_id !== result.workerIds[claim.worker] || row.agent_id !== result.agentIds[claim.worker];
      });
      expect(wrongOwner.slice(0, 5)).toEqual([]);

      // -- no attempt started before its dependencies had completed ---------------
      // Every start the workers saw (retries included: started_at is cleared
      // on retry, so the rows alone keep only the last attempt), and the rows.
      const checker = await db.pool.connect();
      let attemptViolations: number;
      let rowViolations: number;
      try {
        await checker.query('CREATE TEMP TABLE load_attempts (task_id uuid NOT NULL, started_at timestamptz NOT NULL)');
        for (let i = 0; i < result.attempts.length; i += 20_000) {
          const slice = result.attempts.slice(i, i + 20_000);
          await checker.query('INSERT INTO load_attempts SELECT * FROM unnest($1::uuid[], $2::timestamptz[])', [
            slice.map((attempt) => attempt.taskId),
            slice.map((attempt) => attempt.startedAt),
          ]);
        }
        await checker.query('ANALYZE load_attempts');
        attemptViolations = (
          await checker.query<{ n: number }>(
            `SELECT count(*)::int AS n
               FROM load_attempts a
               JOIN agentry.task_dependencies d ON d.task_id = a.task_id
               JOIN agentry.tasks dep ON dep.id = d.depends_on_id
              WHERE dep.status <> 'completed' OR dep.completed_at > a.started_at`,
          )
        ).rows[0]!.n;
        rowViolations = (
          await checker.query<{ n: number }>(
            `SELECT count(*)::int AS n
               FROM ${LOAD_TASKS} AS t
               JOIN agentry.task_dependencies d ON d.task_id = t.id
               JOIN agentry.tasks dep ON dep.id = d.depends_on_id
              WHERE t.started_at IS NOT NULL AND (dep.status <> 'completed' OR dep.completed_at > t.started_at)`,
          )
        ).rows[0]!.n;
      } finally {
        await checker.query('DROP TABLE IF EXISTS load_attempts').catch(() => undefined);
        checker.release();
      }
      expect(result.attempts.length).toBe(stats.starts);
      expect(attemptViolations).toBe(0);
      expect(rowViolations).toBe(0);
      // Completed is only ever reached through a start: every completed task has a recorded attempt.
      const started = new Set(result.attempts.map((attempt) => attempt.taskId));
      const completedWithoutStart = [...result.terminals].filter(([id, seen]) => seen.kind === 'completed' && !started.has(id));
      expect(completedWithoutStart).toEqual([]);

      // -- workflow counters equal the counted rows, and the status they derive ---
      const { rows: workflowMismatches } = await db.pool.query(
        `SELECT w.id, w.status, w.total_tasks, w.completed_tasks, w.failed_tasks, w.cancelled_tasks,
                w.total_tokens_used, w.total_cost_usd, w.started_at, w.completed_at, c.*
           FROM ${LOAD_WORKFLOWS} AS w
           LEFT JOIN LATERAL (
             SELECT count(*)::int AS n_total,
                    count(*) FILTER (WHERE t.status = 'completed')::int AS n_completed,
                    count(*) FILTER (WHERE t.status IN ('failed', 'timeout'))::int AS n_failed,
                    count(*) FILTER (WHERE t.status = 'cancelled')::int AS n_cancelled,
                    coalesce(sum(t.tokens_used), 0)::bigint AS n_tokens,
                    coalesce(sum(t.cost_usd), 0)::numeric AS n_cost,
                    bool_or(t.started_at IS NOT NULL) AS any_started
               FROM agentry.tasks t WHERE t.workflow_id = w.id
           ) c ON true
          WHERE w.total_tasks <> c.n_total
             OR w.completed_tasks <> c.n_completed
             OR w.failed_tasks <> c.n_failed
             OR w.cancelled_tasks <> c.n_cancelled
             OR w.total_tokens_used <> c.n_tokens
             OR w.total_cost_usd <> c.n_cost
             -- every task has finished: the status follows from the counters
             OR w.status <> CASE WHEN c.n_failed > 0 THEN 'failed' WHEN c.n_completed > 0 THEN 'completed' ELSE 'cancelled' END
             OR w.completed_at IS NULL
             OR (c.any_started AND w.started_at IS NULL)`,
      );
      const { rows: workflowCount } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${LOAD_WORKFLOWS} AS w`);
      expect(workflowCount[0]!.n).toBe(result.workflowIds.length);

      // -- agent counters equal the counted rows ---------------------------------
      const { rows: agentMismatches } = await db.pool.query(
        `SELECT a.id, a.total_tasks_completed, a.total_tasks_failed, a.total_tokens_used, a.success_rate, c.*
           FROM agentry.agents a
           LEFT JOIN LATERAL (
             SELECT count(*) FILTER (WHERE t.status = 'completed')::int AS n_completed,
                    count(*) FILTER (WHERE t.status IN ('failed', 'timeout'))::int AS n_failed,
                    coalesce(sum(t.tokens_used), 0)::bigint AS n_tokens
               FROM agentry.tasks t WHERE t.agent_id = a.id
           ) c ON true
          WHERE a.id = ANY ($1::varchar[])
            AND (a.total_tasks_completed <> c.n_completed
                 OR a.total_tasks_failed <> c.n_failed
                 OR a.total_tokens_used <> c.n_tokens
                 OR a.success_rate IS DISTINCT FROM
                    CASE WHEN c.n_completed + c.n_failed > 0 THEN round(c.n_completed::numeric / (c.n_completed + c.n_failed), 4) END)`,
        [result.agentIds],
      );
      const counterMismatches = workflowMismatches.length + agentMismatches.length;

      // -- nothing stuck -----------------------------------------------------------
      const { rows: stuck } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${LOAD_TASKS} AS t
          WHERE status NOT IN ('completed', 'failed', 'timeout', 'cancelled')`,
      );
      const { rows: workerRows } = await db.pool.query<{ status: string; last_heartbeat: Date | null }>(
        `SELECT status, last_heartbeat FROM agentry.workers WHERE id = ANY ($1::uuid[])`,
        [result.workerIds],
      );

      const claimsPerWorker = result.workerIds.map((_, w) => result.claims.filter((claim) => claim.worker === w).length);
      const retriedConflicts = Object.values(stats.retriedConflicts).reduce((sum, n) => sum + n, 0);
      const figures = {
        tasks: TASKS,
        workers: WORKERS,
        workflows: result.workflowIds.length,
        dependencyEdges: stats.dependencyEdges,
        claims: stats.claims,
        claimCalls: stats.claimCalls,
        starts: stats.starts,
        completions: stats.completions,
        failCalls: stats.failCalls,
        failures: stats.finalFailures,
        permanentFailures: stats.permanentFailures,
        retries: stats.retriesScheduled,
        requeued: stats.requeued,
        hangs: stats.hangs,
        timeouts: stats.timeouts,
        cancellations: stats.userCancels + stats.cascadeCancels,
        userCancellations: stats.userCancels,
        cascadeCancellations: stats.cascadeCancels,
        cancelRaces: stats.cancelRaces,
        workerCallsLostToCancel: stats.lostTo.cancelled ?? 0,
        workerCallsLostToTimeout: stats.lostTo.timeout ?? 0,
        deadlocksRetried: stats.retriedConflicts.deadlock ?? 0,
        conflictsRetried: retriedConflicts,
        doubleClaims: doubles.length,
        dependencyViolations: attemptViolations + rowViolations,
        counterMismatches,
        tasksLost: lost.length,
        stuckTasks: stuck[0]!.n,
        wallSeconds: Math.round(wallSeconds * 10) / 10,
        createSeconds: Math.round(stats.createMs / 100) / 10,
        operations: stats.operations,
        operationsPerSecond: Math.round(stats.operations / wallSeconds),
        tasksPerSecond: Math.round(TASKS / wallSeconds),
        seed: SEED,
      };
      recordFigures('load', figures);
      console.info(`lifecycle load: ${JSON.stringify({ ...figures, retriedConflicts: stats.conflictsByQuery, userCancelsFrom: stats.userCancelsFrom, claimsPerWorker })}`);

      expect(workflowMismatches.slice(0, 3)).toEqual([]);
      expect(agentMismatches.slice(0, 3)).toEqual([]);
      expect(stuck[0]!.n).toBe(0);
      expect(workerRows.every((row) => row.status === 'offline' && row.last_heartbeat !== null)).toBe(true);

      // The run exercised what it claims to: every path was taken, every worker worked.
      expect(claimsPerWorker.every((n) => n > 0)).toBe(true);
      expect(stats.completions).toBeGreaterThan(TASKS / 2);
      expect(stats.retriesScheduled).toBeGreaterThan(0);
      // A scheduled retry was requeued by the reaper, or the task was cancelled while it waited.
      expect(stats.requeued + (stats.userCancelsFrom.retrying ?? 0)).toBe(stats.retriesScheduled);
      expect(stats.finalFailures).toBeGreaterThan(0);
      expect(stats.timeouts).toBeGreaterThan(0);
      expect(stats.userCancels).toBeGreaterThan(0);
      expect(stats.cascadeCancels).toBeGreaterThan(0);
      expect(stats.claims).toBe(result.claims.length);
    },
    TEST_TIMEOUT_MS,
  );
});
