import { randomUUID } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Tasks, TasksId, WorkersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConflictError } from '../../src/dal/errors.js';
import type { NewTask } from '../../src/dal/work.js';
import { useTestDatabase } from '../helpers/db.js';

// Concurrent claimers and writers, each on its own client and pool (its own
// connection), against one real database.

const CLAIMERS = 8;
const db = useTestDatabase();
let pools: pg.Pool[] = [];
let clients: AgentryClient[] = [];
let workers: WorkersId[] = [];

beforeAll(async () => {
  // Pools of our own, whose error listener outlives close(): pool.end() resolves
  // before its connections have closed, and the database is dropped (terminating
  // them) right after this file's afterAll.
  pools = Array.from({ length: CLAIMERS }, () => new pg.Pool({ connectionString: db.url, max: 1 }).on('error', () => undefined));
  clients = pools.map((pool) => createAgentry({ pool }));
  const { rows } = await db.pool.query<{ id: WorkersId }>(
    `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools)
     SELECT 'concurrency-' || g, 'claimer ' || g, '{}', '[]' FROM generate_series(1, $1::int) AS g RETURNING id`,
    [CLAIMERS],
  );
  workers = rows.map((row) => row.id);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await Promise.all(pools.map((pool) => pool.end()));
});

const capabilityFor = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

describe('claimReadyTasks under concurrency', () => {
  it('8 claimers over 2,000 ready tasks claim each exactly once, every batch most urgent first', async () => {
    const capability = capabilityFor('claim');
    const batch: NewTask[] = Array.from({ length: 2000 }, (_, i) => ({
      title: `ready ${i}`,
      status: 'queued',
      capability_required: capability,
      // Spread over all priorities, not in creation order.
      priority: 1 + ((i * 7) % 10),
    }));
    const created = await clients[0]!.work.createTasks(batch);
    expect(created).toHaveLength(2000);

    const claimLoop = async (client: AgentryClient, worker: WorkersId) => {
      const batches: Tasks[][] = [];
      for (;;) {
        const claimed = await client.work.claimReadyTasks({ workerId: worker, batchSize: 25, capability });
        // Empty: every remaining task is taken (or locked by a claimer that is taking it).
        if (claimed.length === 0) return batches;
        batches.push(claimed);
      }
    };
    const results = await Promise.all(clients.map((client, i) => claimLoop(client, workers[i]!)));

    const claimedIds = results.flat(2).map((task) => task.id);
    expect(claimedIds).toHaveLength(2000);
    expect(new Set(claimedIds).size).toBe(2000);
    expect(new Set(claimedIds)).toEqual(new Set(created.map((task) => task.id)));
    // More than one claimer got work (SKIP LOCKED let them proceed side by side).
    expect(results.filter((batches) => batches.length > 0).length).toBeGreaterThan(1);

    results.forEach((batches, i) => {
      for (const claimed of batches) {
        expect(claimed.length).toBeLessThanOrEqual(25);
        for (const task of claimed) expect(task).toMatchObject({ status: 'assigned', worker_id: workers[i] });
        // Within a batch: priority 10 first, then oldest.
        for (let j = 1; j < claimed.length; j += 1) {
          const [before, after] = [claimed[j - 1]!, claimed[j]!];
          expect(before.priority > after.priority || (before.priority === after.priority && before.created_at <= after.created_at)).toBe(true);
        }
      }
    });
    const { rows } = await db.pool.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM agentry.tasks WHERE capability_required = $1 GROUP BY status`,
      [capability],
    );
    expect(rows).toEqual([{ status: 'assigned', n: '2000' }]);
  });

  it('never hands out a task whose dependencies are not all completed, while claimers run and complete work', async () => {
    const PARSE_TO_SNAPSHOT_MS = 50;
    const capability = capabilityFor('deps');
    const parents = Array.from({ length: 40 }, () => randomUUID() as TasksId);
    const batch: NewTask[] = [
      ...parents.map((id, i) => ({ id, title: `parent ${i}`, status: 'queued' as const, capability_required: capability, priority: 1 })),
      // Children are the most urgent: a claim that ignored readiness would take them first.
      ...parents.map((parent, i) => ({
        title: `child ${i}`,
        status: 'queued' as const,
        capability_required: capability,
        priority: 10,
        depends_on: i > 0 ? [parent, parents[i - 1]!] : [parent],
      })),
    ];
    const created = await clients[0]!.work.createTasks(batch);
    const dependsOn = new Map(created.map((task, i) => [task.id as string, (batch[i]!.depends_on ?? []) as string[]]));

    const claimedAt = new Map<string, Date>();
    const completedAt = new Map<string, Date>();
    const work = async (client: AgentryClient, worker: WorkersId) => {
      for (let idle = 0; completedAt.size < created.length && idle < 200; ) {
        const claimed = await client.work.claimReadyTasks({ workerId: worker, batchSize: 3, capability, status: 'running' });
        if (claimed.length === 0) {
          idle += 1;
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        idle = 0;
        for (const task of claimed) {
          claimedAt.set(task.id, task.assigned_at ?? task.started_at!);
          const done = await client.work.complete(task.id, task.version, { by: worker });
          completedAt.set(done.id, done.completed_at!);
        }
      }
    };
    await Promise.all(clients.slice(0, 4).map((client, i) => work(client, workers[i]!)));

    expect(completedAt.size).toBe(created.length);
    for (const [id, deps] of dependsOn) {
      for (const dep of deps) {
        // The claim's snapshot was taken after the dependency's completion committed. Its now()
        // is stamped earlier, when the Parse message opens the transaction (the snapshot comes
        // with Bind, after planning), so the stamps may be that gap apart the other way.
        expect(claimedAt.get(id)!.getTime()).toBeGreaterThanOrEqual(completedAt.get(dep)!.getTime() - PARSE_TO_SNAPSHOT_MS);
      }
    }
  });
});

describe('optimistic locking under concurrency', () => {
  it('concurrent updates of one task at the same version have exactly one winner; the others get ConflictError', async () => {
    for (let round = 0; round < 5; round += 1) {
      const task = await clients[0]!.work.createTask({ title: `contended ${round}`, status: 'queued' });
      const outcomes = await Promise.allSettled(
        clients.map((client, i) =>
          i % 2 === 0 ? client.work.start(task.id, task.version, { assigned_tool: `tool ${i}` }) : client.work.cancel(task.id, task.version, `cancel ${i}`),
        ),
      );
      const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const losers = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(CLAIMERS - 1);
      for (const error of losers) {
        expect(error).toBeInstanceOf(ConflictError);
        expect(error).toMatchObject({ reason: 'version_mismatch', id: task.id, expectedVersion: task.version });
      }
      const final = await clients[0]!.work.getTask(task.id);
      expect(final.version).toBe(task.version + 1);
      expect(final).toMatchObject({ status: (winners[0] as PromiseFulfilledResult<Tasks>).value.status });
    }
  });
});
