import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createAgentry } from '../../src/dal/client.js';
import {
  AppendOnlyViolation,
  ConflictError,
  ConnectionError,
  ConstraintViolation,
  CycleViolation,
  DatabaseError,
  FinalDecisionViolation,
  IllegalTransition,
  MissingInputKey,
  NotFound,
  parseInput,
  TrustLedgerViolation,
  ValidationError,
  wrapError,
  type ConstraintCatalog,
} from '../../src/dal/errors.js';
import { withDatabase } from '../../src/db/url.js';
import { useTestDatabase } from '../helpers/db.js';
import { readConstraintCatalog } from './catalog.js';

const db = useTestDatabase();
let catalog: ConstraintCatalog;

const TASK_A = '00000000-0000-4000-8000-00000000000a';
const TASK_B = '00000000-0000-4000-8000-00000000000b';
const TASK_C = '00000000-0000-4000-8000-00000000000c';
const AGENT = 'dal-errors-001';
const BCRYPT = '$2b$10$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0';

beforeAll(async () => {
  catalog = await readConstraintCatalog(db.pool);
  await db.pool.query(`INSERT INTO agentry.tasks (id, title) VALUES ($1, 'a'), ($2, 'b'), ($3, 'c')`, [TASK_A, TASK_B, TASK_C]);
  await db.pool.query(`INSERT INTO agentry.agents (id, name) VALUES ($1, $1)`, [AGENT]);
  await db.pool.query(`INSERT INTO agentry.users (username, email, password_hash) VALUES ('ada', 'ada@example.com', $1)`, [BCRYPT]);
});

/** The typed error a statement fails with (through wrapError, with the test database's catalog). */
async function refusal(sql: string, params: unknown[] = [], withCatalog: ConstraintCatalog | undefined = catalog): Promise<Error> {
  try {
    await db.pool.query(sql, params);
  } catch (error) {
    return wrapError(error, withCatalog ? { catalog: withCatalog } : {});
  }
  throw new Error(`expected the statement to be refused: ${sql}`);
}

/** Asserts the class, the constraint, and that the message ends by naming it. */
function expectViolation<T extends ConstraintViolation>(error: Error, type: new (...args: never[]) => T, constraint: string): T {
  expect(error, error.message).toBeInstanceOf(type);
  const violation = error as T;
  expect(violation.constraint).toBe(constraint);
  expect(violation.message.endsWith(`(${constraint})`), violation.message).toBe(true);
  expect(violation.cause).toBeInstanceOf(pg.DatabaseError);
  return violation;
}

describe('the catalog read from the test database', () => {
  it('knows constraints, expression unique indexes and triggers, but no partitions', () => {
    expect(catalog.chk_tasks_priority_range).toMatchObject({ table: 'tasks', kind: 'check', columns: ['priority'] });
    expect(catalog.uq_users_email).toMatchObject({ table: 'users', kind: 'unique', columns: ['email'] });
    expect(catalog.pk_agent_metrics).toMatchObject({ table: 'agent_metrics', kind: 'primary_key', columns: ['agent_id', 'recorded_at', 'id'] });
    expect(catalog.trg_tasks_status_transition).toMatchObject({ table: 'tasks', kind: 'trigger', columns: ['status'] });
    expect(catalog.chk_task_status_valid).toMatchObject({ table: 'task_status', kind: 'check' });
    const partitionEntries = Object.entries(catalog).filter(([, info]) => /_(y\d{4}m\d{2}|default)$/.test(info?.table ?? ''));
    expect(partitionEntries).toEqual([]);
  });
});

describe('constraint violations (23xxx, 428C9)', () => {
  it('CHECK: chk_tasks_priority_range in words', async () => {
    const error = await refusal(`INSERT INTO agentry.tasks (title, priority) VALUES ('x', 11)`);
    const violation = expectViolation(error, ConstraintViolation, 'chk_tasks_priority_range');
    expect(violation).toMatchObject({ kind: 'check', code: '23514', table: 'tasks', columns: ['priority'], column: 'priority', retryable: false });
    expect(violation.rule).toBe('tasks.priority must be between 1 and 10');
    expect(violation.message).toBe('tasks.priority must be between 1 and 10 (chk_tasks_priority_range)');
  });

  it('CHECK without a catalog entry: table and name from the error, no definition', async () => {
    const error = await refusal(`INSERT INTO agentry.tasks (title, priority) VALUES ('x', 0)`, [], {});
    expect(expectViolation(error, ConstraintViolation, 'chk_tasks_priority_range').message).toBe(
      'tasks failed a check (chk_tasks_priority_range)',
    );
  });

  it('CHECK of a domain (chk_task_status_valid) names the domain', async () => {
    const error = await refusal(`UPDATE agentry.tasks SET status = 'sleeping' WHERE id = $1`, [TASK_A]);
    const violation = expectViolation(error, ConstraintViolation, 'chk_task_status_valid');
    expect(violation.table).toBe('task_status');
    expect(violation.message).toMatch(/^task_status must be one of 'pending', 'initializing', .*'timeout' \(chk_task_status_valid\)$/);
  });

  it('CHECK inside a partition reports the partitioned table', async () => {
    const error = await refusal(`INSERT INTO agentry.audit_logs (event_type, action, success) VALUES ('bogus', 'x', true)`);
    const violation = expectViolation(error, ConstraintViolation, 'chk_audit_logs_event_type');
    expect((violation.cause as pg.DatabaseError).table).toMatch(/^audit_logs_(y\d{4}m\d{2}|default)$/);
    expect(violation.table).toBe('audit_logs');
    expect(violation.message).toMatch(/^audit_logs\.event_type must be one of 'authentication', /);
  });

  it('FOREIGN KEY: a row pointing at nothing', async () => {
    const error = await refusal(`INSERT INTO agentry.tasks (title, type, input) VALUES ('x', 'no_such_type', '{"a": 1}')`);
    const violation = expectViolation(error, ConstraintViolation, 'fk_tasks_type');
    expect(violation).toMatchObject({ kind: 'foreign_key', code: '23503', table: 'tasks', columns: ['type'], referencedTable: 'task_types' });
    expect(violation.message).toBe('tasks.type must refer to an existing task_types.name (fk_tasks_type)');
  });

  it('FOREIGN KEY: a parent still referenced (23503 up to PostgreSQL 17, 23001 from 18) is kind restrict', async () => {
    const error = await refusal(`DELETE FROM agentry.agent_types WHERE name = 'NLPAgent'`);
    const violation = expectViolation(error, ConstraintViolation, 'fk_task_types_agent_type');
    expect(['23503', '23001']).toContain(violation.code);
    expect(violation).toMatchObject({ kind: 'restrict', table: 'task_types', columns: ['agent_type'], referencedTable: 'agent_types' });
    expect(violation.message).toBe('a row of agent_types is still referenced by task_types.agent_type (fk_task_types_agent_type)');
  });

  it('FOREIGN KEY of a partitioned table, without a catalog: parent table from the partition name', async () => {
    const error = await refusal(
      `INSERT INTO agentry.audit_logs (event_type, action, success, user_id) VALUES ('authentication', 'x', true, gen_random_uuid())`,
      [],
      {},
    );
    const violation = expectViolation(error, ConstraintViolation, 'fk_audit_logs_user_id');
    expect(violation).toMatchObject({ kind: 'foreign_key', table: 'audit_logs', columns: ['user_id'], referencedTable: 'users' });
    expect(violation.message).toBe('audit_logs.user_id must refer to an existing row of users (fk_audit_logs_user_id)');
  });

  it('UNIQUE on an expression index (uq_users_email on lower(email))', async () => {
    const error = await refusal(`INSERT INTO agentry.users (username, email, password_hash) VALUES ('ada2', 'ADA@example.com', $1)`, [BCRYPT]);
    const violation = expectViolation(error, ConstraintViolation, 'uq_users_email');
    expect(violation).toMatchObject({ kind: 'unique', code: '23505', table: 'users', columns: ['email'], column: 'email' });
    expect(violation.message).toBe('users.email must be unique, compared as lower(email::text) (uq_users_email)');
    // The duplicate value is not repeated in the message (it may be personal data).
    expect(violation.message).not.toContain('ada@example.com');
  });

  it('UNIQUE constraint on a column', async () => {
    const error = await refusal(`INSERT INTO agentry.users (username, email, password_hash) VALUES ('ada', 'other@example.com', $1)`, [BCRYPT]);
    expect(expectViolation(error, ConstraintViolation, 'uq_users_username').message).toBe('users.username must be unique (uq_users_username)');
  });

  const duplicateMetric = (recordedAt: string) =>
    `INSERT INTO agentry.agent_metrics (id, agent_id, metric_type, metric_value, recorded_at) OVERRIDING SYSTEM VALUE
     VALUES (1, '${AGENT}', 'latency', 1, ${recordedAt}), (1, '${AGENT}', 'latency', 2, ${recordedAt})`;

  it("PRIMARY KEY of a partitioned table: the leaf's index name maps back to pk_agent_metrics", async () => {
    const error = await refusal(duplicateMetric(`date_trunc('month', now())`));
    const violation = expectViolation(error, ConstraintViolation, 'pk_agent_metrics');
    expect((violation.cause as pg.DatabaseError).constraint).toMatch(/^agent_metrics_y\d{4}m\d{2}_pkey$/);
    expect(violation).toMatchObject({ kind: 'primary_key', table: 'agent_metrics', columns: ['agent_id', 'recorded_at', 'id'] });
    expect(violation.message).toBe('agent_metrics (agent_id, recorded_at, id) must be unique together (pk_agent_metrics)');
  });

  it('PRIMARY KEY in the default partition, and without a catalog (pk_<table> naming rule)', async () => {
    const inDefault = await refusal(duplicateMetric(`'2100-01-01'::timestamptz`));
    expect((expectViolation(inDefault, ConstraintViolation, 'pk_agent_metrics').cause as pg.DatabaseError).constraint).toBe(
      'agent_metrics_default_pkey',
    );
    const uncatalogued = await refusal(duplicateMetric(`date_trunc('month', now())`), [], {});
    expect(expectViolation(uncatalogued, ConstraintViolation, 'pk_agent_metrics').table).toBe('agent_metrics');
  });

  it('NOT NULL: named <table>_<column>_not_null', async () => {
    const error = await refusal(`INSERT INTO agentry.tasks (title, status) VALUES ('x', NULL)`);
    const violation = expectViolation(error, ConstraintViolation, 'tasks_status_not_null');
    expect(violation).toMatchObject({ kind: 'not_null', code: '23502', table: 'tasks', columns: ['status'], column: 'status' });
    expect(violation.message).toBe('tasks.status must not be null (tasks_status_not_null)');
  });

  it('generated column written (428C9), on INSERT and on UPDATE', async () => {
    const inserted = await refusal(`INSERT INTO agentry.tasks (title, execution_time) VALUES ('x', 1)`);
    const violation = expectViolation(inserted, ConstraintViolation, 'GENERATED ALWAYS');
    expect(violation).toMatchObject({ kind: 'generated_column', code: '428C9', columns: ['execution_time'] });
    expect(violation.message).toBe('execution_time is a generated column and can only be DEFAULT (GENERATED ALWAYS)');
    const updated = await refusal(`UPDATE agentry.tasks SET duration_ms = 5 WHERE id = $1`, [TASK_A]);
    expect(expectViolation(updated, ConstraintViolation, 'GENERATED ALWAYS').columns).toEqual(['duration_ms']);
  });
});

describe("Agentry's trigger errors (AG001..AG006)", () => {
  it('AG001: IllegalTransition with from, to and the task id', async () => {
    const error = await refusal(`UPDATE agentry.tasks SET status = 'completed' WHERE id = $1`, [TASK_A]);
    const transition = expectViolation(error, IllegalTransition, 'trg_tasks_status_transition');
    expect(transition).toMatchObject({
      from: 'pending',
      to: 'completed',
      taskId: TASK_A,
      retryLimit: undefined,
      kind: 'trigger',
      code: 'AG001',
      table: 'tasks',
      column: 'status',
    });
    expect(transition.message).toBe('illegal task status transition: pending -> completed (trg_tasks_status_transition)');
  });

  it('AG001: the retry limit', async () => {
    const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO agentry.tasks (title, max_retries) VALUES ('once', 0) RETURNING id`);
    const id = rows[0]!.id;
    for (const status of ['queued', 'running', 'failed']) {
      await db.pool.query(`UPDATE agentry.tasks SET status = $2 WHERE id = $1`, [id, status]);
    }
    const error = await refusal(`UPDATE agentry.tasks SET status = 'retrying' WHERE id = $1`, [id]);
    expect(expectViolation(error, IllegalTransition, 'trg_tasks_status_transition')).toMatchObject({
      from: 'failed',
      to: 'retrying',
      taskId: id,
      retryLimit: 0,
    });
  });

  it('AG002: MissingInputKey, a ValidationError with the key(s) and the task type', async () => {
    const error = await refusal(`INSERT INTO agentry.tasks (type, input) VALUES ('data_analysis', '{"rows": 1}')`);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toBeInstanceOf(MissingInputKey);
    const missing = error as MissingInputKey;
    expect(missing).toMatchObject({
      keys: ['data', 'file_url'],
      taskType: 'data_analysis',
      constraint: 'trg_tasks_validate_input',
      code: 'AG002',
      table: 'tasks',
      column: 'input',
    });
    expect(missing.issues).toEqual([{ path: ['input', 'data'], message: 'missing required input key "data" or "file_url" for task type "data_analysis"' }]);
    expect(missing.message).toBe('missing required input key "data" or "file_url" for task type "data_analysis" (trg_tasks_validate_input)');
  });

  it('AG003: a dependency cycle (trg_task_dependencies_no_cycle)', async () => {
    await db.pool.query(`INSERT INTO agentry.task_dependencies (task_id, depends_on_id) VALUES ($1, $2), ($2, $3)`, [TASK_A, TASK_B, TASK_C]);
    const error = await refusal(`INSERT INTO agentry.task_dependencies (task_id, depends_on_id) VALUES ($1, $2)`, [TASK_C, TASK_A]);
    expect(expectViolation(error, CycleViolation, 'trg_task_dependencies_no_cycle')).toMatchObject({
      graph: 'dependencies',
      taskId: TASK_C,
      via: TASK_A,
      code: 'AG003',
      table: 'task_dependencies',
    });
  });

  it('AG003: a hierarchy cycle (trg_tasks_parent_cycle)', async () => {
    await db.pool.query(`UPDATE agentry.tasks SET parent_task_id = $1 WHERE id = $2`, [TASK_A, TASK_B]);
    const error = await refusal(`UPDATE agentry.tasks SET parent_task_id = $1 WHERE id = $2`, [TASK_B, TASK_A]);
    const cycle = expectViolation(error, CycleViolation, 'trg_tasks_parent_cycle');
    expect(cycle).toMatchObject({ graph: 'hierarchy', taskId: TASK_A, via: TASK_B, table: 'tasks', column: 'parent_task_id' });
    expect(cycle.message).toBe(
      `task hierarchy cycle: task ${TASK_A} cannot be a descendant of itself (via parent ${TASK_B}) (trg_tasks_parent_cycle)`,
    );
  });

  it('AG004: append-only audit_logs (UPDATE, TRUNCATE) and trust_records', async () => {
    await db.pool.query(`INSERT INTO agentry.audit_logs (event_type, action, success) VALUES ('authentication', 'login', true)`);
    const updated = await refusal(`UPDATE agentry.audit_logs SET action = 'changed'`);
    expect(expectViolation(updated, AppendOnlyViolation, 'trg_audit_logs_append_only')).toMatchObject({
      operation: 'UPDATE',
      table: 'audit_logs',
      code: 'AG004',
    });
    const truncated = await refusal(`TRUNCATE agentry.audit_logs`);
    expect(expectViolation(truncated, AppendOnlyViolation, 'trg_audit_logs_no_truncate').operation).toBe('TRUNCATE');

    await db.pool.query(`INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta) VALUES ($1, 'manual_adjustment', 0.1)`, [AGENT]);
    const ledger = await refusal(`UPDATE agentry.trust_records SET reason = 'rewritten'`);
    expect(expectViolation(ledger, AppendOnlyViolation, 'trg_trust_records_append_only')).toMatchObject({
      operation: 'UPDATE',
      table: 'trust_records',
    });
  });

  it('AG005: a checkpoint decision is final', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      `INSERT INTO agentry.checkpoints (task_id, user_decision) VALUES ($1, 'approve') RETURNING id`,
      [TASK_C],
    );
    const error = await refusal(`UPDATE agentry.checkpoints SET user_decision = 'reject' WHERE id = $1`, [rows[0]!.id]);
    expect(expectViolation(error, FinalDecisionViolation, 'trg_checkpoints_decision')).toMatchObject({
      checkpointId: rows[0]!.id,
      decision: 'approve',
      code: 'AG005',
      table: 'checkpoints',
      column: 'user_decision',
    });
  });

  it('AG006: trust_score written directly, and a stale ledger row', async () => {
    const direct = await refusal(`UPDATE agentry.agents SET trust_score = 0.99 WHERE id = $1`, [AGENT]);
    expect(expectViolation(direct, TrustLedgerViolation, 'trg_agents_trust_score_guard')).toMatchObject({
      agentId: AGENT,
      reason: 'direct_update',
      code: 'AG006',
      table: 'agents',
      column: 'trust_score',
    });
    const stale = await refusal(
      `INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta, trust_score_before) VALUES ($1, 'manual_adjustment', 0.1, 0.0001)`,
      [AGENT],
    );
    expect(expectViolation(stale, TrustLedgerViolation, 'trg_trust_records_apply')).toMatchObject({
      agentId: AGENT,
      reason: 'stale_ledger_row',
      table: 'trust_records',
    });
  });
});

describe('concurrency conflicts (retryable)', () => {
  async function withClients<T>(fn: (a: pg.PoolClient, b: pg.PoolClient) => Promise<T>): Promise<T> {
    const [a, b] = await Promise.all([db.pool.connect(), db.pool.connect()]);
    try {
      return await fn(a, b);
    } finally {
      await Promise.all([a.query('ROLLBACK').catch(() => undefined), b.query('ROLLBACK').catch(() => undefined)]);
      a.release();
      b.release();
    }
  }

  it('40001 from two REPEATABLE READ transactions: ConflictError serialization_failure', async () => {
    const error = await withClients(async (a, b) => {
      await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await b.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await b.query('SELECT title FROM agentry.tasks WHERE id = $1', [TASK_C]); // b's snapshot is taken
      await a.query(`UPDATE agentry.tasks SET title = 'by a' WHERE id = $1`, [TASK_C]);
      await a.query('COMMIT');
      return b.query(`UPDATE agentry.tasks SET title = 'by b' WHERE id = $1`, [TASK_C]).then(
        () => {
          throw new Error('expected a serialization failure');
        },
        (e: unknown) => wrapError(e, { catalog }),
      );
    });
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ reason: 'serialization_failure', code: '40001', retryable: true });
  });

  it('40P01 deadlock: ConflictError deadlock', async () => {
    const errors = await withClients(async (a, b) => {
      for (const client of [a, b]) {
        await client.query('BEGIN');
        await client.query(`SET LOCAL deadlock_timeout = '50ms'`);
      }
      await a.query(`UPDATE agentry.tasks SET title = 'a1' WHERE id = $1`, [TASK_A]);
      await b.query(`UPDATE agentry.tasks SET title = 'b1' WHERE id = $1`, [TASK_B]);
      const results = await Promise.allSettled([
        a.query(`UPDATE agentry.tasks SET title = 'a2' WHERE id = $1`, [TASK_B]),
        b.query(`UPDATE agentry.tasks SET title = 'b2' WHERE id = $1`, [TASK_A]),
      ]);
      return results.filter((r) => r.status === 'rejected').map((r) => wrapError((r as PromiseRejectedResult).reason));
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConflictError);
    expect(errors[0]).toMatchObject({ reason: 'deadlock', code: '40P01', retryable: true });
  });

  it('55P03 NOWAIT on a locked row: ConflictError lock_not_available', async () => {
    const error = await withClients(async (a, b) => {
      await a.query('BEGIN');
      await a.query('SELECT 1 FROM agentry.tasks WHERE id = $1 FOR UPDATE', [TASK_A]);
      return b.query('SELECT 1 FROM agentry.tasks WHERE id = $1 FOR UPDATE NOWAIT', [TASK_A]).then(
        () => new Error('expected the lock to be refused'),
        (e: unknown) => wrapError(e),
      );
    });
    expect(error).toMatchObject({ name: 'ConflictError', reason: 'lock_not_available', code: '55P03', retryable: true });
  });

  it('a version mismatch (optimistic lock) is a ConflictError that is not retryable as is', () => {
    const error = ConflictError.versionMismatch('task', TASK_A, 3);
    expect(error).toMatchObject({ reason: 'version_mismatch', entity: 'task', id: TASK_A, expectedVersion: 3, retryable: false });
    expect(error.message).toBe(`task ${TASK_A} was changed by someone else (expected version 3)`);
  });
});

describe('invalid input values (22xxx) and input refused before SQL', () => {
  it('22P02: a malformed uuid is a ValidationError', async () => {
    const error = await refusal('SELECT * FROM agentry.tasks WHERE id = $1', ['not-a-uuid']);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).not.toBeInstanceOf(ConstraintViolation);
    expect(error).toMatchObject({ code: '22P02', issues: [{ path: [], message: 'invalid input syntax for type uuid: "not-a-uuid"' }] });
    expect(error.message).toBe('invalid input value: invalid input syntax for type uuid: "not-a-uuid"');
  });

  it('22001 (too long) and 22003 (out of range) are ValidationErrors too', async () => {
    expect(await refusal(`INSERT INTO agentry.agents (id, name) VALUES ('x-1', repeat('x', 300))`)).toMatchObject({
      name: 'ValidationError',
      code: '22001',
    });
    expect(await refusal(`INSERT INTO agentry.tasks (title, priority) VALUES ('x', 99999999999)`)).toMatchObject({
      name: 'ValidationError',
      code: '22003',
    });
  });

  it('parseInput turns zod issues into a ValidationError, before any SQL', () => {
    const schema = z.object({ title: z.string().min(1), priority: z.number().int().min(1).max(10) });
    expect(parseInput(schema, { title: 't', priority: 3 })).toEqual({ title: 't', priority: 3 });
    let caught: unknown;
    try {
      parseInput(schema, { title: '', priority: 11 }, 'task');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const validation = caught as ValidationError;
    expect(validation.code).toBeUndefined();
    expect(validation.issues.map((issue) => issue.path)).toEqual([['title'], ['priority']]);
    expect(validation.message).toMatch(/^invalid task: title: .+ \(and 1 more\)$/);
  });
});

describe('connection errors', () => {
  it('connection refused: ConnectionError, retryable', async () => {
    const agentry = createAgentry({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', connectionTimeoutMillis: 5_000 });
    try {
      const error = await agentry.query('work.get_task', [TASK_A]).then(
        () => new Error('expected the connection to be refused'),
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: 'ECONNREFUSED', retryable: true, query: 'work.get_task' });
      expect(error.message).toMatch(/^database connection failed \(ECONNREFUSED\): /);
    } finally {
      await agentry.close();
    }
  });

  it('a database that does not exist (3D000): ConnectionError, not retryable', async () => {
    const agentry = createAgentry({ connectionString: withDatabase(db.url, 'agentry_no_such_database') });
    try {
      const error = await agentry.query('work.get_task', [TASK_A]).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: '3D000', retryable: false });
    } finally {
      await agentry.close();
    }
  });
});

describe('wrapError on anything else', () => {
  it('returns a non-database error unchanged, and a typed error as it is', () => {
    const plain = new TypeError('not from the database');
    expect(wrapError(plain)).toBe(plain);
    const typed = new NotFound('task', TASK_A);
    expect(wrapError(typed)).toBe(typed);
    expect(typed.message).toBe(`task ${TASK_A} not found`);
    expect(typed).toMatchObject({ entity: 'task', id: TASK_A, code: undefined });
  });

  it('wraps a thrown non-Error value in an Error', () => {
    const wrapped = wrapError('a string');
    expect(wrapped).toBeInstanceOf(Error);
    expect(wrapped.message).toBe('a string');
    expect(wrapped.cause).toBe('a string');
  });

  it('any other SQLSTATE is a DatabaseError with its code', async () => {
    const error = await refusal('SELECT * FROM agentry.no_such_table');
    expect(error.constructor).toBe(DatabaseError);
    expect(error).toMatchObject({ code: '42P01', retryable: false });
  });
});
