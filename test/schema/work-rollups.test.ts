// Roll-ups kept by triggers on tasks (trg_tasks_rollups_insert, _update,
// _delete) into workflows (with trg_workflows_derive_state) and agents (with
// trg_agents_success_rate), including under concurrent task updates.
import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, expectRefused } from './support.js';
import { insertAgent, insertTask, insertWorkflow, taskById } from './work-fixtures.js';

const db = useTestDatabase();

interface WorkflowRow {
  status: string;
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  cancelled_tasks: number;
  total_tokens_used: string;
  total_cost_usd: string;
  started_at: Date | null;
  completed_at: Date | null;
  duration_ms: string | null;
}

interface AgentRow {
  total_tasks_completed: number;
  total_tasks_failed: number;
  total_tokens_used: string;
  success_rate: string | null;
  last_task_completed_at: Date | null;
  last_assigned_at: Date | null;
}

const workflow = async (id: string): Promise<WorkflowRow> =>
  (await accepted<WorkflowRow>(db.pool, 'SELECT * FROM agentry.workflows WHERE id = $1', [id]))[0]!;
const agent = async (id: string): Promise<AgentRow> =>
  (await accepted<AgentRow>(db.pool, 'SELECT * FROM agentry.agents WHERE id = $1', [id]))[0]!;
const setStatus = (id: string, status: string) => accepted(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [id, status]);
const counters = (w: WorkflowRow) => [w.total_tasks, w.completed_tasks, w.failed_tasks, w.cancelled_tasks];
/** Separate transactions get distinct now() values; a short pause makes durations measurable. */
const pause = () => new Promise((resolve) => setTimeout(resolve, 15));
/** A task that really started: inserted queued, then moved to running (which stamps started_at). */
async function startedTask(row: Record<string, unknown>) {
  const task = await insertTask(db.pool, { ...row, status: 'queued' });
  await setStatus(task.id, 'running');
  return task;
}

describe('workflow roll-ups (trg_tasks_rollups_insert, trg_tasks_rollups_update, trg_tasks_rollups_delete)', () => {
  it('count tasks by outcome and sum tokens and cost as tasks are inserted and updated', async () => {
    const w = await insertWorkflow(db.pool);
    await insertTask(db.pool, { workflow_id: w.id, tokens_used: 100, cost_usd: 0.01 });
    await insertTask(db.pool, { workflow_id: w.id, status: 'completed', tokens_used: 250, cost_usd: 0.025 });
    await insertTask(db.pool, { workflow_id: w.id, status: 'cancelled' });
    const t4 = await insertTask(db.pool, { workflow_id: w.id, status: 'running' });
    let row = await workflow(w.id);
    expect(counters(row)).toEqual([4, 1, 0, 1]);
    expect([row.total_tokens_used, row.total_cost_usd]).toEqual(['350', '0.035000']);

    await accepted(db.pool, 'UPDATE agentry.tasks SET tokens_used = 40, cost_usd = 0.004 WHERE id = $1', [t4.id]);
    await setStatus(t4.id, 'timeout'); // timeout counts as failed
    row = await workflow(w.id);
    expect(counters(row)).toEqual([4, 1, 1, 1]);
    expect([row.total_tokens_used, row.total_cost_usd]).toEqual(['390', '0.039000']);
  });

  it('status, started_at, completed_at and duration_ms follow the tasks (trg_workflows_derive_state)', async () => {
    const w = await insertWorkflow(db.pool);
    const a = await insertTask(db.pool, { workflow_id: w.id, status: 'queued' });
    const b = await insertTask(db.pool, { workflow_id: w.id });
    let row = await workflow(w.id);
    expect([row.status, row.started_at, row.completed_at, row.duration_ms]).toEqual(['pending', null, null, null]);

    await setStatus(a.id, 'running');
    const started = (await taskById(db.pool, a.id)).started_at;
    row = await workflow(w.id);
    expect(row.status).toBe('running');
    expect(row.started_at).toEqual(started);

    await pause();
    await setStatus(a.id, 'completed');
    expect((await workflow(w.id)).status).toBe('running'); // b is still pending

    await pause();
    await setStatus(b.id, 'cancelled');
    const finished = (await taskById(db.pool, b.id)).completed_at!;
    row = await workflow(w.id);
    expect(row.status).toBe('completed'); // something completed, nothing failed
    expect(row.completed_at).toEqual(finished);
    // JS dates hold milliseconds, the columns microseconds
    expect(Math.abs(Number(row.duration_ms) - (finished.getTime() - started!.getTime()))).toBeLessThanOrEqual(1);
    expect(Number(row.duration_ms)).toBeGreaterThan(0);
  });

  it('a task inserted with a started_at starts its workflow; one inserted running without it does not', async () => {
    const w = await insertWorkflow(db.pool);
    await insertTask(db.pool, { workflow_id: w.id, status: 'running' });
    expect([(await workflow(w.id)).status, (await workflow(w.id)).started_at]).toEqual(['pending', null]);
    await insertTask(db.pool, { workflow_id: w.id, status: 'running', created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:01Z' });
    const row = await workflow(w.id);
    expect(row.status).toBe('running');
    expect(row.started_at).not.toBeNull();
  });

  it('a failed or timed-out task makes a finished workflow failed; only cancellations make it cancelled', async () => {
    const failed = await insertWorkflow(db.pool);
    const f1 = await insertTask(db.pool, { workflow_id: failed.id, status: 'running' });
    const f2 = await insertTask(db.pool, { workflow_id: failed.id, status: 'running' });
    await setStatus(f1.id, 'completed');
    await setStatus(f2.id, 'failed');
    expect((await workflow(failed.id)).status).toBe('failed');

    const cancelled = await insertWorkflow(db.pool);
    const c1 = await insertTask(db.pool, { workflow_id: cancelled.id });
    await setStatus(c1.id, 'cancelled');
    const row = await workflow(cancelled.id);
    expect([row.status, row.started_at, row.duration_ms]).toEqual(['cancelled', null, null]);
    expect(row.completed_at).not.toBeNull();
  });

  it('new work reopens a finished workflow (running if it had started, pending if it never did)', async () => {
    const started = await insertWorkflow(db.pool);
    const s1 = await startedTask({ workflow_id: started.id });
    await setStatus(s1.id, 'completed');
    expect((await workflow(started.id)).status).toBe('completed');
    const s2 = await insertTask(db.pool, { workflow_id: started.id });
    let row = await workflow(started.id);
    expect([row.status, row.completed_at]).toEqual(['running', null]);
    await setStatus(s2.id, 'cancelled');
    row = await workflow(started.id);
    expect(row.status).toBe('completed');
    expect(row.completed_at).not.toBeNull();

    // All tasks cancelled before anything ran, then a task is added: the
    // workflow is no longer finished (it used to stay 'cancelled' with a completed_at).
    const never = await insertWorkflow(db.pool);
    const n1 = await insertTask(db.pool, { workflow_id: never.id });
    await setStatus(n1.id, 'cancelled');
    expect((await workflow(never.id)).status).toBe('cancelled');
    await insertTask(db.pool, { workflow_id: never.id });
    row = await workflow(never.id);
    expect([row.status, row.completed_at, row.started_at]).toEqual(['pending', null, null]);
  });

  it('moving a task between workflows moves its counts, tokens and cost; either side re-derives its state', async () => {
    const w1 = await insertWorkflow(db.pool);
    const w2 = await insertWorkflow(db.pool);
    const done = await startedTask({ workflow_id: w1.id, tokens_used: 10, cost_usd: 1 });
    await setStatus(done.id, 'completed');
    const open = await insertTask(db.pool, { workflow_id: w1.id, tokens_used: 5, cost_usd: 0.5 });
    const w2done = await insertTask(db.pool, { workflow_id: w2.id, status: 'completed', tokens_used: 1 });
    expect((await workflow(w1.id)).status).toBe('running');
    expect((await workflow(w2.id)).status).toBe('completed');

    // the open task leaves w1 (which is then finished) and joins w2 (which reopens)
    await accepted(db.pool, 'UPDATE agentry.tasks SET workflow_id = $2 WHERE id = $1', [open.id, w2.id]);
    const r1 = await workflow(w1.id);
    const r2 = await workflow(w2.id);
    expect(counters(r1)).toEqual([1, 1, 0, 0]);
    expect([r1.total_tokens_used, r1.total_cost_usd, r1.status]).toEqual(['10', '1.000000', 'completed']);
    expect(counters(r2)).toEqual([2, 1, 0, 0]);
    expect([r2.total_tokens_used, r2.total_cost_usd, r2.status, r2.completed_at]).toEqual(['6', '0.500000', 'pending', null]);

    // a finished task moved together with a status-free update of tokens
    await accepted(db.pool, 'UPDATE agentry.tasks SET workflow_id = $2, tokens_used = 20 WHERE id = $1', [w2done.id, w1.id]);
    expect(counters(await workflow(w1.id))).toEqual([2, 2, 0, 0]);
    expect((await workflow(w1.id)).total_tokens_used).toBe('30');
    expect(counters(await workflow(w2.id))).toEqual([1, 0, 0, 0]);
    expect((await workflow(w2.id)).total_tokens_used).toBe('5');

    // out of any workflow, and back
    await accepted(db.pool, 'UPDATE agentry.tasks SET workflow_id = NULL WHERE id = $1', [open.id]);
    expect(counters(await workflow(w2.id))).toEqual([0, 0, 0, 0]);
    await accepted(db.pool, 'UPDATE agentry.tasks SET workflow_id = $2 WHERE id = $1', [open.id, w2.id]);
    expect(counters(await workflow(w2.id))).toEqual([1, 0, 0, 0]);
  });

  it('deleting tasks takes them out of the counts; deleting the last open one finishes the workflow (trg_tasks_rollups_delete)', async () => {
    const w = await insertWorkflow(db.pool);
    const done = await startedTask({ workflow_id: w.id, tokens_used: 7 });
    await setStatus(done.id, 'completed');
    const failed = await insertTask(db.pool, { workflow_id: w.id, status: 'failed', tokens_used: 3 });
    const open = await insertTask(db.pool, { workflow_id: w.id, tokens_used: 1 });
    expect(counters(await workflow(w.id))).toEqual([3, 1, 1, 0]);

    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [failed.id]);
    let row = await workflow(w.id);
    expect(counters(row)).toEqual([2, 1, 0, 0]);
    expect([row.total_tokens_used, row.status]).toEqual(['8', 'running']);

    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [open.id]);
    row = await workflow(w.id);
    expect(counters(row)).toEqual([1, 1, 0, 0]);
    expect([row.total_tokens_used, row.status]).toEqual(['7', 'completed']);
  });

  it('subtasks deleted with their parent leave the counts too', async () => {
    const w = await insertWorkflow(db.pool);
    const parent = await insertTask(db.pool, { workflow_id: w.id });
    await insertTask(db.pool, { workflow_id: w.id, parent_task_id: parent.id, status: 'completed' });
    await insertTask(db.pool, { workflow_id: w.id, parent_task_id: parent.id, status: 'failed' });
    const other = await insertTask(db.pool, { workflow_id: w.id });
    expect(counters(await workflow(w.id))).toEqual([4, 1, 1, 0]);
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [parent.id]);
    expect(counters(await workflow(w.id))).toEqual([1, 0, 0, 0]);
    expect((await taskById(db.pool, other.id)).workflow_id).toBe(w.id);
  });

  it('moves that change no counter leave the workflow row alone; only its first start writes started_at', async () => {
    const w = await insertWorkflow(db.pool);
    const first = await insertTask(db.pool, { workflow_id: w.id, status: 'queued' });
    const second = await insertTask(db.pool, { workflow_id: w.id, status: 'queued' });
    const version = async () =>
      (await accepted<{ xmin: string }>(db.pool, 'SELECT xmin::text AS xmin FROM agentry.workflows WHERE id = $1', [w.id]))[0]!.xmin;
    const before = await version();
    await setStatus(first.id, 'assigned');
    expect(await version()).toBe(before);
    await setStatus(first.id, 'running');
    const started = await version();
    expect(started).not.toBe(before);
    const row = await workflow(w.id);
    expect([row.status, row.started_at]).toEqual(['running', expect.any(Date)]);
    // A second task starting in a running workflow neither writes nor locks its row.
    await setStatus(second.id, 'running');
    expect(await version()).toBe(started);
    expect((await workflow(w.id)).started_at).toEqual(row.started_at);
    // A counter change still writes it.
    await setStatus(second.id, 'completed');
    expect(await version()).not.toBe(started);
    expect(counters(await workflow(w.id))).toEqual([2, 1, 0, 0]);
  });

  it('a claim does not wait for another transaction holding a running workflow row', async () => {
    const w = await insertWorkflow(db.pool);
    const starter = await startedTask({ workflow_id: w.id });
    const other = await insertTask(db.pool, { workflow_id: w.id, status: 'queued' });
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM agentry.workflows WHERE id = $1 FOR NO KEY UPDATE', [w.id]);
      const claimer = await db.pool.connect();
      try {
        await claimer.query("SET lock_timeout = '2s'");
        await claimer.query("UPDATE agentry.tasks SET status = 'running' WHERE id = $1", [other.id]);
      } finally {
        await claimer.query('RESET lock_timeout');
        claimer.release();
      }
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    expect((await taskById(db.pool, other.id)).status).toBe('running');
    expect(starter.id).not.toBe(other.id);
  });

  it('chk_workflows_counters_consistent holds the counters together', async () => {
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.workflows (name, total_tasks, completed_tasks, failed_tasks) VALUES ($1, $2, $3, $4)',
      ['bad counters', 2, 2, 1],
      { constraint: 'chk_workflows_counters_consistent', table: 'workflows' },
    );
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.workflows (name, total_tasks, cancelled_tasks) VALUES ($1, $2, $3)',
      ['negative', 0, -1],
      { constraint: 'chk_workflows_counters_consistent', table: 'workflows' },
    );
  });
});

describe('agent roll-ups and success_rate (trg_agents_success_rate)', () => {
  it('count completed and failed (incl. timeout) tasks and tokens per agent; success_rate follows', async () => {
    const a = await insertAgent(db.pool);
    const before = await agent(a.id);
    expect([before.total_tasks_completed, before.total_tasks_failed, before.success_rate, before.last_assigned_at]).toEqual([0, 0, null, null]);

    const tasks = [];
    for (let i = 0; i < 5; i++) tasks.push(await insertTask(db.pool, { agent_id: a.id, status: 'running', tokens_used: 10 }));
    let row = await agent(a.id);
    expect(row.total_tokens_used).toBe('50');
    expect(row.last_assigned_at).not.toBeNull();
    expect(row.success_rate).toBeNull();

    await setStatus(tasks[0]!.id, 'completed');
    await setStatus(tasks[1]!.id, 'completed');
    await setStatus(tasks[2]!.id, 'completed');
    await setStatus(tasks[3]!.id, 'failed');
    await setStatus(tasks[4]!.id, 'timeout');
    row = await agent(a.id);
    expect([row.total_tasks_completed, row.total_tasks_failed, row.success_rate]).toEqual([3, 2, '0.6000']);
    expect(row.last_task_completed_at).not.toBeNull();

    await accepted(db.pool, 'UPDATE agentry.tasks SET tokens_used = tokens_used + 5 WHERE id = $1', [tasks[0]!.id]);
    expect((await agent(a.id)).total_tokens_used).toBe('55');

    // a failed task retried and then completed moves from the failed to the completed count
    await setStatus(tasks[3]!.id, 'retrying');
    row = await agent(a.id);
    expect([row.total_tasks_completed, row.total_tasks_failed, row.success_rate]).toEqual([3, 1, '0.7500']);
    await setStatus(tasks[3]!.id, 'queued');
    await setStatus(tasks[3]!.id, 'running');
    await setStatus(tasks[3]!.id, 'completed');
    row = await agent(a.id);
    expect([row.total_tasks_completed, row.total_tasks_failed, row.success_rate]).toEqual([4, 1, '0.8000']);
  });

  it('reassigning (trg_tasks_rollups_update) and deleting (trg_tasks_rollups_delete) tasks move the counts between agents', async () => {
    const a = await insertAgent(db.pool);
    const b = await insertAgent(db.pool);
    const done = await insertTask(db.pool, { agent_id: a.id, status: 'completed', tokens_used: 30 });
    const failed = await insertTask(db.pool, { agent_id: a.id, status: 'failed', tokens_used: 20 });
    expect([(await agent(a.id)).total_tasks_completed, (await agent(a.id)).success_rate]).toEqual([1, '0.5000']);

    await accepted(db.pool, 'UPDATE agentry.tasks SET agent_id = $2 WHERE id = $1', [done.id, b.id]);
    const ra = await agent(a.id);
    const rb = await agent(b.id);
    expect([ra.total_tasks_completed, ra.total_tasks_failed, ra.total_tokens_used, ra.success_rate]).toEqual([0, 1, '20', '0.0000']);
    expect([rb.total_tasks_completed, rb.total_tasks_failed, rb.total_tokens_used, rb.success_rate]).toEqual([1, 0, '30', '1.0000']);
    expect(rb.last_assigned_at).not.toBeNull();

    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [failed.id]);
    const ra2 = await agent(a.id);
    expect([ra2.total_tasks_completed, ra2.total_tasks_failed, ra2.total_tokens_used, ra2.success_rate]).toEqual([0, 0, '0', null]);
  });

  it('trg_agents_success_rate derives success_rate whenever the counters are written', async () => {
    const a = await insertAgent(db.pool);
    const [row] = await accepted<AgentRow>(
      db.pool,
      'UPDATE agentry.agents SET total_tasks_completed = 1, total_tasks_failed = 2, success_rate = 0.99 WHERE id = $1 RETURNING *',
      [a.id],
    );
    expect(row?.success_rate).toBe('0.3333');
    const [zero] = await accepted<AgentRow>(
      db.pool,
      'UPDATE agentry.agents SET total_tasks_completed = 0, total_tasks_failed = 0 WHERE id = $1 RETURNING *',
      [a.id],
    );
    expect(zero?.success_rate).toBeNull();
  });
});

describe('roll-ups under concurrency', () => {
  it('4 connections inserting and then completing/failing 200 tasks of one workflow and 2 agents leave exact counters', async () => {
    const w = await insertWorkflow(db.pool);
    const agents = [await insertAgent(db.pool), await insertAgent(db.pool)];
    const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: db.url }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      // Phase 1: concurrent inserts, 50 per connection, 10 per transaction.
      const ids: string[][] = await Promise.all(
        clients.map(async (client, c) => {
          const mine: string[] = [];
          for (let batch = 0; batch < 5; batch++) {
            await client.query('BEGIN');
            for (let i = 0; i < 10; i++) {
              const n = c * 50 + batch * 10 + i;
              const { rows } = await client.query<{ id: string }>(
                `INSERT INTO agentry.tasks (title, status, workflow_id, agent_id, tokens_used, cost_usd)
                 VALUES ($1, 'running', $2, $3, $4, $5) RETURNING id`,
                [`concurrent ${n}`, w.id, agents[n % 2]!.id, n, n / 1000],
              );
              mine.push(rows[0]!.id);
            }
            await client.query('COMMIT');
          }
          return mine;
        }),
      );
      expect(ids.flat()).toHaveLength(200);
      expect((await workflow(w.id)).total_tasks).toBe(200);

      // Phase 2: concurrent outcomes, 5 tasks per transaction, interleaved across connections.
      await Promise.all(
        clients.map(async (client, c) => {
          const mine = ids[c]!;
          for (let start = 0; start < mine.length; start += 5) {
            await client.query('BEGIN');
            for (const [k, id] of mine.slice(start, start + 5).entries()) {
              const outcome = (start + k + c) % 3 === 0 ? 'failed' : (start + k) % 7 === 0 ? 'timeout' : 'completed';
              await client.query('UPDATE agentry.tasks SET status = $2, tokens_used = tokens_used + 1 WHERE id = $1', [id, outcome]);
            }
            await client.query('COMMIT');
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }

    const [truth] = await accepted<{
      total: string;
      completed: string;
      failed: string;
      cancelled: string;
      tokens: string;
      cost: string;
    }>(
      db.pool,
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE status = 'completed') AS completed,
              count(*) FILTER (WHERE status IN ('failed', 'timeout')) AS failed,
              count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
              sum(tokens_used) AS tokens, sum(cost_usd) AS cost
         FROM agentry.tasks WHERE workflow_id = $1`,
      [w.id],
    );
    const row = await workflow(w.id);
    expect(counters(row)).toEqual([Number(truth!.total), Number(truth!.completed), Number(truth!.failed), Number(truth!.cancelled)]);
    expect(Number(truth!.completed)).toBeGreaterThan(0);
    expect(Number(truth!.failed)).toBeGreaterThan(0);
    expect(Number(truth!.total)).toBe(200);
    expect(row.total_tokens_used).toBe(truth!.tokens);
    expect(Number(row.total_cost_usd)).toBeCloseTo(Number(truth!.cost), 6);
    expect(row.status).toBe('failed');
    expect(row.completed_at).not.toBeNull();

    for (const a of agents) {
      const [counted] = await accepted<{ completed: string; failed: string; tokens: string }>(
        db.pool,
        `SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status IN ('failed', 'timeout')) AS failed,
                sum(tokens_used) AS tokens
           FROM agentry.tasks WHERE agent_id = $1`,
        [a.id],
      );
      const r = await agent(a.id);
      const completed = Number(counted!.completed);
      const failed = Number(counted!.failed);
      expect([r.total_tasks_completed, r.total_tasks_failed, r.total_tokens_used]).toEqual([completed, failed, counted!.tokens]);
      expect(Number(r.success_rate)).toBeCloseTo(completed / (completed + failed), 4);
    }
  });
});
