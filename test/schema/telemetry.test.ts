import { randomUUID } from 'node:crypto';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';

// Telemetry context (migrations/1764547206000_telemetry.sql): agent_metrics,
// activity_logs, agent_interactions, the trust ledger and learning experiences.

const db = useTestDatabase({ max: 8 });

function uniq(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function newAgent(trust?: number): Promise<string> {
  const id = uniq('agent');
  await accepted(db.pool, 'INSERT INTO agentry.agents (id, name, trust_score) VALUES ($1, $1, coalesce($2::numeric, 0.5))', [id, trust ?? null]);
  return id;
}

async function newWorker(): Promise<string> {
  const [row] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ($1, $1, '{"os": "linux"}', '["claude_code"]') RETURNING id`,
    [uniq('machine')],
  );
  return row!.id;
}

async function newTask(fields: { agent?: string; type?: string } = {}): Promise<string> {
  const [row] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.tasks (title, agent_id, type, input) VALUES ('telemetry fixture', $1, $2, $3) RETURNING id`,
    [fields.agent ?? null, fields.type ?? null, fields.type ? { specification: 'x' } : null],
  );
  return row!.id;
}

async function newWorkflow(): Promise<string> {
  const [row] = await accepted<{ id: string }>(db.pool, `INSERT INTO agentry.workflows (name) VALUES ('telemetry workflow') RETURNING id`);
  return row!.id;
}

async function scalar<T>(sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await db.pool.query(sql, params);
  return Object.values(rows[0] as Record<string, unknown>)[0] as T;
}

async function trustOf(agent: string): Promise<string> {
  return scalar<string>('SELECT trust_score FROM agentry.agents WHERE id = $1', [agent]);
}

describe('agent_metrics', () => {
  const insert = `INSERT INTO agentry.agent_metrics (agent_id, metric_type, metric_value, metric_unit, context) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *`;

  it('accepts every metric type, with an empty context by default', async () => {
    const agent = await newAgent();
    for (const [type, value, unit] of [
      ['latency', 123.5, 'ms'],
      ['tokens', 2048, 'tokens'],
      ['cost', 0.0031, 'usd'],
      ['success_rate', 97.5, '%'],
      ['error_rate', 2.5, '%'],
    ] as const) {
      const [row] = await accepted(db.pool, insert, [agent, type, value, unit, '{"model": "m"}']);
      expect(row).toMatchObject({ agent_id: agent, metric_type: type, metric_value: value });
    }
    const [row] = await accepted(db.pool, `INSERT INTO agentry.agent_metrics (agent_id, metric_type, metric_value) VALUES ($1, 'latency', -0) RETURNING context`, [
      agent,
    ]);
    expect(row!.context).toEqual({});
  });

  it('chk_agent_metrics_metric_type refuses an unknown type', async () => {
    const agent = await newAgent();
    await expectRefused(db.pool, insert, [agent, 'throughput', 1, null, '{}'], { constraint: 'chk_agent_metrics_metric_type', table: 'agent_metrics' });
  });

  for (const value of ['Infinity', '-Infinity', 'NaN']) {
    it(`chk_agent_metrics_metric_value_finite refuses ${value}`, async () => {
      const agent = await newAgent();
      await expectRefused(db.pool, insert, [agent, 'latency', value, 'ms', '{}'], {
        constraint: 'chk_agent_metrics_metric_value_finite',
        table: 'agent_metrics',
      });
    });
  }

  it('chk_agent_metrics_context_object refuses an array context', async () => {
    const agent = await newAgent();
    await expectRefused(db.pool, insert, [agent, 'latency', 1, 'ms', '["x"]'], { constraint: 'chk_agent_metrics_context_object', table: 'agent_metrics' });
  });

  it('fk_agent_metrics_agent_id: refuses an unknown agent; renaming the agent follows; deleting it deletes its metrics', async () => {
    await expectRefused(db.pool, insert, [uniq('ghost'), 'latency', 1, 'ms', '{}'], { constraint: 'fk_agent_metrics_agent_id', table: 'agent_metrics' });
    const agent = await newAgent();
    await accepted(db.pool, insert, [agent, 'latency', 1, 'ms', '{}']);
    await accepted(db.pool, insert, [agent, 'tokens', 2, null, '{}']);
    const renamed = uniq('renamed');
    await accepted(db.pool, 'UPDATE agentry.agents SET id = $2 WHERE id = $1', [agent, renamed]);
    expect(Number(await scalar('SELECT count(*) FROM agentry.agent_metrics WHERE agent_id = $1', [renamed]))).toBe(2);
    await accepted(db.pool, 'DELETE FROM agentry.agents WHERE id = $1', [renamed]);
    expect(Number(await scalar('SELECT count(*) FROM agentry.agent_metrics WHERE agent_id = $1', [renamed]))).toBe(0);
  });
});

describe('activity_logs', () => {
  const insert = `INSERT INTO agentry.activity_logs (task_id, worker_id, level, message, metadata) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *`;

  it('accepts each level, with or without task, worker and metadata', async () => {
    const task = await newTask();
    const worker = await newWorker();
    for (const level of ['info', 'warning', 'error']) {
      const [row] = await accepted(db.pool, insert, [task, worker, level, `a ${level}`, '{"step": 1}']);
      expect(row).toMatchObject({ level, task_id: task, worker_id: worker, metadata: { step: 1 } });
      expect(typeof row!.id).toBe('string'); // bigint identity
    }
    await accepted(db.pool, insert, [null, null, 'info', 'system started', null]);
  });

  it('chk_activity_logs_level refuses an unknown level', async () => {
    await expectRefused(db.pool, insert, [null, null, 'debug', 'x', null], { constraint: 'chk_activity_logs_level', table: 'activity_logs' });
  });

  it('chk_activity_logs_metadata_object refuses non-object metadata', async () => {
    await expectRefused(db.pool, insert, [null, null, 'info', 'x', '[1]'], { constraint: 'chk_activity_logs_metadata_object', table: 'activity_logs' });
    await expectRefused(db.pool, insert, [null, null, 'info', 'x', '"text"'], { constraint: 'chk_activity_logs_metadata_object', table: 'activity_logs' });
  });

  it('fk_activity_logs_task_id: refuses an unknown task; deleting the task deletes its log lines', async () => {
    await expectRefused(db.pool, insert, [randomUUID(), null, 'info', 'x', null], { constraint: 'fk_activity_logs_task_id', table: 'activity_logs' });
    const task = await newTask();
    const [kept] = await accepted<{ id: string }>(db.pool, insert, [null, null, 'info', 'unrelated', null]);
    await accepted(db.pool, insert, [task, null, 'info', 'one', null]);
    await accepted(db.pool, insert, [task, null, 'error', 'two', null]);
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [task]);
    expect(Number(await scalar('SELECT count(*) FROM agentry.activity_logs WHERE task_id = $1', [task]))).toBe(0);
    expect(Number(await scalar('SELECT count(*) FROM agentry.activity_logs WHERE id = $1', [kept!.id]))).toBe(1);
  });

  it('fk_activity_logs_worker_id: refuses an unknown worker; deleting the worker keeps the log line with worker_id NULL', async () => {
    await expectRefused(db.pool, insert, [null, randomUUID(), 'info', 'x', null], { constraint: 'fk_activity_logs_worker_id', table: 'activity_logs' });
    const worker = await newWorker();
    const [row] = await accepted<{ id: string }>(db.pool, insert, [null, worker, 'warning', 'hot cpu', null]);
    await accepted(db.pool, 'DELETE FROM agentry.workers WHERE id = $1', [worker]);
    const [after] = await accepted(db.pool, 'SELECT worker_id, message FROM agentry.activity_logs WHERE id = $1', [row!.id]);
    expect(after).toEqual({ worker_id: null, message: 'hot cpu' });
  });
});

describe('agent_interactions', () => {
  const insert = `INSERT INTO agentry.agent_interactions (workflow_id, from_agent_id, to_agent_id, interaction_type, message, payload)
                  VALUES ($1, $2, $3, $4, 'over to you', '{"artifact": "plan.md"}') RETURNING *`;

  it('accepts each interaction type between two agents', async () => {
    const [a, b] = [await newAgent(), await newAgent()];
    const workflow = await newWorkflow();
    for (const type of ['handoff', 'collaboration', 'review', 'feedback']) {
      const [row] = await accepted(db.pool, insert, [workflow, a, b, type]);
      expect(row).toMatchObject({ from_agent_id: a, to_agent_id: b, interaction_type: type });
    }
    await accepted(db.pool, insert, [null, b, a, 'feedback']);
  });

  it('chk_agent_interactions_interaction_type refuses an unknown type', async () => {
    const [a, b] = [await newAgent(), await newAgent()];
    await expectRefused(db.pool, insert, [null, a, b, 'gossip'], { constraint: 'chk_agent_interactions_interaction_type', table: 'agent_interactions' });
  });

  it('chk_agent_interactions_distinct_agents refuses an agent talking to itself', async () => {
    const a = await newAgent();
    await expectRefused(db.pool, insert, [null, a, a, 'review'], { constraint: 'chk_agent_interactions_distinct_agents', table: 'agent_interactions' });
  });

  it('fk_agent_interactions_workflow_id: refuses an unknown workflow; deleting the workflow deletes its interactions', async () => {
    const [a, b] = [await newAgent(), await newAgent()];
    await expectRefused(db.pool, insert, [randomUUID(), a, b, 'handoff'], { constraint: 'fk_agent_interactions_workflow_id', table: 'agent_interactions' });
    const workflow = await newWorkflow();
    await accepted(db.pool, insert, [workflow, a, b, 'handoff']);
    await accepted(db.pool, 'DELETE FROM agentry.workflows WHERE id = $1', [workflow]);
    expect(Number(await scalar('SELECT count(*) FROM agentry.agent_interactions WHERE workflow_id = $1', [workflow]))).toBe(0);
  });

  it('fk_agent_interactions_from_agent_id and fk_agent_interactions_to_agent_id: unknown agents refused; deleting either agent deletes the interaction', async () => {
    const [a, b, c] = [await newAgent(), await newAgent(), await newAgent()];
    await expectRefused(db.pool, insert, [null, uniq('ghost'), b, 'handoff'], {
      constraint: 'fk_agent_interactions_from_agent_id',
      table: 'agent_interactions',
    });
    await expectRefused(db.pool, insert, [null, a, uniq('ghost'), 'handoff'], { constraint: 'fk_agent_interactions_to_agent_id', table: 'agent_interactions' });
    const [ab] = await accepted<{ id: string }>(db.pool, insert, [null, a, b, 'handoff']);
    const [cb] = await accepted<{ id: string }>(db.pool, insert, [null, c, b, 'review']);
    const [ca] = await accepted<{ id: string }>(db.pool, insert, [null, c, a, 'review']);
    await accepted(db.pool, 'DELETE FROM agentry.agents WHERE id = $1', [a]); // from-side of ab, to-side of ca
    const left = await accepted<{ id: string }>(db.pool, 'SELECT id FROM agentry.agent_interactions WHERE id = ANY($1::uuid[])', [[ab!.id, cb!.id, ca!.id]]);
    expect(left.map((r) => r.id)).toEqual([cb!.id]);
  });
});

describe('trust_records', () => {
  const insert = `INSERT INTO agentry.trust_records (agent_id, event_type, task_id, trust_delta, trust_score_before, trust_score_after, reason)
                  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`;

  it('trg_trust_records_apply fills trust_score_before and trust_score_after; trg_trust_records_move_score moves the agent score to after', async () => {
    const agent = await newAgent(0.5);
    const task = await newTask({ agent });
    const [row] = await accepted(db.pool, insert, [agent, 'task_completed', task, 0.05, null, null, 'good work']);
    expect(row).toMatchObject({ trust_score_before: '0.5000', trust_delta: '0.0500', trust_score_after: '0.5500', task_id: task });
    expect(await trustOf(agent)).toBe('0.5500');
    const [second] = await accepted(db.pool, insert, [agent, 'task_failed', null, -0.2, null, null, null]);
    expect(second).toMatchObject({ trust_score_before: '0.5500', trust_score_after: '0.3500' });
    expect(await trustOf(agent)).toBe('0.3500');
  });

  it('accepts a correct trust_score_before (and after) given by the caller', async () => {
    const agent = await newAgent(0.25);
    const [row] = await accepted(db.pool, insert, [agent, 'manual_adjustment', null, 0.5, 0.25, 0.75, 'promoted']);
    expect(row).toMatchObject({ trust_score_before: '0.2500', trust_score_after: '0.7500' });
    expect(await trustOf(agent)).toBe('0.7500');
  });

  it('refuses a stale trust_score_before with AG006 (trg_trust_records_apply) and leaves the score alone', async () => {
    const agent = await newAgent(0.5);
    await accepted(db.pool, insert, [agent, 'task_completed', null, 0.1, null, null, null]);
    const error = await expectRefused(db.pool, insert, [agent, 'task_completed', null, 0.1, 0.5, null, null], {
      constraint: 'trg_trust_records_apply',
      code: SQLSTATE.trust,
      table: 'trust_records',
      message: /does not match/,
    });
    expect(error.column).toBe('trust_score_before');
    expect(await trustOf(agent)).toBe('0.6000');
  });

  it('chk_trust_records_arithmetic refuses an after that is not before + delta', async () => {
    const agent = await newAgent(0.5);
    await expectRefused(db.pool, insert, [agent, 'manual_adjustment', null, 0.1, null, 0.7, null], {
      constraint: 'chk_trust_records_arithmetic',
      table: 'trust_records',
    });
    await expectRefused(db.pool, insert, [agent, 'manual_adjustment', null, 0.1, 0.5, 0.5, null], {
      constraint: 'chk_trust_records_arithmetic',
      table: 'trust_records',
    });
    expect(await trustOf(agent)).toBe('0.5000');
  });

  it('chk_trust_records_after_range refuses a delta that would leave 0..1; the edges 0 and 1 are reached', async () => {
    const agent = await newAgent(0.95);
    await expectRefused(db.pool, insert, [agent, 'task_completed', null, 0.1, null, null, null], {
      constraint: 'chk_trust_records_after_range',
      table: 'trust_records',
    });
    await expectRefused(db.pool, insert, [agent, 'task_failed', null, -0.96, null, null, null], {
      constraint: 'chk_trust_records_after_range',
      table: 'trust_records',
    });
    expect(await trustOf(agent)).toBe('0.9500');
    await accepted(db.pool, insert, [agent, 'task_completed', null, 0.05, null, null, null]);
    expect(await trustOf(agent)).toBe('1.0000');
    await accepted(db.pool, insert, [agent, 'task_timeout', null, -1, null, null, null]);
    expect(await trustOf(agent)).toBe('0.0000');
  });

  it('chk_trust_records_event_type refuses an unknown event', async () => {
    const agent = await newAgent();
    await expectRefused(db.pool, insert, [agent, 'bribe', null, 0.1, null, null, null], { constraint: 'chk_trust_records_event_type', table: 'trust_records' });
  });

  it('chk_trust_records_delta_range and chk_trust_records_before_range refuse out-of-range values on their own', async () => {
    // With every CHECK in place an out-of-range delta is refused first by
    // chk_trust_records_after_range (or _arithmetic), and the trigger always
    // overwrites before with the agent's score; so each is shown alone, in a
    // transaction that is rolled back.
    const agent = await newAgent(0.5);
    const before = Number(await scalar('SELECT count(*) FROM agentry.trust_records'));
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE agentry.trust_records DROP CONSTRAINT chk_trust_records_after_range, DROP CONSTRAINT chk_trust_records_arithmetic');
      await client.query('SAVEPOINT s');
      const delta = await errorOf(client, insert, [agent, 'manual_adjustment', null, 1.5, null, null, null]);
      expect([delta.constraint, delta.code]).toEqual(['chk_trust_records_delta_range', SQLSTATE.checkViolation]);
      await client.query('ROLLBACK TO SAVEPOINT s');
      await client.query('ALTER TABLE agentry.trust_records DISABLE TRIGGER trg_trust_records_apply');
      const beforeRange = await errorOf(client, insert, [agent, 'manual_adjustment', null, -0.6, 1.5, 0.9, null]);
      expect([beforeRange.constraint, beforeRange.code]).toEqual(['chk_trust_records_before_range', SQLSTATE.checkViolation]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(Number(await scalar('SELECT count(*) FROM agentry.trust_records'))).toBe(before);
    expect(await trustOf(agent)).toBe('0.5000');
    const tgenabled = await scalar<string>(`SELECT tgenabled FROM pg_trigger WHERE tgname = 'trg_trust_records_apply'`);
    expect(tgenabled).toBe('O');
  });

  it('fk_trust_records_agent_id: an unknown agent is reported as such', async () => {
    await expectRefused(db.pool, insert, [uniq('ghost'), 'task_completed', null, 0.1, null, null, null], {
      constraint: 'fk_trust_records_agent_id',
      table: 'trust_records',
    });
    await expectRefused(db.pool, insert, [uniq('ghost'), 'task_completed', null, 0.1, 0.5, 0.6, null], {
      constraint: 'fk_trust_records_agent_id',
      table: 'trust_records',
    });
  });

  it('fk_trust_records_agent_id: renaming the agent follows, deleting it deletes its ledger', async () => {
    const agent = await newAgent();
    await accepted(db.pool, insert, [agent, 'task_completed', null, 0.1, null, null, null]);
    const renamed = uniq('renamed');
    await accepted(db.pool, 'UPDATE agentry.agents SET id = $2 WHERE id = $1', [agent, renamed]);
    const [row] = await accepted(db.pool, 'SELECT agent_id, trust_score_after FROM agentry.trust_records WHERE agent_id = $1', [renamed]);
    expect(row).toEqual({ agent_id: renamed, trust_score_after: '0.6000' });
    await accepted(db.pool, 'DELETE FROM agentry.agents WHERE id = $1', [renamed]);
    expect(Number(await scalar('SELECT count(*) FROM agentry.trust_records WHERE agent_id = $1', [renamed]))).toBe(0);
  });

  it('fk_trust_records_task_id: refuses an unknown task; deleting the task keeps the ledger with task_id NULL', async () => {
    const agent = await newAgent();
    await expectRefused(db.pool, insert, [agent, 'task_completed', randomUUID(), 0.1, null, null, null], {
      constraint: 'fk_trust_records_task_id',
      table: 'trust_records',
    });
    const task = await newTask({ agent });
    const [rec] = await accepted<{ id: string }>(db.pool, insert, [agent, 'task_completed', task, 0.1, null, null, 'done']);
    // The SET NULL action is an UPDATE that trg_trust_records_append_only must let through.
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [task]);
    const [row] = await accepted(db.pool, 'SELECT task_id, trust_score_before, trust_score_after, reason FROM agentry.trust_records WHERE id = $1', [rec!.id]);
    expect(row).toEqual({ task_id: null, trust_score_before: '0.5000', trust_score_after: '0.6000', reason: 'done' });
  });

  it('trg_trust_records_append_only refuses every UPDATE (AG004), even of the task reference', async () => {
    const agent = await newAgent();
    const task = await newTask({ agent });
    const [rec] = await accepted<{ id: string }>(db.pool, insert, [agent, 'task_completed', task, 0.1, null, null, 'original']);
    for (const sql of [
      `UPDATE agentry.trust_records SET reason = 'rewritten' WHERE id = $1`,
      `UPDATE agentry.trust_records SET trust_delta = 0.2, trust_score_after = 0.7 WHERE id = $1`,
      `UPDATE agentry.trust_records SET task_id = NULL WHERE id = $1`,
    ]) {
      await expectRefused(db.pool, sql, [rec!.id], {
        constraint: 'trg_trust_records_append_only',
        code: SQLSTATE.appendOnly,
        table: 'trust_records',
        message: /ledger/,
      });
    }
    const [row] = await accepted(db.pool, 'SELECT reason, trust_delta, task_id FROM agentry.trust_records WHERE id = $1', [rec!.id]);
    expect(row).toEqual({ reason: 'original', trust_delta: '0.1000', task_id: task });
  });

  it('the agent score changes only through the ledger (trg_agents_trust_score_guard) and equals the last record’s after', async () => {
    const agent = await newAgent(0.5);
    await expectRefused(db.pool, 'UPDATE agentry.agents SET trust_score = 0.9 WHERE id = $1', [agent], {
      constraint: 'trg_agents_trust_score_guard',
      code: SQLSTATE.trust,
      table: 'agents',
    });
    for (const delta of [0.1, -0.05, 0.2, -0.3, 0.0125]) {
      await accepted(db.pool, insert, [agent, 'manual_adjustment', null, delta, null, null, null]);
    }
    const [last] = await accepted<{ trust_score_after: string }>(
      db.pool,
      'SELECT trust_score_after FROM agentry.trust_records WHERE agent_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1',
      [agent],
    );
    expect(last!.trust_score_after).toBe('0.4625');
    expect(await trustOf(agent)).toBe(last!.trust_score_after);
  });

  it('concurrent records for one agent from several connections chain without a lost update', async () => {
    const agent = await newAgent(0.5);
    const connections = 4;
    const perConnection = 6;
    const deltas: number[] = [];
    const clients = await Promise.all(Array.from({ length: connections }, () => new pg.Client({ connectionString: db.url })));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      await Promise.all(
        clients.map(async (client, c) => {
          for (let i = 0; i < perConnection; i++) {
            const delta = (c % 2 === 0 ? 1 : -1) * (0.001 * (c + 1) + 0.0001 * i);
            deltas.push(delta);
            await client.query('BEGIN');
            await client.query(
              `INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta) VALUES ($1, 'manual_adjustment', $2)`,
              [agent, delta.toFixed(4)],
            );
            // Hold the agent's row lock a moment so that the others queue behind it.
            await client.query('SELECT pg_sleep(0.005)');
            await client.query('COMMIT');
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const records = await accepted<{ trust_score_before: string; trust_delta: string; trust_score_after: string }>(
      db.pool,
      'SELECT trust_score_before, trust_delta, trust_score_after FROM agentry.trust_records WHERE agent_id = $1 ORDER BY created_at, id',
      [agent],
    );
    expect(records).toHaveLength(connections * perConnection);
    const tenThousandths = (s: string): number => Math.round(Number(s) * 10_000);
    expect(records[0]!.trust_score_before).toBe('0.5000');
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      expect(tenThousandths(r.trust_score_before) + tenThousandths(r.trust_delta)).toBe(tenThousandths(r.trust_score_after));
      if (i > 0) expect(r.trust_score_before, `record ${i} starts where record ${i - 1} ended`).toBe(records[i - 1]!.trust_score_after);
    }
    const expected = 5000 + deltas.reduce((sum, d) => sum + Math.round(d * 10_000), 0);
    expect(tenThousandths(records.at(-1)!.trust_score_after)).toBe(expected);
    expect(tenThousandths(await trustOf(agent))).toBe(expected);
  });
});

describe('learning_experiences', () => {
  const insert = `INSERT INTO agentry.learning_experiences (agent_id, task_type, task_id, source, context, action, outcome, reward, lesson, times_applied)
                  VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10) RETURNING *`;
  const row = (over: Partial<Record<string, unknown>> = {}): unknown[] => {
    const v = {
      agent_id: null,
      task_type: 'code_generation',
      task_id: null,
      source: 'execution',
      context: '{"repo": "x"}',
      action: '{"tool": "claude_code"}',
      outcome: 'success',
      reward: 0.5,
      lesson: 'Run the linter before committing',
      times_applied: 0,
      ...over,
    };
    return [v.agent_id, v.task_type, v.task_id, v.source, v.context, v.action, v.outcome, v.reward, v.lesson, v.times_applied];
  };

  it('accepts an experience for an agent, for a task type, or both; every source and outcome', async () => {
    const agent = await newAgent();
    await accepted(db.pool, insert, row({ agent_id: agent, task_type: null }));
    await accepted(db.pool, insert, row());
    for (const source of ['execution', 'correction', 'evaluation', 'manual']) {
      for (const outcome of ['success', 'failure', 'partial', 'corrected']) {
        await accepted(db.pool, insert, row({ agent_id: agent, source, outcome }));
      }
    }
    for (const reward of [-1, 0, 1, null]) await accepted(db.pool, insert, row({ reward }));
    const [defaults] = await accepted(
      db.pool,
      `INSERT INTO agentry.learning_experiences (task_type, outcome, lesson) VALUES ('research', 'partial', 'Cite sources') RETURNING *`,
    );
    expect(defaults).toMatchObject({ source: 'execution', context: {}, action: {}, times_applied: 0, reward: null });
  });

  const refusals: Array<[string, Partial<Record<string, unknown>>]> = [
    ['chk_learning_experiences_source', { source: 'dream' }],
    ['chk_learning_experiences_outcome', { outcome: 'meh' }],
    ['chk_learning_experiences_reward_range', { reward: 1.001 }],
    ['chk_learning_experiences_reward_range', { reward: -1.5 }],
    ['chk_learning_experiences_context_object', { context: '[]' }],
    ['chk_learning_experiences_action_object', { action: '"run"' }],
    ['chk_learning_experiences_lesson_not_blank', { lesson: '' }],
    ['chk_learning_experiences_lesson_not_blank', { lesson: ' \t\n ' }],
    ['chk_learning_experiences_times_applied_nonnegative', { times_applied: -1 }],
    ['chk_learning_experiences_subject', { agent_id: null, task_type: null }],
  ];
  for (const [constraint, over] of refusals) {
    it(`${constraint} refuses ${JSON.stringify(over)}`, async () => {
      await expectRefused(db.pool, insert, row(over), { constraint, table: 'learning_experiences' });
    });
  }

  it('fk_learning_experiences_agent_id: refuses an unknown agent; deleting the agent deletes its experiences', async () => {
    await expectRefused(db.pool, insert, row({ agent_id: uniq('ghost') }), { constraint: 'fk_learning_experiences_agent_id', table: 'learning_experiences' });
    const agent = await newAgent();
    await accepted(db.pool, insert, row({ agent_id: agent }));
    await accepted(db.pool, 'DELETE FROM agentry.agents WHERE id = $1', [agent]);
    expect(Number(await scalar('SELECT count(*) FROM agentry.learning_experiences WHERE agent_id = $1', [agent]))).toBe(0);
  });

  it('fk_learning_experiences_task_type: refuses an unknown type; a type with experiences cannot be deleted, a rename follows', async () => {
    await expectRefused(db.pool, insert, row({ task_type: 'no_such_type' }), { constraint: 'fk_learning_experiences_task_type', table: 'learning_experiences' });
    const type = `lx_${randomUUID().slice(0, 8)}`;
    await accepted(db.pool, `INSERT INTO agentry.task_types (name, description, agent_type) VALUES ($1, 'fixture', 'CodeAgent')`, [type]);
    const [exp] = await accepted<{ id: string }>(db.pool, insert, row({ task_type: type }));
    await expectRefused(db.pool, 'DELETE FROM agentry.task_types WHERE name = $1', [type], {
      constraint: 'fk_learning_experiences_task_type',
      table: 'task_types',
    });
    const renamed = `${type}_v2`;
    await accepted(db.pool, 'UPDATE agentry.task_types SET name = $2 WHERE name = $1', [type, renamed]);
    expect(await scalar('SELECT task_type FROM agentry.learning_experiences WHERE id = $1', [exp!.id])).toBe(renamed);
  });

  it('fk_learning_experiences_task_id: refuses an unknown task; deleting the task keeps the experience with task_id NULL', async () => {
    await expectRefused(db.pool, insert, row({ task_id: randomUUID() }), { constraint: 'fk_learning_experiences_task_id', table: 'learning_experiences' });
    const task = await newTask();
    const [exp] = await accepted<{ id: string }>(db.pool, insert, row({ task_id: task }));
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [task]);
    expect(await scalar('SELECT task_id FROM agentry.learning_experiences WHERE id = $1', [exp!.id])).toBeNull();
  });

  describe('from corrections (trg_corrections_learn_insert, trg_corrections_learn_update)', () => {
    async function checkpointFor(task: string): Promise<string> {
      const [cp] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.checkpoints (task_id) VALUES ($1) RETURNING id', [task]);
      return cp!.id;
    }
    const correct = `INSERT INTO agentry.corrections (checkpoint_id, task_id, correction_type, guidance, reference_files, apply_to_future)
                     VALUES ($1, $2, 'wrong_approach', $3, '["docs/style.md"]', $4) RETURNING id`;
    const learned = (correction: string) =>
      accepted<Record<string, unknown>>(db.pool, 'SELECT * FROM agentry.learning_experiences WHERE correction_id = $1', [correction]);

    it('a correction inserted with apply_to_future records exactly one experience for the task’s agent and type', async () => {
      const agent = await newAgent();
      const task = await newTask({ agent, type: 'code_generation' });
      const checkpoint = await checkpointFor(task);
      const [c] = await accepted<{ id: string }>(db.pool, correct, [checkpoint, task, 'Prefer composition over inheritance', true]);
      const rows = await learned(c!.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        agent_id: agent,
        task_type: 'code_generation',
        task_id: task,
        correction_id: c!.id,
        source: 'correction',
        outcome: 'corrected',
        lesson: 'Prefer composition over inheritance',
        context: { correction_type: 'wrong_approach', checkpoint_id: checkpoint, reference_files: ['docs/style.md'] },
        action: { task_input: { specification: 'x' }, assigned_tool: null },
      });
    });

    it('a correction without apply_to_future records nothing; setting it later records exactly one, once', async () => {
      const agent = await newAgent();
      const task = await newTask({ agent });
      const [c] = await accepted<{ id: string }>(db.pool, correct, [await checkpointFor(task), task, 'Add tests', false]);
      expect(await learned(c!.id)).toHaveLength(0);
      await accepted(db.pool, `UPDATE agentry.corrections SET retry_count = 1 WHERE id = $1`, [c!.id]);
      expect(await learned(c!.id)).toHaveLength(0);
      await accepted(db.pool, 'UPDATE agentry.corrections SET apply_to_future = true WHERE id = $1', [c!.id]);
      expect(await learned(c!.id)).toHaveLength(1);
      // Off and on again, or any other update, adds nothing.
      await accepted(db.pool, 'UPDATE agentry.corrections SET apply_to_future = false WHERE id = $1', [c!.id]);
      await accepted(db.pool, 'UPDATE agentry.corrections SET apply_to_future = true WHERE id = $1', [c!.id]);
      await accepted(db.pool, `UPDATE agentry.corrections SET guidance = 'Add more tests' WHERE id = $1`, [c!.id]);
      const rows = await learned(c!.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ agent_id: agent, task_type: null, lesson: 'Add tests' });
    });

    it('a task with neither agent nor type has nobody to learn: no experience is recorded', async () => {
      const task = await newTask();
      const [c] = await accepted<{ id: string }>(db.pool, correct, [await checkpointFor(task), task, 'Be concise', true]);
      expect(await learned(c!.id)).toHaveLength(0);
    });

    it('uq_learning_experiences_correction_id: one experience per correction; fk_learning_experiences_correction_id sets NULL when the correction goes', async () => {
      const agent = await newAgent();
      const task = await newTask({ agent });
      const checkpoint = await checkpointFor(task);
      const [c] = await accepted<{ id: string }>(db.pool, correct, [checkpoint, task, 'Name things well', true]);
      await expectRefused(
        db.pool,
        `INSERT INTO agentry.learning_experiences (agent_id, correction_id, source, outcome, lesson) VALUES ($1, $2, 'correction', 'corrected', 'again')`,
        [agent, c!.id],
        { constraint: 'uq_learning_experiences_correction_id', table: 'learning_experiences' },
      );
      await expectRefused(
        db.pool,
        `INSERT INTO agentry.learning_experiences (agent_id, correction_id, outcome, lesson) VALUES ($1, $2, 'corrected', 'orphan')`,
        [agent, randomUUID()],
        { constraint: 'fk_learning_experiences_correction_id', table: 'learning_experiences' },
      );
      const [exp] = await learned(c!.id);
      await accepted(db.pool, 'DELETE FROM agentry.corrections WHERE id = $1', [c!.id]);
      const [kept] = await accepted(db.pool, 'SELECT correction_id, lesson FROM agentry.learning_experiences WHERE id = $1', [exp!.id]);
      expect(kept).toEqual({ correction_id: null, lesson: 'Name things well' });
    });
  });
});
