// The task state machine (trg_tasks_status_transition reading
// agentry.task_status_transitions) and what each move stamps.
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';
import { insertTask, taskById, type TaskRow } from './work-fixtures.js';

const db = useTestDatabase();

const STATUSES = [
  'pending', 'initializing', 'queued', 'assigned', 'running', 'checkpoint',
  'correcting', 'retrying', 'completed', 'failed', 'cancelled', 'timeout',
] as const;
type Status = (typeof STATUSES)[number];

// schema.md's table.
const LEGAL: Record<Status, Status[]> = {
  pending: ['initializing', 'queued', 'cancelled'],
  initializing: ['queued', 'failed', 'cancelled'],
  queued: ['assigned', 'running', 'cancelled'],
  assigned: ['running', 'queued', 'cancelled', 'timeout'],
  running: ['completed', 'failed', 'timeout', 'cancelled', 'checkpoint'],
  checkpoint: ['running', 'correcting', 'failed', 'cancelled'],
  correcting: ['queued', 'failed', 'cancelled'],
  failed: ['retrying', 'cancelled'],
  retrying: ['queued', 'cancelled'],
  completed: [],
  cancelled: [],
  timeout: [],
};
const legalPairs: Array<[Status, Status]> = STATUSES.flatMap((from) => LEGAL[from].map((to): [Status, Status] => [from, to]));
const illegalPairs: Array<[Status, Status]> = STATUSES.flatMap((from) =>
  STATUSES.filter((to) => to !== from && !LEGAL[from].includes(to)).map((to): [Status, Status] => [from, to]),
);

/** A task inserted directly in a status (INSERT is not a transition). */
const taskIn = (status: Status): Promise<TaskRow> => insertTask(db.pool, { status });

const move = (id: string, to: Status): Promise<TaskRow[]> =>
  accepted<TaskRow>(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1 RETURNING *', [id, to]);

describe('the transition table the trigger reads', () => {
  it('matches the pairs under test: 29 legal moves, 103 illegal ones', async () => {
    expect(legalPairs).toHaveLength(29);
    expect(illegalPairs).toHaveLength(12 * 11 - 29);
    const rows = await accepted<{ pair: string }>(
      db.pool,
      `SELECT from_status || ' -> ' || to_status AS pair FROM agentry.task_status_transitions ORDER BY 1`,
    );
    expect(rows.map((r) => r.pair)).toEqual(legalPairs.map(([f, t]) => `${f} -> ${t}`).sort());
  });
});

describe('every legal move succeeds', () => {
  it.each(legalPairs)('%s -> %s', async (from, to) => {
    const task = await taskIn(from);
    const [row] = await move(task.id, to);
    expect(row?.status).toBe(to);
    expect(row?.version).toBe(1);
  });

  it('a task driven only by legal moves visits every non-terminal state', async () => {
    const task = await insertTask(db.pool);
    const path: Status[] = [
      'initializing', 'queued', 'assigned', 'queued', 'assigned', 'running', 'checkpoint', 'correcting',
      'queued', 'running', 'checkpoint', 'running', 'failed', 'retrying', 'queued', 'running', 'completed',
    ];
    for (const to of path) {
      const [row] = await move(task.id, to);
      expect(row?.status).toBe(to);
    }
    const done = await taskById(db.pool, task.id);
    expect(done.version).toBe(path.length);
    expect(done.retry_count).toBe(1);
  });

  it('an update that keeps the status is not a transition', async () => {
    const task = await taskIn('completed');
    const [row] = await accepted<TaskRow>(db.pool, 'UPDATE agentry.tasks SET status = $2, progress = 100 WHERE id = $1 RETURNING *', [
      task.id,
      'completed',
    ]);
    expect(row?.status).toBe('completed');
    expect(row?.completed_at).toBeNull();
  });
});

describe('every illegal move is refused with AG001 naming both states', () => {
  it.each(illegalPairs)('%s -> %s', async (from, to) => {
    const task = await taskIn(from);
    const error = await expectRefused(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [task.id, to], {
      constraint: 'trg_tasks_status_transition',
      code: SQLSTATE.illegalTransition,
      table: 'tasks',
      message: `${from} -> ${to}`,
    });
    expect(error.table).toBe('tasks');
    expect(error.column).toBe('status');
    const after = await taskById(db.pool, task.id);
    expect([after.status, after.version]).toEqual([from, 0]);
  });
});

describe('what a move stamps', () => {
  /** Runs one UPDATE in its own transaction and reports whether the timestamps equal that transaction's now(). */
  async function moveInTransaction(id: string, set: string, params: unknown[] = []) {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<TaskRow & { now: Date }>(
        `UPDATE agentry.tasks SET ${set} WHERE id = $1 RETURNING *, now() AS now`,
        [id, ...params],
      );
      await client.query('COMMIT');
      return rows[0]!;
    } finally {
      client.release();
    }
  }

  it('-> running stamps started_at (now, or the value the statement gives)', async () => {
    const task = await taskIn('queued');
    const row = await moveInTransaction(task.id, 'status = $2', ['running']);
    expect(row.started_at).toEqual(row.now);
    expect(row.completed_at).toBeNull();

    const explicit = await taskIn('queued');
    const given = new Date(Date.now() + 60_000);
    const row2 = await moveInTransaction(explicit.id, 'status = $2, started_at = $3', ['running', given]);
    expect(row2.started_at).toEqual(given);
  });

  it('checkpoint -> running keeps the first started_at', async () => {
    const task = await taskIn('queued');
    const started = (await moveInTransaction(task.id, 'status = $2', ['running'])).started_at;
    await moveInTransaction(task.id, 'status = $2', ['checkpoint']);
    const resumed = await moveInTransaction(task.id, 'status = $2', ['running']);
    expect(resumed.started_at).toEqual(started);
  });

  it.each(['completed', 'failed', 'timeout'] as const)('running -> %s stamps completed_at', async (to) => {
    const task = await taskIn('queued');
    await moveInTransaction(task.id, 'status = $2', ['running']);
    const row = await moveInTransaction(task.id, 'status = $2', [to]);
    expect(row.completed_at).toEqual(row.now);
    expect(row.cancelled_at).toBeNull();
    expect(Number(row.execution_time)).toBeGreaterThanOrEqual(0);
  });

  it('-> completed keeps a completed_at the statement gives, and chk_tasks_timestamps_ordered still guards it', async () => {
    const task = await insertTask(db.pool, { status: 'running', created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:10Z' });
    const row = await moveInTransaction(task.id, 'status = $2, completed_at = $3', ['completed', '2025-01-01T00:01:10Z']);
    expect(row.completed_at).toEqual(new Date('2025-01-01T00:01:10Z'));
    expect(row.duration_ms).toBe('60000');

    const early = await insertTask(db.pool, { status: 'running', created_at: '2025-01-01T00:00:00Z', started_at: '2025-01-01T00:00:10Z' });
    await expectRefused(
      db.pool,
      'UPDATE agentry.tasks SET status = $2, completed_at = $3 WHERE id = $1',
      [early.id, 'completed', '2025-01-01T00:00:05Z'],
      { constraint: 'chk_tasks_timestamps_ordered', table: 'tasks' },
    );
    expect((await taskById(db.pool, early.id)).status).toBe('running');
  });

  it('-> cancelled stamps cancelled_at and completed_at', async () => {
    const task = await taskIn('queued');
    await moveInTransaction(task.id, 'status = $2', ['running']);
    const row = await moveInTransaction(task.id, 'status = $2, cancelled_by = $3, cancellation_reason = $4', ['cancelled', 'alice', 'duplicate']);
    expect(row.cancelled_at).toEqual(row.now);
    expect(row.completed_at).toEqual(row.now);
    expect([row.cancelled_by, row.cancellation_reason]).toEqual(['alice', 'duplicate']);
  });

  it.each(['pending', 'initializing', 'queued', 'assigned'] as const)(
    'a task cancelled from %s before it ever ran passes chk_tasks_timestamps_ordered',
    async (from) => {
      const task = await insertTask(db.pool, { status: from, created_at: new Date(Date.now() - 60_000) });
      const row = await moveInTransaction(task.id, 'status = $2', ['cancelled']);
      expect(row.status).toBe('cancelled');
      expect(row.started_at).toBeNull();
      expect(row.completed_at).toEqual(row.now);
      expect(row.cancelled_at).toEqual(row.now);
      expect(row.execution_time).toBeNull();
    },
  );

  it('assigned -> timeout and initializing -> failed, never started, are stamped too', async () => {
    for (const [from, to] of [['assigned', 'timeout'], ['initializing', 'failed']] as const) {
      const task = await taskIn(from);
      const row = await moveInTransaction(task.id, 'status = $2', [to]);
      expect(row.completed_at).toEqual(row.now);
      expect(row.started_at).toBeNull();
    }
  });

  it('-> assigned stamps assigned_at, afresh on each assignment unless the statement gives one', async () => {
    const task = await insertTask(db.pool, { status: 'queued', assigned_at: '2025-01-01T00:00:00Z', created_at: '2025-01-01T00:00:00Z' });
    const first = await moveInTransaction(task.id, 'status = $2', ['assigned']);
    expect(first.assigned_at).toEqual(first.now);
    await moveInTransaction(task.id, 'status = $2', ['queued']);
    const second = await moveInTransaction(task.id, 'status = $2', ['assigned']);
    expect(second.assigned_at).toEqual(second.now);
    expect(second.assigned_at!.getTime()).toBeGreaterThan(first.assigned_at!.getTime());

    await moveInTransaction(task.id, 'status = $2', ['queued']);
    const explicit = await moveInTransaction(task.id, 'status = $2, assigned_at = $3', ['assigned', '2025-06-01T12:00:00Z']);
    expect(explicit.assigned_at).toEqual(new Date('2025-06-01T12:00:00Z'));
  });

  it('-> retrying increments retry_count and clears started_at and completed_at', async () => {
    const task = await taskIn('queued');
    await moveInTransaction(task.id, 'status = $2', ['running']);
    const failed = await moveInTransaction(task.id, 'status = $2, error_message = $3', ['failed', 'boom']);
    expect(failed.completed_at).not.toBeNull();
    const retrying = await moveInTransaction(task.id, 'status = $2', ['retrying']);
    expect(retrying.retry_count).toBe(1);
    expect(retrying.started_at).toBeNull();
    expect(retrying.completed_at).toBeNull();
    // the statement cannot set the count itself
    await moveInTransaction(task.id, 'status = $2', ['queued']);
    const rerun = await moveInTransaction(task.id, 'status = $2', ['running']);
    expect(rerun.started_at).toEqual(rerun.now);
    expect(rerun.started_at!.getTime()).toBeGreaterThan(failed.started_at!.getTime());
  });

  it('-> retrying is refused (AG001) once retry_count = max_retries; failed -> cancelled still works', async () => {
    const task = await insertTask(db.pool, { status: 'failed', max_retries: 2 });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const row = await moveInTransaction(task.id, 'status = $2', ['retrying']);
      expect(row.retry_count).toBe(attempt);
      await moveInTransaction(task.id, 'status = $2', ['queued']);
      await moveInTransaction(task.id, 'status = $2', ['running']);
      await moveInTransaction(task.id, 'status = $2', ['failed']);
    }
    const error = await expectRefused(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [task.id, 'retrying'], {
      constraint: 'trg_tasks_status_transition',
      code: SQLSTATE.illegalTransition,
      table: 'tasks',
      message: 'failed -> retrying',
    });
    expect(error.message).toMatch(/retry limit of 2/);
    const after = await taskById(db.pool, task.id);
    expect([after.status, after.retry_count]).toEqual(['failed', 2]);
    expect((await move(task.id, 'cancelled'))[0]?.status).toBe('cancelled');
  });

  it('max_retries = 0 means no retry at all', async () => {
    const task = await insertTask(db.pool, { status: 'failed', max_retries: 0 });
    const error = await errorOf(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [task.id, 'retrying']);
    expect(error.code).toBe(SQLSTATE.illegalTransition);
    expect(error.message).toMatch(/retry limit of 0/);
  });

  it('retry_count set by hand cannot go past max_retries (chk_tasks_retry_count_valid)', async () => {
    const task = await insertTask(db.pool, { status: 'failed', max_retries: 1, retry_count: 1 });
    await expectRefused(db.pool, 'UPDATE agentry.tasks SET retry_count = 2 WHERE id = $1', [task.id], {
      constraint: 'chk_tasks_retry_count_valid',
      table: 'tasks',
    });
  });
});

describe('chk_tasks_cancellation_fields', () => {
  it('cancellation fields belong to cancelled tasks only', async () => {
    const running = await taskIn('running');
    await expectRefused(db.pool, 'UPDATE agentry.tasks SET cancelled_by = $2 WHERE id = $1', [running.id, 'bob'], {
      constraint: 'chk_tasks_cancellation_fields',
      table: 'tasks',
    });
    await expectRefused(db.pool, 'UPDATE agentry.tasks SET cancellation_reason = $2 WHERE id = $1', [running.id, 'why'], {
      constraint: 'chk_tasks_cancellation_fields',
      table: 'tasks',
    });
    const [cancelled] = await accepted<TaskRow>(
      db.pool,
      'UPDATE agentry.tasks SET status = $2, cancelled_by = $3, cancellation_reason = $4 WHERE id = $1 RETURNING *',
      [running.id, 'cancelled', 'bob', 'why'],
    );
    expect(cancelled?.cancelled_at).not.toBeNull();
  });
});
