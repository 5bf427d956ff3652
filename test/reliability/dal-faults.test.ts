import { randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Tasks, TasksId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConnectionError, DatabaseError } from '../../src/dal/errors.js';
import type { AgentrySession } from '../../src/dal/executor.js';
import type { ContextModules } from '../../src/dal/modules.js';
import { useTestDatabase } from '../helpers/db.js';
import { recordFigures } from '../helpers/figures.js';
import { backendsOn, quietPool, waitFor } from './support/faults.js';

// The typed DAL when the server ends its connection (pg_terminate_backend, as
// an administrator, a failover or an idle-session killer does): inside a
// transaction at every point (between statements, inside a statement, inside
// a nested transaction, after the last statement before COMMIT), and under a
// plain pooled statement. Each time: the caller gets a ConnectionError
// (typed, retryable), nothing the transaction wrote is there, no client is
// left checked out, and the next calls (more at once than the pool holds)
// succeed on the same client.

const POOL_MAX = 3;
const ROUNDS = 3;
const db = useTestDatabase();
const app = `agentry-faults-dal-${randomBytes(4).toString('hex')}`;
let admin: pg.Pool;
let pool: pg.Pool;
let agentry: AgentryClient;
/** What the client's onError heard from idle connections. */
const heard: Error[] = [];
/** A task the test row-locks so that a DAL statement waits on it, long enough to be terminated in the middle. */
let blocker: Tasks;

const figures = {
  faultsInjected: 0,
  transactionsTerminated: 0,
  pooledStatementsTerminated: 0,
  idleConnectionsTerminated: 0,
  typedConnectionErrors: 0,
  untypedErrors: 0,
  operationsAfterFaults: 0,
  partialWritesFound: 0,
  clientsLeftCheckedOut: 0,
};

beforeAll(async () => {
  admin = quietPool(db.url);
  // The pool is the test's (so it can count its clients); the DAL keeps its own listeners on it.
  pool = quietPool(db.url, { max: POOL_MAX, application_name: app });
  agentry = createAgentry({ pool }, { onError: (error) => heard.push(error) });
  const [created] = await agentry.work.createTasks([{ title: `${app} blocker`, status: 'queued' }]);
  blocker = created!;
});

afterAll(async () => {
  await agentry?.close();
  await pool?.end();
  await admin?.end();
  recordFigures('faults-dal', figures);
});

/** The pool's connections on the server (this client's, by application_name). */
const ours = () => backendsOn(admin, db.name, app);

async function terminate(pid: number): Promise<void> {
  const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [pid]);
  expect(rows[0]!.ok).toBe(true);
  figures.faultsInjected += 1;
  await waitFor(`server process ${pid} to end`, async () => (await ours()).every((b) => b.pid !== pid));
}

/** Terminates the one connection of ours that is idle inside a transaction (the transaction's, while fn awaits). */
async function terminateIdleInTransaction(): Promise<void> {
  let pid = 0;
  await waitFor('the transaction to be idle in transaction', async () => {
    pid = (await ours()).find((b) => b.state === 'idle in transaction')?.pid ?? 0;
    return pid !== 0;
  });
  await terminate(pid);
}

/** Terminates the connection of ours whose statement (cut) waits on the blocker's row lock. */
async function terminateWaiting(cut: Blocked): Promise<void> {
  let pid = 0;
  await waitFor('a statement to wait on the row lock', async () => {
    if (cut.settled) throw new Error(`the statement ended before it was cut off: ${String(await cut.outcome)}`);
    pid = (await ours()).find((b) => b.state === 'active' && b.wait_event_type === 'Lock')?.pid ?? 0;
    return pid !== 0;
  });
  await terminate(pid);
}

/** Runs fn while a session of the test holds the blocker's row lock (FOR UPDATE in an open transaction). */
async function withRowLock<T>(fn: () => Promise<T>): Promise<T> {
  const holder = new pg.Client({ connectionString: db.url });
  holder.on('error', () => undefined);
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM agentry.tasks WHERE id = $1 FOR UPDATE', [blocker.id]);
    return await fn();
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
}

interface Blocked {
  /** What the statement threw (or an Error saying it did not throw). */
  outcome: Promise<unknown>;
  settled: boolean;
}

/** A statement that waits on the row lock: a patch of the blocker at its current version. */
function blockedUpdate(session: AgentrySession<ContextModules>): Blocked {
  const blocked: Blocked = { outcome: Promise.resolve(), settled: false };
  // Handled at once: it may fail before the test has finished terminating it.
  blocked.outcome = session.work.updateTask(blocker.id, blocker.version, { progress: '50' }).then(
    () => new Error('expected the statement to be cut off'),
    (error: unknown) => error,
  );
  void blocked.outcome.finally(() => {
    blocked.settled = true;
  });
  return blocked;
}

/** The first writes of every transaction: a workflow and three tasks in it, two depending on the first. */
async function write(session: AgentrySession<ContextModules>, tag: string): Promise<void> {
  const workflow = await session.work.createWorkflow({ name: tag });
  const first = randomUUID() as TasksId;
  await session.work.createTasks([
    { id: first, title: `${tag} 1`, workflow_id: workflow.id, status: 'queued' },
    { title: `${tag} 2`, workflow_id: workflow.id, depends_on: [first] },
    { title: `${tag} 3`, workflow_id: workflow.id, depends_on: [first] },
  ]);
}

/** Rows of the transaction tagged `tag`: 0 when it rolled back, 6 (workflow, 3 tasks, 2 edges) when it committed. */
async function rowsOf(tag: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM agentry.workflows WHERE name = $1)
          + (SELECT count(*) FROM agentry.tasks WHERE title LIKE $2)
          + (SELECT count(*) FROM agentry.task_dependencies d JOIN agentry.tasks t ON t.id = d.task_id WHERE t.title LIKE $2) AS n`,
    [tag, `${tag} %`],
  );
  return Number(rows[0]!.n);
}

function expectConnectionError(error: unknown, code?: string): void {
  if (error instanceof ConnectionError) figures.typedConnectionErrors += 1;
  else figures.untypedErrors += 1;
  expect(error, String(error)).toBeInstanceOf(ConnectionError);
  expect(error).toBeInstanceOf(DatabaseError);
  expect((error as ConnectionError).retryable).toBe(true);
  expect((error as ConnectionError).message).toMatch(/^database connection failed/);
  if (code !== undefined) expect((error as ConnectionError).code).toBe(code);
}

/** Nothing checked out, nobody waiting, and more transactions at once than the pool has clients all commit. */
async function expectRecovered(label: string): Promise<void> {
  if (pool.waitingCount !== 0 || pool.idleCount !== pool.totalCount) figures.clientsLeftCheckedOut += pool.totalCount - pool.idleCount;
  expect({ waiting: pool.waitingCount, checkedOut: pool.totalCount - pool.idleCount }).toEqual({ waiting: 0, checkedOut: 0 });
  const tags = Array.from({ length: POOL_MAX + 2 }, (_, i) => `${app} ok ${label} ${i}`);
  await Promise.all(tags.map((tag) => agentry.transaction((tx) => write(tx, tag))));
  figures.operationsAfterFaults += tags.length;
  for (const tag of tags) expect(await rowsOf(tag)).toBe(6);
  const [again] = await agentry.work.createTasks([{ title: `${app} ok ${label} single` }]);
  expect(again!.title).toBe(`${app} ok ${label} single`);
  figures.operationsAfterFaults += 1;
  expect(pool.totalCount).toBeLessThanOrEqual(POOL_MAX);
}

type FaultPoint = (tag: string) => Promise<unknown>;

const FAULT_POINTS: Record<string, { code?: string; run: FaultPoint }> = {
  'between statements (fn awaits something else)': {
    run: (tag) =>
      agentry.transaction(async (tx) => {
        await write(tx, tag);
        await terminateIdleInTransaction();
        await tx.work.createTasks([{ title: `${tag} 4` }]);
      }),
  },
  'inside a statement (waiting on a row lock)': {
    code: '57P01',
    run: (tag) =>
      withRowLock(() =>
        agentry.transaction(async (tx) => {
          await write(tx, tag);
          const cut = blockedUpdate(tx);
          await terminateWaiting(cut);
          throw await cut.outcome;
        }),
      ),
  },
  'inside a nested transaction (savepoint)': {
    code: '57P01',
    run: (tag) =>
      withRowLock(() =>
        agentry.transaction(async (tx) => {
          await write(tx, tag);
          await tx.transaction(async (sp) => {
            await sp.work.createTasks([{ title: `${tag} nested` }]);
            const cut = blockedUpdate(sp);
            await terminateWaiting(cut);
            throw await cut.outcome;
          });
        }),
      ),
  },
  'after the last statement, before COMMIT': {
    run: (tag) =>
      agentry.transaction(async (tx) => {
        await write(tx, tag);
        await terminateIdleInTransaction();
        // fn returns normally: the COMMIT meets the dead connection.
      }),
  },
};

describe('a DAL transaction whose connection is terminated', () => {
  for (const [point, { code, run }] of Object.entries(FAULT_POINTS)) {
    it(`${point}: ConnectionError, nothing written, the pool recovers (${ROUNDS} rounds)`, async () => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const tag = `${app} ${point} ${round}`;
        const error = await run(tag).then(
          () => new Error('expected the transaction to fail'),
          (e: unknown) => e,
        );
        figures.transactionsTerminated += 1;
        expectConnectionError(error, code);
        const left = await rowsOf(tag);
        figures.partialWritesFound += left;
        expect(left).toBe(0);
        await expectRecovered(`${point} ${round}`);
      }
    });
  }
});

describe('a plain pooled statement whose connection is terminated', () => {
  it('inside the statement: ConnectionError 57P01 naming the statement, the row untouched, the next calls succeed', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const error = await withRowLock(async () => {
        const cut = blockedUpdate(agentry);
        await terminateWaiting(cut);
        return cut.outcome;
      });
      figures.pooledStatementsTerminated += 1;
      expectConnectionError(error, '57P01');
      expect((error as ConnectionError).query).toBe('work.update_task');
      const now = await agentry.work.getTask(blocker.id);
      expect({ version: now.version, progress: now.progress }).toEqual({ version: blocker.version, progress: blocker.progress });
      await expectRecovered(`pooled ${round}`);
    }
    // The blocker can still be updated at the version it had: nothing was half-done to it.
    const updated = await agentry.work.updateTask(blocker.id, blocker.version, { progress: '10' });
    expect(updated.version).toBe(blocker.version + 1);
    blocker = updated;
  });

  it('idle in the pool: onError hears a ConnectionError for each, and the next statements run on new connections', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      await expectRecovered(`idle warm-up ${round}`); // leaves the pool's connections idle
      const idle = (await ours()).filter((b) => b.state === 'idle');
      expect(idle.length).toBeGreaterThan(0);
      heard.length = 0;
      for (const b of idle) await terminate(b.pid);
      figures.idleConnectionsTerminated += idle.length;
      await waitFor('onError to hear every terminated connection', () => heard.length === idle.length, 10_000);
      for (const error of heard) expectConnectionError(error, '57P01');
      const before = new Set(idle.map((b) => b.pid));
      await expectRecovered(`idle ${round}`);
      expect((await ours()).filter((b) => before.has(b.pid))).toEqual([]);
    }
  });
});
