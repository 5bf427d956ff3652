import { randomBytes } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ActivityLogsInitializer, AgentMetricsInitializer, AgentsId, TasksId, TaskTypesName, WorkersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConnectionError, ConstraintViolation, ValidationError } from '../../src/dal/errors.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();

// The DAL runs as the application role, so every statement is also checked against its grants.
const AS_APP = '-c role=agentry_app';

let agentry: AgentryClient;

beforeAll(() => {
  agentry = createAgentry({ connectionString: db.url, options: AS_APP, max: 4 });
});

afterAll(async () => {
  await agentry?.close();
});

const suffix = () => randomBytes(4).toString('hex');

async function newAgent(label = 'agent'): Promise<AgentsId> {
  const id = `${label}-${suffix()}`;
  await db.pool.query('INSERT INTO agentry.agents (id, name) VALUES ($1, $1)', [id]);
  return id as AgentsId;
}

async function newTask(): Promise<TasksId> {
  const { rows } = await db.pool.query<{ id: TasksId }>(`INSERT INTO agentry.tasks (title, priority) VALUES ('telemetry', 5) RETURNING id`);
  return rows[0]!.id;
}

async function newWorker(): Promise<WorkersId> {
  const machine = `m-${suffix()}`;
  const { rows } = await db.pool.query<{ id: WorkersId }>(
    `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ($1, $1, '{}', '[]') RETURNING id`,
    [machine],
  );
  return rows[0]!.id;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

function metricRows(agentId: AgentsId, n: number, start: Date): AgentMetricsInitializer[] {
  const types = ['latency', 'tokens', 'cost', 'success_rate', 'error_rate'] as const;
  return Array.from({ length: n }, (_, i) => ({
    agent_id: agentId,
    metric_type: types[i % types.length]!,
    metric_value: i + 0.25,
    metric_unit: i % 2 === 0 ? 'ms' : null,
    context: { i },
    recorded_at: new Date(start.getTime() + i),
  }));
}

describe('ingestAgentMetrics', () => {
  it('ingests 20,000 rows in chunks of 5,000, every value as given', async () => {
    const agentId = await newAgent();
    const start = new Date(Date.now() - 60 * 60_000);
    const rows = metricRows(agentId, 20_000, start);
    const result = await agentry.telemetry.ingestAgentMetrics(rows);
    expect(result).toEqual({ inserted: 20_000, statements: 4 });

    const { rows: stats } = await db.pool.query<{ n: string; total: number; units: string; distinct_contexts: string; first: Date; last: Date }>(
      `SELECT count(*) AS n, sum(metric_value) AS total, count(metric_unit) AS units,
              count(DISTINCT context) AS distinct_contexts, min(recorded_at) AS first, max(recorded_at) AS last
         FROM agentry.agent_metrics WHERE agent_id = $1`,
      [agentId],
    );
    expect(stats[0]).toMatchObject({ n: '20000', total: (20_000 * 19_999) / 2 + 20_000 * 0.25, units: '10000', distinct_contexts: '20000' });
    expect(stats[0]!.first.getTime()).toBe(start.getTime());
    expect(stats[0]!.last.getTime()).toBe(start.getTime() + 19_999);
    // Row 12,345 landed whole: type, value, unit and context belong together.
    const { rows: one } = await db.pool.query(
      `SELECT metric_type, metric_value, metric_unit, context FROM agentry.agent_metrics WHERE agent_id = $1 AND context = '{"i": 12345}'`,
      [agentId],
    );
    expect(one).toEqual([{ metric_type: 'latency', metric_value: 12_345.25, metric_unit: null, context: { i: 12_345 } }]);
  });

  it('takes a chunk size, and fills the defaults of context and recorded_at', async () => {
    const agentId = await newAgent();
    const before = await db.pool.query<{ now: Date }>('SELECT now()');
    const rows: AgentMetricsInitializer[] = Array.from({ length: 7 }, () => ({ agent_id: agentId, metric_type: 'tokens', metric_value: 42 }));
    expect(await agentry.telemetry.ingestAgentMetrics(rows, { chunkSize: 3 })).toEqual({ inserted: 7, statements: 3 });
    const { rows: stored } = await db.pool.query<{ context: unknown; recorded_at: Date; metric_unit: string | null }>(
      'SELECT context, recorded_at, metric_unit FROM agentry.agent_metrics WHERE agent_id = $1',
      [agentId],
    );
    expect(stored).toHaveLength(7);
    for (const row of stored) {
      expect(row.context).toEqual({});
      expect(row.metric_unit).toBeNull();
      expect(row.recorded_at.getTime()).toBeGreaterThanOrEqual(before.rows[0]!.now.getTime());
    }
  });

  it('refuses a batch with one bad row before any SQL, naming the row; nothing is written', async () => {
    const agentId = await newAgent();
    const rows = metricRows(agentId, 20_000, new Date());
    (rows[12_345] as { metric_type: string }).metric_type = 'throughput';
    const error = await failure(agentry.telemetry.ingestAgentMetrics(rows));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]!.path).toEqual([12_345, 'metric_type']);
    expect((error as Error).message).toMatch(/row 12345; the batch was refused, nothing was written/);
    expect(await count('SELECT count(*) AS n FROM agentry.agent_metrics WHERE agent_id = $1', [agentId])).toBe(0);

    // Before any SQL indeed: a client whose server does not exist refuses it the same way.
    const nowhere = createAgentry({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere', connectionTimeoutMillis: 2000 });
    try {
      await expect(nowhere.telemetry.ingestAgentMetrics(rows)).rejects.toBeInstanceOf(ValidationError);
      const infinite = [{ agent_id: agentId, metric_type: 'latency' as const, metric_value: Number.POSITIVE_INFINITY }];
      await expect(nowhere.telemetry.ingestAgentMetrics(infinite)).rejects.toBeInstanceOf(ValidationError);
      const notANumber = [{ agent_id: agentId, metric_type: 'latency' as const, metric_value: Number.NaN }];
      await expect(nowhere.telemetry.ingestAgentMetrics(notANumber)).rejects.toBeInstanceOf(ValidationError);
      await expect(nowhere.telemetry.ingestAgentMetrics([], { chunkSize: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(nowhere.telemetry.ingestAgentMetrics({ length: 1 } as never)).rejects.toBeInstanceOf(ValidationError);
      await expect(nowhere.telemetry.ingestActivityLogs(undefined as never)).rejects.toBeInstanceOf(ValidationError);
      // An empty batch needs no statement at all.
      expect(await nowhere.telemetry.ingestAgentMetrics([])).toEqual({ inserted: 0, statements: 0 });
    } finally {
      await nowhere.close();
    }
  });

  it('rolls back every chunk when the database refuses one of them (unknown agent in the third chunk)', async () => {
    const agentId = await newAgent();
    const rows = metricRows(agentId, 10_000, new Date());
    rows[9_000] = { ...rows[9_000]!, agent_id: 'nobody-at-all' as AgentsId };
    const error = await failure(agentry.telemetry.ingestAgentMetrics(rows, { chunkSize: 4000 }));
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect(error).toMatchObject({ constraint: 'fk_agent_metrics_agent_id', kind: 'foreign_key', query: 'telemetry.insert_agent_metrics' });
    expect(await count('SELECT count(*) AS n FROM agentry.agent_metrics WHERE agent_id = $1', [agentId])).toBe(0);
  });

  it('joins the caller transaction (a savepoint): rolled back with it', async () => {
    const agentId = await newAgent();
    const sentinel = new Error('roll back');
    await expect(
      agentry.transaction(async (tx) => {
        expect(await tx.telemetry.ingestAgentMetrics(metricRows(agentId, 10, new Date()))).toEqual({ inserted: 10, statements: 1 });
        throw sentinel;
      }),
    ).rejects.toBe(sentinel);
    expect(await count('SELECT count(*) AS n FROM agentry.agent_metrics WHERE agent_id = $1', [agentId])).toBe(0);
  });
});

describe('ingestActivityLogs', () => {
  it('ingests rows with task, worker, metadata and defaults; refuses bad rows and unknown references', async () => {
    const taskId = await newTask();
    const workerId = await newWorker();
    const rows: ActivityLogsInitializer[] = [
      { task_id: taskId, worker_id: workerId, level: 'info', message: 'claimed', metadata: { attempt: 1 } },
      { level: 'warning', message: 'slow tool', metadata: null },
      { task_id: taskId, level: 'error', message: 'failed', metadata: { nested: { list: [1, 2] } }, created_at: new Date('2020-01-02T03:04:05Z') },
    ];
    expect(await agentry.telemetry.ingestActivityLogs(rows, { chunkSize: 2 })).toEqual({ inserted: 3, statements: 2 });
    const { rows: stored } = await db.pool.query(
      `SELECT task_id, worker_id, level, message, metadata, created_at = '2020-01-02T03:04:05Z' AS given_time
         FROM agentry.activity_logs WHERE message IN ('claimed', 'slow tool', 'failed') AND (task_id = $1 OR task_id IS NULL)
        ORDER BY id`,
      [taskId],
    );
    expect(stored).toEqual([
      { task_id: taskId, worker_id: workerId, level: 'info', message: 'claimed', metadata: { attempt: 1 }, given_time: false },
      { task_id: null, worker_id: null, level: 'warning', message: 'slow tool', metadata: null, given_time: false },
      { task_id: taskId, worker_id: null, level: 'error', message: 'failed', metadata: { nested: { list: [1, 2] } }, given_time: true },
    ]);

    const badTask = [{ task_id: 'not-a-uuid' as TasksId, level: 'info' as const, message: 'x' }];
    const refused = await failure(agentry.telemetry.ingestActivityLogs(badTask));
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).issues[0]!.path).toEqual([0, 'task_id']);
    await expect(agentry.telemetry.ingestActivityLogs([{ level: 'debug' as 'info', message: 'x' }])).rejects.toBeInstanceOf(ValidationError);

    const unknownTask = [{ task_id: '00000000-0000-4000-8000-000000000000' as TasksId, level: 'info' as const, message: 'orphan' }];
    await expect(agentry.telemetry.ingestActivityLogs(unknownTask)).rejects.toMatchObject({
      name: 'ConstraintViolation',
      constraint: 'fk_activity_logs_task_id',
    });
  });
});

/** gc() of this process (vitest runs without --expose-gc). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('exportActivityLogs', () => {
  const total = 50_000;
  let taskId: TasksId;
  let base: Date;
  let payloadBytes = 0;

  beforeAll(async () => {
    taskId = await newTask();
    // A window of its own, three hours back, with ties: ten rows share each millisecond.
    base = new Date(Date.now() - 3 * 60 * 60_000);
    const filler = 'x'.repeat(400);
    const rows: ActivityLogsInitializer[] = Array.from({ length: total }, (_, i) => ({
      task_id: i % 10 === 0 ? taskId : null,
      level: 'info',
      message: `row ${i} ${filler}`,
      metadata: { i },
      // Inserted newest first, so that id order and time order disagree and the export's order is its own.
      created_at: new Date(base.getTime() + Math.floor((total - 1 - i) / 10)),
    }));
    for (const row of rows) payloadBytes += row.message.length;
    await agentry.telemetry.ingestActivityLogs(rows);
  });

  it('streams all 50,000 rows in (created_at, id) order while the heap stays far below the payload', async () => {
    const gc = collector();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    let maxGrowth = 0;
    let seen = 0;
    let previous: { created_at: Date; id: bigint } | undefined;
    for await (const row of agentry.telemetry.exportActivityLogs({ from: base, to: new Date(base.getTime() + total) })) {
      const current = { created_at: row.created_at, id: BigInt(row.id) };
      if (previous) {
        const order = current.created_at.getTime() - previous.created_at.getTime();
        expect(order > 0 || (order === 0 && current.id > previous.id)).toBe(true);
      }
      previous = current;
      if (seen < 3) expect(typeof row.id).toBe('string');
      seen += 1;
      if (seen % 5000 === 0) {
        gc();
        maxGrowth = Math.max(maxGrowth, process.memoryUsage().heapUsed - heapBefore);
      }
    }
    expect(seen).toBe(total);
    // Strictly increasing (created_at, id): no row twice. About 1,000 rows are buffered ahead of the reader before
    // the socket is paused (about 0.5 MB here, plus socket buffers); keeping every row would take more than the
    // messages alone (20 MB).
    expect(maxGrowth).toBeLessThan(payloadBytes / 4);
  });

  it("streams one task's rows only", async () => {
    let seen = 0;
    for await (const row of agentry.telemetry.exportActivityLogs({ from: base, to: new Date(base.getTime() + total), taskId })) {
      expect(row.task_id).toBe(taskId);
      seen += 1;
    }
    expect(seen).toBe(total / 10);
  });

  it('bounds are [from, to)', async () => {
    const rows: string[] = [];
    for await (const row of agentry.telemetry.exportActivityLogs({ from: new Date(base.getTime() + 10), to: new Date(base.getTime() + 12) })) {
      rows.push(row.message.split(' ').slice(0, 2).join(' '));
    }
    // Milliseconds 10 and 11 hold rows total-1-(10*10+9) .. total-1-(10*10): twenty rows.
    expect(rows).toHaveLength(20);
  });

  it('an early break closes its connection (its statement was still sending), its server session ends, and the pool serves the next user', async () => {
    // One connection only: anything still holding it would make the next statement wait for ever.
    const applicationName = `telemetry-break-${suffix()}`;
    const pool = new pg.Pool({ connectionString: db.url, options: AS_APP, max: 1, application_name: applicationName });
    const client = createAgentry({ pool });
    const sessions = async () =>
      (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName])).rows[0]!.n;
    try {
      let taken = 0;
      for await (const row of client.telemetry.exportActivityLogs({ from: base, to: new Date(base.getTime() + total) })) {
        expect(row.level).toBe('info');
        taken += 1;
        if (taken === 10) break;
      }
      // Closed, not pooled: the server was still sending 50,000 rows, and its session ends with the socket.
      await until(() => pool.totalCount === 0);
      await until(async () => (await sessions()) === 0);
      expect(pool.waitingCount).toBe(0);
      // The pool opens a new connection for a full export and a plain statement afterwards.
      const again: unknown[] = [];
      for await (const row of client.telemetry.exportActivityLogs({ from: base, to: new Date(base.getTime() + 100) })) again.push(row);
      expect(again).toHaveLength(1000);
      // A stream read to its end gives its connection back to the pool, fit for the next statement.
      await until(() => pool.idleCount === 1 && pool.totalCount === 1);
      expect(await client.telemetry.listLearningExperiences({ taskType: 'no_such_type' as TaskTypesName })).toEqual([]);

      // Destroying the stream without reading closes its connection too.
      const stream = client.telemetry.exportActivityLogs({ from: base, to: new Date(base.getTime() + total) });
      stream.destroy();
      await until(() => pool.waitingCount === 0 && pool.idleCount === pool.totalCount);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.close();
      await pool.end();
    }
  });

  it('a connection lost mid-stream fails the stream with ConnectionError and the connection is not pooled again', async () => {
    const applicationName = `telemetry-export-${suffix()}`;
    const pool = new pg.Pool({ connectionString: db.url, options: AS_APP, max: 1, application_name: applicationName });
    pool.on('error', () => undefined);
    const client = createAgentry({ pool });
    try {
      let taken = 0;
      const reading = (async () => {
        for await (const row of client.telemetry.exportActivityLogs({ from: base, to: new Date(base.getTime() + total) })) {
          void row;
          taken += 1;
          if (taken === 1) {
            await db.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
          }
        }
      })();
      const error = await failure(reading);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(taken).toBeLessThan(total);
      await until(() => pool.totalCount === 0);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.close();
      await pool.end();
    }
  });

  it('refuses bad input at once, runs outside transactions only, and reports an unreachable server through the stream', async () => {
    expect(() => agentry.telemetry.exportActivityLogs({ from: 'yesterday' as unknown as Date, to: new Date() })).toThrow(ValidationError);
    expect(() => agentry.telemetry.exportActivityLogs({ from: base, to: base, taskId: 'nope' as TasksId })).toThrow(ValidationError);
    await agentry.transaction(async (tx) => {
      expect(() => tx.telemetry.exportActivityLogs({ from: base, to: base })).toThrow(/cannot join a transaction/);
    });

    const nowhere = createAgentry({ connectionString: 'postgres://postgres@127.0.0.1:1/nowhere', connectionTimeoutMillis: 2000 });
    try {
      const reading = (async () => {
        for await (const row of nowhere.telemetry.exportActivityLogs({ from: base, to: base })) void row;
      })();
      expect(await failure(reading)).toBeInstanceOf(ConnectionError);
    } finally {
      await nowhere.close();
    }
  });
});

describe('exportMetrics', () => {
  it("streams one agent's rows oldest first, or every agent's by agent then time, within [from, to)", async () => {
    const first = await newAgent('a');
    const second = await newAgent('b');
    const start = new Date(Date.now() - 5 * 60 * 60_000);
    await agentry.telemetry.ingestAgentMetrics([...metricRows(second, 1500, start), ...metricRows(first, 1500, start)].reverse());

    const one: { agent_id: string; recorded_at: Date; metric_value: number; context: unknown }[] = [];
    for await (const row of agentry.telemetry.exportMetrics({ agentId: first, from: start, to: new Date(start.getTime() + 1500) })) one.push(row);
    expect(one).toHaveLength(1500);
    expect(one.every((row) => row.agent_id === first)).toBe(true);
    expect(one.map((row) => row.recorded_at.getTime())).toEqual(Array.from({ length: 1500 }, (_, i) => start.getTime() + i));
    expect(one[7]).toMatchObject({ metric_value: 7.25, context: { i: 7 } });

    const all: string[] = [];
    for await (const row of agentry.telemetry.exportMetrics({ from: new Date(start.getTime() + 1), to: new Date(start.getTime() + 1499) })) {
      all.push(`${row.agent_id}@${row.recorded_at.getTime() - start.getTime()}`);
    }
    // Both agents' rows 1..1498 (from inclusive, to exclusive), first agent's all before the second's.
    const [earlier, later] = [first, second].sort();
    expect(all).toEqual([
      ...Array.from({ length: 1498 }, (_, i) => `${earlier}@${i + 1}`),
      ...Array.from({ length: 1498 }, (_, i) => `${later}@${i + 1}`),
    ]);

    expect(() => agentry.telemetry.exportMetrics({ from: start, to: 'later' as unknown as Date })).toThrow(ValidationError);
  });
});

describe('recordTrustEvent', () => {
  it('appends to the ledger; the database fills before/after and moves the agent score', async () => {
    const agentId = await newAgent();
    const taskId = await newTask();
    const record = await agentry.telemetry.recordTrustEvent(agentId, 'task_completed', '0.1250', taskId, 'on time');
    expect(record).toMatchObject({
      agent_id: agentId,
      event_type: 'task_completed',
      task_id: taskId,
      trust_delta: '0.1250',
      trust_score_before: '0.5000',
      trust_score_after: '0.6250',
      reason: 'on time',
    });
    expect(typeof record.id).toBe('string');
    expect(record.created_at).toBeInstanceOf(Date);
    const next = await agentry.telemetry.recordTrustEvent(agentId, 'task_failed', '-0.2');
    expect(next).toMatchObject({ trust_score_before: '0.6250', trust_score_after: '0.4250', task_id: null, reason: null });
    const { rows } = await db.pool.query<{ trust_score: string }>('SELECT trust_score FROM agentry.agents WHERE id = $1', [agentId]);
    expect(rows[0]!.trust_score).toBe('0.4250');
  });

  it("lets the database's errors through: unknown agent or task, delta and score ranges, bad values", async () => {
    const agentId = await newAgent();
    const refusal = async (promise: Promise<unknown>, constraint: string) => {
      const error = await failure(promise);
      expect(error).toBeInstanceOf(ConstraintViolation);
      expect(error).toMatchObject({ constraint });
    };
    await refusal(agentry.telemetry.recordTrustEvent('ghost-agent' as AgentsId, 'manual_adjustment', '0.1'), 'fk_trust_records_agent_id');
    await refusal(
      agentry.telemetry.recordTrustEvent(agentId, 'manual_adjustment', '0.1', '00000000-0000-4000-8000-000000000000' as TasksId),
      'fk_trust_records_task_id',
    );
    await refusal(agentry.telemetry.recordTrustEvent(agentId, 'manual_adjustment', '-0.6'), 'chk_trust_records_after_range');
    // A delta outside [-1, 1] always takes the score out of [0, 1] too; PostgreSQL reports the first CHECK by name.
    await refusal(agentry.telemetry.recordTrustEvent(agentId, 'manual_adjustment', '1.5'), 'chk_trust_records_after_range');
    await expect(agentry.telemetry.recordTrustEvent(agentId, 'manual_adjustment', 'lots')).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.telemetry.recordTrustEvent(agentId, 'bonus' as 'task_completed', '0.1')).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.telemetry.recordTrustEvent(agentId, 'task_completed', 0.1 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
    // Nothing moved.
    const { rows } = await db.pool.query<{ trust_score: string }>('SELECT trust_score FROM agentry.agents WHERE id = $1', [agentId]);
    expect(rows[0]!.trust_score).toBe('0.5000');
  });
});

describe('recordAgentInteraction', () => {
  it('records an interaction with any JSON payload; refuses self-interaction, unknown agents and bad types', async () => {
    const from = await newAgent('from');
    const to = await newAgent('to');
    const row = await agentry.telemetry.recordAgentInteraction({
      from_agent_id: from,
      to_agent_id: to,
      interaction_type: 'handoff',
      message: 'your turn',
      payload: ['a', { b: 1 }],
    });
    expect(row).toMatchObject({ from_agent_id: from, to_agent_id: to, interaction_type: 'handoff', message: 'your turn', payload: ['a', { b: 1 }], workflow_id: null });
    expect(row.created_at).toBeInstanceOf(Date);
    const bare = await agentry.telemetry.recordAgentInteraction({ from_agent_id: to, to_agent_id: from, interaction_type: 'feedback' });
    expect(bare).toMatchObject({ message: null, payload: null });

    await expect(agentry.telemetry.recordAgentInteraction({ from_agent_id: from, to_agent_id: from, interaction_type: 'review' })).rejects.toMatchObject({
      name: 'ConstraintViolation',
      constraint: 'chk_agent_interactions_distinct_agents',
    });
    await expect(
      agentry.telemetry.recordAgentInteraction({ from_agent_id: from, to_agent_id: 'ghost' as AgentsId, interaction_type: 'review' }),
    ).rejects.toMatchObject({ name: 'ConstraintViolation', constraint: 'fk_agent_interactions_to_agent_id' });
    await expect(
      agentry.telemetry.recordAgentInteraction({ from_agent_id: from, to_agent_id: to, interaction_type: 'gossip' as 'review' }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('listLearningExperiences', () => {
  it("lists an agent's (optionally of one task type) or a task type's lessons, newest first, up to the limit", async () => {
    const agentId = await newAgent();
    const other = await newAgent();
    const insert = (agent: string | null, taskType: string | null, lesson: string, minutesAgo: number) =>
      db.pool.query(
        `INSERT INTO agentry.learning_experiences (agent_id, task_type, outcome, lesson, created_at)
         VALUES ($1, $2, 'success', $3, now() - make_interval(mins => $4))`,
        [agent, taskType, lesson, minutesAgo],
      );
    const lesson = `lesson-${suffix()}`;
    await insert(agentId, 'text_analysis', `${lesson}-1`, 30);
    await insert(agentId, 'code_generation', `${lesson}-2`, 20);
    await insert(agentId, 'text_analysis', `${lesson}-3`, 10);
    await insert(null, 'text_analysis', `${lesson}-4`, 5);
    await insert(other, null, `${lesson}-5`, 1);

    const lessons = (rows: { lesson: string }[]) => rows.map((row) => row.lesson.slice(lesson.length + 1));
    expect(lessons(await agentry.telemetry.listLearningExperiences({ agentId }))).toEqual(['3', '2', '1']);
    expect(lessons(await agentry.telemetry.listLearningExperiences({ agentId, taskType: 'text_analysis' as TaskTypesName }))).toEqual(['3', '1']);
    expect(lessons(await agentry.telemetry.listLearningExperiences({ agentId, limit: 1 }))).toEqual(['3']);
    const byType = await agentry.telemetry.listLearningExperiences({ taskType: 'text_analysis' as TaskTypesName });
    expect(lessons(byType.filter((row) => row.lesson.startsWith(lesson)))).toEqual(['4', '3', '1']);
    expect(byType[0]).toMatchObject({ source: 'execution', outcome: 'success', context: {}, action: {}, times_applied: 0, reward: null });
    expect(await agentry.telemetry.listLearningExperiences({ agentId: 'nobody' as AgentsId })).toEqual([]);

    await expect(agentry.telemetry.listLearningExperiences({})).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.telemetry.listLearningExperiences({ agentId, limit: 0 })).rejects.toBeInstanceOf(ValidationError);
  });
});

/** Waits (up to 5 s) for a condition the pool reaches asynchronously. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
