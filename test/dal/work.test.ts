import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';

import type { TaskStatus, TaskTypesName, Tasks, TasksId, WorkersId, WorkflowsId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import {
  ConflictError,
  ConstraintViolation,
  CycleViolation,
  IllegalTransition,
  MissingInputKey,
  NotFound,
  ValidationError,
} from '../../src/dal/errors.js';
import { DEFAULT_RETRY_BACKOFF, type NewTask } from '../../src/dal/work.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();
let agentry: AgentryClient;
/** A client that is already closed: any statement it tried to run would fail with "agentry client is closed". */
let closed: AgentryClient;

beforeAll(async () => {
  agentry = createAgentry({ connectionString: db.url, max: 3 });
  closed = createAgentry({ connectionString: db.url });
  await closed.close();
});

afterAll(async () => {
  await agentry?.close();
  // close() resolves before the pool's connections have closed; the database is
  // dropped right after this hook, which would terminate them mid-close.
  for (let i = 0; i < 100; i += 1) {
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'agentry'`,
    );
    if (rows[0]!.n === '0') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

const tag = () => randomUUID().slice(0, 8);
const taskId = () => randomUUID() as TasksId;
const asTaskId = (id: string) => id as TasksId;

async function insertWorker(): Promise<WorkersId> {
  const { rows } = await db.pool.query<{ id: WorkersId }>(
    `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ($1, 'test machine', '{}', '[]') RETURNING id`,
    [`machine-${tag()}`],
  );
  return rows[0]!.id;
}

async function countTasksTitled(prefix: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM agentry.tasks WHERE title LIKE $1`, [`${prefix}%`]);
  return Number(rows[0]!.n);
}

async function countEdges(ids: readonly string[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM agentry.task_dependencies WHERE task_id = ANY($1::uuid[]) OR depends_on_id = ANY($1::uuid[])`,
    [ids],
  );
  return Number(rows[0]!.n);
}

/** A queued task with a capability no other test claims, so claims in one test never take another's tasks. */
function queued(capability: string, extra: Partial<NewTask> = {}): NewTask {
  return { title: `${capability} task`, status: 'queued', capability_required: capability, ...extra };
}

/** queued -> running -> completed through the API. */
async function runToCompletion(task: Tasks): Promise<Tasks> {
  const running = await agentry.work.start(task.id, task.version);
  return agentry.work.complete(running.id, running.version, { ok: true });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('getTask', () => {
  it('returns the row typed with the generated union; NotFound for a missing id, ValidationError for a malformed one', async () => {
    const created = await agentry.work.createTask({ title: `get ${tag()}` });
    const task = await agentry.work.getTask(created.id);
    expect(task).toMatchObject({ id: created.id, status: 'pending', version: 0 });
    // Type level: the status is the generated vocabulary, not string.
    expectTypeOf(task.status).toEqualTypeOf<TaskStatus>();
    expectTypeOf(task.status).not.toEqualTypeOf<string>();
    expectTypeOf(task.retry_policy).toEqualTypeOf<'none' | 'fixed' | 'linear' | 'exponential'>();
    expectTypeOf(task.id).toEqualTypeOf<TasksId>();
    // numeric stays a string, bigint too.
    expectTypeOf(task.cost_usd).toEqualTypeOf<string>();
    expect(task.cost_usd).toBe('0.000000');

    const missing = taskId();
    await expect(agentry.work.getTask(missing)).rejects.toThrow(new NotFound('task', missing));
    await expect(closed.work.getTask(asTaskId('not-a-uuid'))).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('createTask / createTasks', () => {
  it('creates a task with the column defaults for everything left out', async () => {
    const title = `defaults ${tag()}`;
    const task = await agentry.work.createTask({ title });
    const { rows } = await db.pool.query<Tasks>(`INSERT INTO agentry.tasks (title) VALUES ($1) RETURNING *`, [`${title} raw`]);
    const raw = rows[0]!;
    // The statement spells these defaults out (coalesce): they must stay equal to the migration's.
    for (const column of [
      'status',
      'priority',
      'metadata',
      'max_retries',
      'retry_policy',
      'routing_strategy',
      'checkpoint_frequency',
      'privacy_level',
      'tags',
      'retry_count',
      'version',
      'progress',
      'tokens_used',
      'cost_usd',
    ] as const) {
      expect(task[column], column).toEqual(raw[column]);
    }
    expect(task.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(task.created_at).toBeInstanceOf(Date);
  });

  it('creates a task with its fields and dependencies in one go', async () => {
    const [a, b] = await agentry.work.createTasks([{ title: `dep a ${tag()}` }, { title: `dep b ${tag()}` }]);
    const task = await agentry.work.createTask({
      type: 'text_analysis' as TaskTypesName,
      title: `with deps ${tag()}`,
      status: 'queued',
      priority: 9,
      input: { text: 'hello' },
      tags: ['x', 'y'],
      timeout_seconds: 60,
      expires_at: new Date('2030-01-01T00:00:00Z'),
      estimated_hours: '1.50',
      retry_policy: 'linear',
      depends_on: [a!.id, b!.id, a!.id],
    });
    expect(task).toMatchObject({
      type: 'text_analysis',
      status: 'queued',
      priority: 9,
      input: { text: 'hello' },
      tags: ['x', 'y'],
      timeout_seconds: 60,
      estimated_hours: '1.50',
      retry_policy: 'linear',
    });
    expect(task.expires_at).toEqual(new Date('2030-01-01T00:00:00Z'));
    const [readiness] = await agentry.work.getReadiness([task.id]);
    expect(readiness).toMatchObject({ task_id: task.id, unmet_dependencies: '2', is_blocked: true });
    expect([...readiness!.blocked_by].sort()).toEqual([a!.id, b!.id].sort());
  });

  it('creates a batch whose tasks depend on each other, in input order', async () => {
    const first = taskId();
    const second = taskId();
    const prefix = `batch ${tag()}`;
    const tasks = await agentry.work.createTasks([
      { id: second, title: `${prefix} 2`, depends_on: [first] },
      { id: first, title: `${prefix} 1` },
      { title: `${prefix} 3`, depends_on: [first, second] },
    ]);
    expect(tasks.map((t) => t.title)).toEqual([`${prefix} 2`, `${prefix} 1`, `${prefix} 3`]);
    expect(tasks[0]!.id).toBe(second);
    const readiness = await agentry.work.getReadiness(tasks.map((t) => t.id));
    expect(readiness.map((r) => r.unmet_dependencies)).toEqual(['1', '0', '2']);
    expect(await agentry.work.createTasks([])).toEqual([]);
  });

  it('refuses bad input with ValidationError before any SQL', async () => {
    const cases: [string, unknown][] = [
      ['fractional priority', { title: 'x', priority: 2.5 }],
      ['unknown status', { title: 'x', status: 'done' }],
      ['a status only a transition reaches', { title: 'x', status: 'running' }],
      ['unknown retry policy', { title: 'x', retry_policy: 'sometimes' }],
      ['bad uuid dependency', { title: 'x', depends_on: ['not-a-uuid'] }],
      ['bad workflow id', { title: 'x', workflow_id: '42' }],
      ['life-cycle column', { title: 'x', version: 3 }],
      ['unknown column', { title: 'x', colour: 'red' }],
      ['input not an object', { title: 'x', input: 'text' }],
    ];
    for (const [label, input] of cases) {
      const error = await rejection(closed.work.createTask(input as NewTask));
      expect(error, label).toBeInstanceOf(ValidationError);
    }
    const error = (await rejection(closed.work.createTasks([{ title: 'ok' }, { title: 'x', priority: 2.5 } as NewTask]))) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues[0]!.path).toEqual([1, 'priority']);
  });

  it('leaves integer ranges to the database: its named CHECK refuses them, and nothing is written', async () => {
    const cases: [string, object, string][] = [
      ['priority 11', { priority: 11 }, 'chk_tasks_priority_range'],
      ['priority 0', { priority: 0 }, 'chk_tasks_priority_range'],
      ['max_retries 11', { max_retries: 11 }, 'chk_tasks_max_retries_range'],
      ['complexity 6', { complexity: 6 }, 'chk_tasks_complexity_range'],
      ['timeout 0', { timeout_seconds: 0 }, 'chk_tasks_timeout_positive'],
    ];
    const title = `range-${Date.now()}`;
    for (const [label, input, constraint] of cases) {
      const error = (await rejection(agentry.work.createTask({ title, ...input } as NewTask))) as ConstraintViolation;
      expect(error, label).toBeInstanceOf(ConstraintViolation);
      expect(error.constraint, label).toBe(constraint);
      expect(error.message, label).toContain(`(${constraint})`);
    }
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM agentry.tasks WHERE title = $1', [title]);
    expect(rows[0].n).toBe(0);
  });

  it('an unknown dependency refuses the whole batch and leaves nothing', async () => {
    const prefix = `unknown dep ${tag()}`;
    const missing = taskId();
    const error = (await rejection(
      agentry.work.createTasks([{ title: `${prefix} a` }, { title: `${prefix} b`, depends_on: [missing] }]),
    )) as ConstraintViolation;
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect(error).toMatchObject({ kind: 'foreign_key', constraint: 'fk_task_dependencies_depends_on_id' });
    expect(await countTasksTitled(prefix)).toBe(0);
  });

  it('a cycle refuses the whole batch and leaves nothing', async () => {
    const prefix = `cycle ${tag()}`;
    const [a, b, c] = [taskId(), taskId(), taskId()];
    const error = (await rejection(
      agentry.work.createTasks([
        { id: a, title: `${prefix} a`, depends_on: [c] },
        { id: b, title: `${prefix} b`, depends_on: [a] },
        { id: c, title: `${prefix} c`, depends_on: [b] },
      ]),
    )) as CycleViolation;
    expect(error).toBeInstanceOf(CycleViolation);
    expect(error.graph).toBe('dependencies');
    expect(await countTasksTitled(prefix)).toBe(0);
    expect(await countEdges([a, b, c])).toBe(0);

    // A task depending on itself is the self-edge CHECK's to refuse.
    const self = taskId();
    await expect(agentry.work.createTask({ id: self, title: `${prefix} self`, depends_on: [self] })).rejects.toMatchObject({
      constructor: ConstraintViolation,
      constraint: 'chk_task_dependencies_not_self',
    });
    expect(await countTasksTitled(prefix)).toBe(0);
  });

  it("passes the database's own refusals through as mapped errors", async () => {
    await expect(agentry.work.createTask({ type: 'text_analysis' as TaskTypesName, input: { prompt: 'no text' } })).rejects.toBeInstanceOf(
      MissingInputKey,
    );
    await expect(agentry.work.createTask({ priority: 3 })).rejects.toMatchObject({ constraint: 'chk_tasks_has_subject' });
    await expect(agentry.work.createTask({ title: 'x', type: 'no_such_type' as TaskTypesName })).rejects.toMatchObject({
      kind: 'foreign_key',
      constraint: 'fk_tasks_type',
    });
  });
});

describe('addDependencies', () => {
  it('adds edges, keeps existing ones, and refuses a cycle with nothing added', async () => {
    const [a, b, c] = await agentry.work.createTasks([{ title: `edge a ${tag()}` }, { title: `edge b ${tag()}` }, { title: `edge c ${tag()}` }]);
    const added = await agentry.work.addDependencies(b!.id, [a!.id]);
    expect(added).toEqual([expect.objectContaining({ task_id: b!.id, depends_on_id: a!.id })]);
    expect(await agentry.work.addDependencies(b!.id, [a!.id])).toEqual([]);
    await agentry.work.addDependencies(c!.id, [b!.id]);
    // a -> c would close a -> c -> b -> a; c -> ... is refused as a whole.
    const error = await rejection(agentry.work.addDependencies(a!.id, [c!.id]));
    expect(error).toBeInstanceOf(CycleViolation);
    expect(await countEdges([a!.id])).toBe(1);
    await expect(agentry.work.addDependencies(a!.id, [taskId()])).rejects.toMatchObject({ kind: 'foreign_key' });
    await expect(closed.work.addDependencies(a!.id, [])).rejects.toBeInstanceOf(ValidationError);
    await expect(closed.work.addDependencies(a!.id, [asTaskId('nope')])).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('claimReadyTasks', () => {
  it('claims queued tasks, priority 10 first then oldest, moves them to assigned and records the worker', async () => {
    const capability = `cap-${tag()}`;
    const worker = await insertWorker();
    const low = await agentry.work.createTask(queued(capability, { priority: 2 }));
    const urgent = await agentry.work.createTask(queued(capability, { priority: 10 }));
    const olderMid = await agentry.work.createTask(queued(capability, { priority: 5 }));
    const newerMid = await agentry.work.createTask(queued(capability, { priority: 5 }));
    await agentry.work.createTask({ ...queued(capability), status: 'pending' });

    const first = await agentry.work.claimReadyTasks({ workerId: worker, batchSize: 3, capability });
    expect(first.map((t) => t.id)).toEqual([urgent.id, olderMid.id, newerMid.id]);
    for (const task of first) {
      expect(task).toMatchObject({ status: 'assigned', worker_id: worker, agent_id: null, version: 1 });
      expect(task.assigned_at).toBeInstanceOf(Date);
    }
    const second = await agentry.work.claimReadyTasks({ workerId: worker, batchSize: 3, capability });
    expect(second.map((t) => t.id)).toEqual([low.id]);
    // The pending one is not ready; nothing is left.
    expect(await agentry.work.claimReadyTasks({ workerId: worker, batchSize: 3, capability })).toEqual([]);
  });

  it('never claims a task before every dependency is completed', async () => {
    const capability = `cap-${tag()}`;
    const [parent, other] = await agentry.work.createTasks([queued(capability, { priority: 1 }), queued(capability, { priority: 1 })]);
    const child = await agentry.work.createTask(queued(capability, { priority: 10, depends_on: [parent!.id, other!.id] }));

    const claimed = await agentry.work.claimReadyTasks({ batchSize: 10, capability });
    expect(claimed.map((t) => t.id).sort()).toEqual([parent!.id, other!.id].sort());
    const [first, second] = claimed;
    await runToCompletion(first!);
    // One dependency completed, one still assigned: still blocked.
    expect(await agentry.work.claimReadyTasks({ batchSize: 10, capability })).toEqual([]);
    await runToCompletion(second!);
    const [ready] = await agentry.work.claimReadyTasks({ batchSize: 10, capability });
    expect(ready!.id).toBe(child.id);
  });

  it('filters by type and capability, claims straight to running for an agent when asked', async () => {
    const capability = `cap-${tag()}`;
    const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO agentry.agents (id, name) VALUES ($1, $1) RETURNING id`, [`agent-${tag()}`]);
    const agentId = rows[0]!.id;
    const research = await agentry.work.createTask(queued(capability, { type: 'research' as TaskTypesName }));
    const fetch = await agentry.work.createTask(queued(capability, { type: 'fetch' as TaskTypesName }));

    const claimed = await agentry.work.claimReadyTasks({
      agentId: agentId as never,
      batchSize: 5,
      capability,
      types: ['research' as TaskTypesName],
      status: 'running',
    });
    expect(claimed).toHaveLength(1);
    expect(claimed[0]).toMatchObject({ id: research.id, status: 'running', agent_id: agentId, worker_id: null });
    expect(claimed[0]!.started_at).toBeInstanceOf(Date);
    expect(await agentry.work.claimReadyTasks({ batchSize: 5, capability: `${capability}-other` })).toEqual([]);
    expect((await agentry.work.getTask(fetch.id)).status).toBe('queued');
  });

  it('refuses bad options with ValidationError, an unknown worker with ConstraintViolation', async () => {
    const bad: unknown[] = [
      { batchSize: 0 },
      { batchSize: 1.5 },
      {},
      { batchSize: 1, workerId: 'w1' },
      { batchSize: 1, status: 'completed' },
      { batchSize: 1, types: [] },
      { batchSize: 1, colour: 'red' },
    ];
    for (const options of bad) await expect(closed.work.claimReadyTasks(options as never), JSON.stringify(options)).rejects.toBeInstanceOf(ValidationError);

    const capability = `cap-${tag()}`;
    await agentry.work.createTask(queued(capability));
    await expect(agentry.work.claimReadyTasks({ workerId: randomUUID() as WorkersId, batchSize: 1, capability })).rejects.toMatchObject({
      kind: 'foreign_key',
      constraint: 'fk_tasks_worker_id',
    });
  });
});

describe('transition and the life cycle', () => {
  it('moves a task under its version, applies the patch and adds usage', async () => {
    const task = await agentry.work.createTask({ title: `life ${tag()}` });
    const queuedTask = await agentry.work.enqueue(task.id, task.version);
    expect(queuedTask).toMatchObject({ status: 'queued', version: 1 });
    const running = await agentry.work.start(queuedTask.id, queuedTask.version, { assigned_tool: 'claude_code' });
    expect(running).toMatchObject({ status: 'running', version: 2, assigned_tool: 'claude_code' });
    expect(running.started_at).toBeInstanceOf(Date);
    // No move: a patch only (progress) under the version lock.
    const progressed = await agentry.work.updateTask(running.id, running.version, { progress: '40.5', metadata: { step: 2 } }, { tokens: 100, costUsd: '0.0015' });
    expect(progressed).toMatchObject({ status: 'running', progress: '40.50', metadata: { step: 2 }, tokens_used: 100, cost_usd: '0.001500', version: 3 });
    await expect(agentry.work.updateTask(running.id, running.version, { progress: '50' })).rejects.toBeInstanceOf(ConflictError);
    const done = await agentry.work.complete(progressed.id, progressed.version, { answer: 42 }, { tokens: 50, costUsd: '0.0005' });
    expect(done).toMatchObject({ status: 'completed', output: { answer: 42 }, tokens_used: 150, cost_usd: '0.002000', version: 4 });
    expect(done.completed_at).toBeInstanceOf(Date);
    expect(done.duration_ms).toMatch(/^\d+$/);
  });

  it('IllegalTransition for a move the state machine does not list', async () => {
    const task = await agentry.work.createTask(queued(`cap-${tag()}`));
    const error = (await rejection(agentry.work.complete(task.id, task.version, {}))) as IllegalTransition;
    expect(error).toBeInstanceOf(IllegalTransition);
    expect(error).toMatchObject({ from: 'queued', to: 'completed', taskId: task.id });
    expect((await agentry.work.getTask(task.id)).version).toBe(task.version);

    // A move to the status the task already has is no move: refused too, and nothing is written.
    const done = await runToCompletion(await agentry.work.createTask(queued(`cap-${tag()}`)));
    const again = (await rejection(agentry.work.complete(done.id, done.version, { second: true }, { tokens: 5 }))) as IllegalTransition;
    expect(again).toBeInstanceOf(IllegalTransition);
    expect(again).toMatchObject({ from: 'completed', to: 'completed', message: 'illegal task status transition: completed -> completed (trg_tasks_status_transition)' });
    expect(await agentry.work.getTask(done.id)).toMatchObject({ output: { ok: true }, tokens_used: 0, version: done.version });
  });

  it('ConflictError for a stale version, NotFound for a missing task', async () => {
    const task = await agentry.work.createTask({ title: `stale ${tag()}` });
    await agentry.work.enqueue(task.id, task.version);
    const error = (await rejection(agentry.work.enqueue(task.id, task.version))) as ConflictError;
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ reason: 'version_mismatch', entity: 'task', id: task.id, expectedVersion: 0, retryable: false });
    const missing = taskId();
    await expect(agentry.work.transition(missing, 0, 'queued')).rejects.toThrow(new NotFound('task', missing));
  });

  it('refuses bad arguments with ValidationError before any SQL', async () => {
    const id = taskId();
    const calls: [string, () => Promise<unknown>][] = [
      ['unknown status', () => closed.work.transition(id, 0, 'finished' as TaskStatus)],
      ['bad uuid', () => closed.work.transition(asTaskId('123'), 0, 'queued')],
      ['negative version', () => closed.work.transition(id, -1, 'queued')],
      ['fractional version', () => closed.work.transition(id, 1.5, 'queued')],
      ['unknown patch key', () => closed.work.transition(id, 0, 'queued', { status: 'running' } as never)],
      ['patch of a life-cycle column', () => closed.work.transition(id, 0, 'queued', { version: 9 } as never)],
      ['negative tokens', () => closed.work.complete(id, 0, {}, { tokens: -1 })],
      ['output not an object', () => closed.work.complete(id, 0, 'done' as never)],
      ['empty failure message', () => closed.work.fail(id, 0, { message: '' })],
      ['empty cancellation reason', () => closed.work.cancel(id, 0, '')],
      ['zero limit', () => closed.work.requeueDueRetries(0)],
      ['zero limit', () => closed.work.markTimedOut(0)],
    ];
    for (const [label, call] of calls) expect(await rejection(call()), label).toBeInstanceOf(ValidationError);
  });

  it('fail schedules a retry with exponential backoff (30 s, 60 s, 120 s) until the retries are used up', async () => {
    const task = await agentry.work.createTask(queued(`cap-${tag()}`, { max_retries: 3 }));
    let current = await agentry.work.start(task.id, task.version);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const retrying = await agentry.work.fail(current.id, current.version, { message: `attempt ${attempt} broke`, details: { attempt } }, { usage: { tokens: 10 } });
      expect(retrying).toMatchObject({
        status: 'retrying',
        retry_count: attempt,
        error_message: `attempt ${attempt} broke`,
        last_error: `attempt ${attempt} broke`,
        error_details: { attempt },
        tokens_used: 10 * attempt,
      });
      // Both are now() of the one transaction that failed and rescheduled the task.
      delays.push((retrying.next_retry_at!.getTime() - retrying.updated_at.getTime()) / 1000);
      // Make it due (test only), then let the API requeue and restart it.
      await db.pool.query(`UPDATE agentry.tasks SET next_retry_at = now() - interval '1 second' WHERE id = $1`, [task.id]);
      const requeued = (await agentry.work.requeueDueRetries(1000)).find((t) => t.id === task.id);
      expect(requeued).toMatchObject({ status: 'queued', next_retry_at: null });
      current = await agentry.work.start(requeued!.id, requeued!.version);
    }
    expect(delays).toEqual([30, 60, 120]);
    const final = await agentry.work.fail(current.id, current.version, { message: 'out of retries' });
    expect(final).toMatchObject({ status: 'failed', retry_count: 3, next_retry_at: null, error_message: 'out of retries' });
  });

  it('fixed and linear backoff, the cap, and no retry for policy none or a permanent error', async () => {
    const capability = `cap-${tag()}`;
    const delayOf = (task: Tasks) => (task.next_retry_at!.getTime() - task.updated_at.getTime()) / 1000;
    const failOnce = async (extra: Partial<NewTask>, options: Parameters<typeof agentry.work.fail>[3] = {}, retryable?: boolean) => {
      const task = await agentry.work.createTask(queued(capability, extra));
      const running = await agentry.work.start(task.id, task.version);
      return agentry.work.fail(running.id, running.version, { message: 'boom', ...(retryable !== undefined && { retryable }) }, options);
    };
    expect(delayOf(await failOnce({ retry_policy: 'fixed' }))).toBe(DEFAULT_RETRY_BACKOFF.baseSeconds);
    expect(delayOf(await failOnce({ retry_policy: 'linear' }, { backoff: { baseSeconds: 7 } }))).toBe(7);
    expect(delayOf(await failOnce({ retry_policy: 'exponential' }, { backoff: { baseSeconds: 100, capSeconds: 50 } }))).toBe(50);
    expect(await failOnce({ retry_policy: 'none' })).toMatchObject({ status: 'failed', retry_count: 0, next_retry_at: null });
    expect(await failOnce({ max_retries: 0 })).toMatchObject({ status: 'failed', retry_count: 0 });
    expect(await failOnce({}, {}, false)).toMatchObject({ status: 'failed', retry_count: 0 });

    // Linear: the second retry waits twice the base.
    const task = await agentry.work.createTask(queued(capability, { retry_policy: 'linear' }));
    let current = await agentry.work.start(task.id, task.version);
    current = await agentry.work.fail(current.id, current.version, { message: '1' }, { backoff: { baseSeconds: 0 } });
    const [requeued] = (await agentry.work.requeueDueRetries(1000)).filter((t) => t.id === task.id);
    current = await agentry.work.start(requeued!.id, requeued!.version);
    expect(delayOf(await agentry.work.fail(current.id, current.version, { message: '2' }, { backoff: { baseSeconds: 10 } }))).toBe(20);
  });

  it('fail from a status that cannot fail changes nothing', async () => {
    const task = await agentry.work.createTask(queued(`cap-${tag()}`));
    await expect(agentry.work.fail(task.id, task.version, { message: 'never ran' })).rejects.toMatchObject({
      constructor: IllegalTransition,
      from: 'queued',
      to: 'failed',
    });
    expect(await agentry.work.getTask(task.id)).toMatchObject({ status: 'queued', version: 0, error_message: null });
    await expect(agentry.work.fail(task.id, 5, { message: 'stale' })).rejects.toBeInstanceOf(ConflictError);
  });

  it('requeueDueRetries leaves retries that are not due yet', async () => {
    const task = await agentry.work.createTask(queued(`cap-${tag()}`));
    const running = await agentry.work.start(task.id, task.version);
    const retrying = await agentry.work.fail(running.id, running.version, { message: 'later' });
    expect(retrying.status).toBe('retrying');
    expect((await agentry.work.requeueDueRetries(1000)).map((t) => t.id)).not.toContain(task.id);
    expect((await agentry.work.getTask(task.id)).status).toBe('retrying');
  });

  it('cancel records why and who; a finished task cannot be cancelled', async () => {
    const task = await agentry.work.createTask(queued(`cap-${tag()}`));
    const cancelled = await agentry.work.cancel(task.id, task.version, 'no longer needed', 'alice');
    expect(cancelled).toMatchObject({ status: 'cancelled', cancellation_reason: 'no longer needed', cancelled_by: 'alice' });
    expect(cancelled.cancelled_at).toBeInstanceOf(Date);
    await expect(agentry.work.cancel(task.id, task.version, 'again')).rejects.toBeInstanceOf(ConflictError);
    const error = (await rejection(agentry.work.cancel(cancelled.id, cancelled.version, 'again'))) as IllegalTransition;
    expect(error).toBeInstanceOf(IllegalTransition);
    expect(error).toMatchObject({ from: 'cancelled', to: 'cancelled', taskId: task.id, constraint: 'trg_tasks_status_transition' });
    expect((await agentry.work.getTask(task.id)).cancellation_reason).toBe('no longer needed');
    const done = await runToCompletion(await agentry.work.createTask(queued(`cap-${tag()}`)));
    await expect(agentry.work.cancel(done.id, done.version, 'too late')).rejects.toMatchObject({ constructor: IllegalTransition, from: 'completed' });
  });

  it('markTimedOut moves running tasks past timeout_seconds to timeout, and only those', async () => {
    const capability = `cap-${tag()}`;
    const [overdue, fresh, unlimited] = await agentry.work.createTasks([
      queued(capability, { timeout_seconds: 60 }),
      queued(capability, { timeout_seconds: 3600 }),
      queued(capability),
    ]);
    await agentry.work.claimReadyTasks({ batchSize: 3, capability, status: 'running' });
    // Test only: pretend these started two minutes ago.
    await db.pool.query(
      `UPDATE agentry.tasks SET created_at = created_at - interval '2 minutes', started_at = started_at - interval '2 minutes' WHERE id = ANY($1::uuid[])`,
      [[overdue!.id, fresh!.id, unlimited!.id]],
    );
    const timedOut = await agentry.work.markTimedOut(1000);
    expect(timedOut.map((t) => t.id)).toContain(overdue!.id);
    expect(timedOut.map((t) => t.id)).not.toContain(fresh!.id);
    expect(timedOut.map((t) => t.id)).not.toContain(unlimited!.id);
    const row = timedOut.find((t) => t.id === overdue!.id)!;
    expect(row).toMatchObject({ status: 'timeout', error_message: 'timed out: still running 60 s after it started' });
    expect(row.completed_at).toBeInstanceOf(Date);
    expect((await agentry.work.getTask(fresh!.id)).status).toBe('running');
    expect(await agentry.work.markTimedOut(1000)).not.toContainEqual(expect.objectContaining({ id: overdue!.id }));
  });
});

describe('subtasks', () => {
  it('getSubtaskTree returns the root and its descendants depth first, with depth', async () => {
    const root = await agentry.work.createTask({ title: 'root' });
    const a = await agentry.work.createSubtask(root.id, { title: 'a' });
    const b = await agentry.work.createSubtask(root.id, { title: 'b' });
    const a1 = await agentry.work.createSubtask(a.id, { title: 'a1' });
    const a1x = await agentry.work.createSubtask(a1.id, { title: 'a1x' });
    const b1 = await agentry.work.createSubtask(b.id, { title: 'b1' });
    expect(a.parent_task_id).toBe(root.id);

    const tree = await agentry.work.getSubtaskTree(root.id);
    expect(tree.map((t) => [t.title, t.depth])).toEqual([
      ['root', 0],
      ['a', 1],
      ['a1', 2],
      ['a1x', 3],
      ['b', 1],
      ['b1', 2],
    ]);
    expect(tree.map((t) => t.id)).toEqual([root.id, a.id, a1.id, a1x.id, b.id, b1.id]);
    expect(tree[3]).toMatchObject({ status: 'pending', parent_task_id: a1.id });
    expect((await agentry.work.getSubtaskTree(b.id)).map((t) => [t.title, t.depth])).toEqual([
      ['b', 0],
      ['b1', 1],
    ]);
  });

  it('NotFound for a missing root; an unknown parent is a foreign key violation; bad ids are ValidationErrors', async () => {
    const missing = taskId();
    await expect(agentry.work.getSubtaskTree(missing)).rejects.toThrow(new NotFound('task', missing));
    await expect(agentry.work.createSubtask(missing, { title: 'orphan' })).rejects.toMatchObject({
      kind: 'foreign_key',
      constraint: 'fk_tasks_parent_task_id',
    });
    await expect(closed.work.getSubtaskTree(asTaskId('x'))).rejects.toBeInstanceOf(ValidationError);
    await expect(closed.work.createSubtask(asTaskId('x'), { title: 'x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(closed.work.createSubtask(missing, { title: 'x', parent_task_id: missing } as never)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('workflows', () => {
  it('counts its tasks through their life and reports progress, status and times', async () => {
    const capability = `cap-${tag()}`;
    const workflow = await agentry.work.createWorkflow({ name: `wf ${tag()}`, workflow_type: 'review', metadata: { team: 'a' } });
    expect(workflow).toMatchObject({ status: 'pending', total_tasks: 0, metadata: { team: 'a' } });
    const empty = await agentry.work.getWorkflowProgress(workflow.id);
    expect(empty).toMatchObject({ total_tasks: 0, remaining_tasks: 0, percent_complete: '0.00', status: 'pending', started_at: null });

    const [one, two, three] = await agentry.work.createTasks([
      queued(capability, { workflow_id: workflow.id }),
      queued(capability, { workflow_id: workflow.id }),
      queued(capability, { workflow_id: workflow.id }),
    ]);
    const loose = await agentry.work.createTask(queued(capability));
    await agentry.work.addTasksToWorkflow(workflow.id, [loose.id]);
    expect(await agentry.work.getWorkflowProgress(workflow.id)).toMatchObject({ total_tasks: 4, remaining_tasks: 4, status: 'pending' });

    const claimed = await agentry.work.claimReadyTasks({ batchSize: 4, capability });
    const byId = new Map(claimed.map((t) => [t.id, t]));
    const running = await agentry.work.start(one!.id, byId.get(one!.id)!.version);
    await agentry.work.complete(running.id, running.version, { done: true }, { tokens: 1000, costUsd: '0.25' });
    const started = await agentry.work.getWorkflowProgress(workflow.id);
    expect(started).toMatchObject({
      status: 'running',
      total_tasks: 4,
      completed_tasks: 1,
      remaining_tasks: 3,
      percent_complete: '25.00',
      total_tokens_used: '1000',
      total_cost_usd: '0.250000',
      completed_at: null,
      duration_ms: null,
    });
    expect(started.started_at).toBeInstanceOf(Date);

    const twoRunning = await agentry.work.start(two!.id, byId.get(two!.id)!.version);
    await agentry.work.fail(twoRunning.id, twoRunning.version, { message: 'bad', retryable: false });
    await agentry.work.cancel(three!.id, byId.get(three!.id)!.version, 'not needed');
    expect(await agentry.work.getWorkflowProgress(workflow.id)).toMatchObject({
      completed_tasks: 1,
      failed_tasks: 1,
      cancelled_tasks: 1,
      remaining_tasks: 1,
      percent_complete: '75.00',
      status: 'running',
    });
    await runToCompletion(byId.get(loose.id)!);
    const finished = await agentry.work.getWorkflowProgress(workflow.id);
    expect(finished).toMatchObject({ remaining_tasks: 0, percent_complete: '100.00', status: 'failed' });
    expect(finished.completed_at).toBeInstanceOf(Date);
    expect(finished.duration_ms).toMatch(/^\d+$/);
  });

  it('addTasksToWorkflow is all or nothing; errors for a missing workflow, task or bad input', async () => {
    const workflow = await agentry.work.createWorkflow({ name: `wf ${tag()}` });
    const task = await agentry.work.createTask({ title: `wf task ${tag()}` });
    const missing = taskId();
    await expect(agentry.work.addTasksToWorkflow(workflow.id, [task.id, missing])).rejects.toThrow(new NotFound('task', missing));
    expect((await agentry.work.getTask(task.id)).workflow_id).toBeNull();
    expect((await agentry.work.getWorkflowProgress(workflow.id)).total_tasks).toBe(0);
    await expect(agentry.work.addTasksToWorkflow(randomUUID() as WorkflowsId, [task.id])).rejects.toMatchObject({
      kind: 'foreign_key',
      constraint: 'fk_tasks_workflow_id',
    });
    const missingWorkflow = randomUUID() as WorkflowsId;
    await expect(agentry.work.getWorkflowProgress(missingWorkflow)).rejects.toThrow(new NotFound('workflow', missingWorkflow));
    await expect(closed.work.getWorkflowProgress('x' as WorkflowsId)).rejects.toBeInstanceOf(ValidationError);
    await expect(closed.work.addTasksToWorkflow(workflow.id, [])).rejects.toBeInstanceOf(ValidationError);
    await expect(closed.work.createWorkflow({ name: 'x', status: 'running' } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(closed.work.createWorkflow({} as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.work.createWorkflow({ name: 'x', user_id: randomUUID() as never })).rejects.toMatchObject({ kind: 'foreign_key' });
  });
});

describe('getReadiness', () => {
  it('reports unmet dependencies in the order asked; NotFound for a missing task', async () => {
    const [dep, task] = await agentry.work.createTasks([{ title: `r dep ${tag()}`, status: 'queued' }, { title: `r task ${tag()}` }]);
    await agentry.work.addDependencies(task!.id, [dep!.id]);
    const readiness = await agentry.work.getReadiness([task!.id, dep!.id]);
    expect(readiness).toEqual([
      { task_id: task!.id, unmet_dependencies: '1', blocked_by: [dep!.id], is_blocked: true },
      { task_id: dep!.id, unmet_dependencies: '0', blocked_by: [], is_blocked: false },
    ]);
    await runToCompletion(dep!);
    expect(await agentry.work.getReadiness([task!.id])).toEqual([{ task_id: task!.id, unmet_dependencies: '0', blocked_by: [], is_blocked: false }]);
    const missing = taskId();
    await expect(agentry.work.getReadiness([task!.id, missing])).rejects.toThrow(new NotFound('task', missing));
    await expect(closed.work.getReadiness([])).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('transactions', () => {
  it('a transaction that throws after createTask leaves nothing: no task, no edge, no workflow count', async () => {
    const prefix = `rolled back ${tag()}`;
    const workflow = await agentry.work.createWorkflow({ name: prefix });
    const dep = await agentry.work.createTask({ title: `${prefix} dependency` });
    const boom = new Error('boom');
    let createdId: string | undefined;
    const error = await rejection(
      agentry.transaction(async (tx) => {
        const task = await tx.work.createTask({ title: `${prefix} task`, workflow_id: workflow.id, depends_on: [dep.id] });
        createdId = task.id;
        // Visible inside the transaction...
        expect((await tx.work.getWorkflowProgress(workflow.id)).total_tasks).toBe(1);
        throw boom;
      }),
    );
    expect(error).toBe(boom);
    // ...and gone after it.
    await expect(agentry.work.getTask(createdId as TasksId)).rejects.toBeInstanceOf(NotFound);
    expect(await countTasksTitled(`${prefix} task`)).toBe(0);
    expect(await countEdges([dep.id])).toBe(0);
    expect((await agentry.work.getWorkflowProgress(workflow.id)).total_tasks).toBe(0);
  });

  it('runs with the privileges of the app role (agentry_app)', async () => {
    const app = createAgentry({ connectionString: db.url, max: 1, options: '-c role=agentry_app' });
    try {
      const capability = `cap-${tag()}`;
      const workflow = await app.work.createWorkflow({ name: `app ${tag()}` });
      const [a, b] = await app.work.createTasks([queued(capability, { workflow_id: workflow.id }), queued(capability, { workflow_id: workflow.id })]);
      await app.work.addDependencies(b!.id, [a!.id]);
      const [claimed] = await app.work.claimReadyTasks({ batchSize: 5, capability, status: 'running' });
      const retrying = await app.work.fail(claimed!.id, claimed!.version, { message: 'x' }, { backoff: { baseSeconds: 0 } });
      expect(retrying.status).toBe('retrying');
      expect((await app.work.requeueDueRetries(1000)).map((t) => t.id)).toContain(a!.id);
      expect(await app.work.getReadiness([b!.id])).toEqual([expect.objectContaining({ is_blocked: true })]);
      expect((await app.work.getSubtaskTree(a!.id)).length).toBe(1);
      expect((await app.work.getWorkflowProgress(workflow.id)).total_tasks).toBe(2);
      await app.work.markTimedOut(10);
    } finally {
      await app.close();
    }
  });
});
