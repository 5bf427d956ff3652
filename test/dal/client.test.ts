import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConnectionError, ConstraintViolation, type ConstraintCatalog } from '../../src/dal/errors.js';
import type { Executor } from '../../src/dal/executor.js';
import { loadQueries } from '../../src/dal/sql.js';
import { useTestDatabase } from '../helpers/db.js';
import { readConstraintCatalog } from './catalog.js';

const db = useTestDatabase();
const fixtureQueries = loadQueries(join(import.meta.dirname, 'fixtures', 'queries'));

/** A context module as the real ones are written: a factory over an executor. */
const probeModule = (executor: Executor) => ({
  async backendPid(): Promise<number> {
    const [row] = await executor.query<{ pid: number }>('dal_test.backend_pid');
    return row!.pid;
  },
  async addTask(title: string): Promise<string> {
    const [row] = await executor.query<{ id: string }>('dal_test.insert_task', [title]);
    return row!.id;
  },
});
const testModules = { probe: probeModule };

let catalog: ConstraintCatalog;
let agentry: AgentryClient<typeof testModules>;

beforeAll(async () => {
  catalog = await readConstraintCatalog(db.pool);
  agentry = createAgentry({ pool: db.pool }, { queries: fixtureQueries, constraints: catalog, modules: testModules });
});

afterAll(async () => {
  await agentry?.close();
});

/** A title no other test uses, so counts are per test. */
const uniqueTitle = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

async function countTasks(title: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM agentry.tasks WHERE title = $1', [title]);
  return Number(rows[0]!.n);
}

describe('query(name, params)', () => {
  it('runs a registered statement of the package (work.get_task) and returns its rows', async () => {
    const packaged = createAgentry({ pool: db.pool });
    try {
      const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO agentry.tasks (title, priority) VALUES ('get me', 7) RETURNING id`);
      const tasks = await packaged.query<{ id: string; title: string; priority: number; created_at: Date }>('work.get_task', [rows[0]!.id]);
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ id: rows[0]!.id, title: 'get me', priority: 7 });
      expect(tasks[0]!.created_at).toBeInstanceOf(Date);
    } finally {
      await packaged.close();
    }
  });

  it('refuses a wrong parameter count or an unknown name before any SQL', async () => {
    await expect(agentry.query('dal_test.insert_task', [])).rejects.toThrow(new TypeError('dal_test.insert_task takes 1 parameter ($1 title), got 0'));
    await expect(agentry.query('dal_test.nope')).rejects.toThrow(/^unknown query "dal_test.nope": no file .*nope\.sql \(dal_test has: /);
  });

  it('returns typed errors naming the statement, with words from the catalog', async () => {
    const id = await agentry.probe.addTask(uniqueTitle('priority'));
    const error = await agentry.query('dal_test.set_priority', [id, 11]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect(error).toMatchObject({
      constraint: 'chk_tasks_priority_range',
      query: 'dal_test.set_priority',
      message: 'tasks.priority must be between 1 and 10 (chk_tasks_priority_range)',
    });
  });
});

describe('numbers and times', () => {
  interface Numbers {
    big: string;
    exact: string;
    bigs: string[];
    exacts: string[];
    at: Date;
    ats: Date[];
    small: number;
    approx: number;
    doc: { a: number[] };
  }

  it('int8 and numeric (and their arrays) come back as strings, timestamptz as Date', async () => {
    const [row] = await agentry.query<Numbers>('dal_test.numbers');
    expect(row).toEqual({
      big: '9007199254740993',
      exact: '12345678901234567890.123456789',
      bigs: ['9007199254740993', '-1'],
      exacts: ['1.10', '0.1'],
      at: new Date('2026-01-02T03:04:05.678Z'),
      ats: [new Date('2026-01-02T03:04:05Z')],
      small: 42,
      approx: 1.5,
      doc: { a: [1, 2] },
    });
  });

  it('per client: a global pg.types override neither changes them nor is changed', async () => {
    const previous = { int8: pg.types.getTypeParser(20), numeric: pg.types.getTypeParser(1700) };
    pg.types.setTypeParser(20, (value: string) => Number.parseInt(value, 10));
    pg.types.setTypeParser(1700, (value: string) => Number.parseFloat(value));
    try {
      const [row] = await agentry.query<Numbers>('dal_test.numbers');
      expect(row).toMatchObject({ big: '9007199254740993', exact: '12345678901234567890.123456789' });
      // Other code in the process keeps its own parsing.
      const { rows } = await db.pool.query<{ big: number }>('SELECT 7::int8 AS big');
      expect(rows[0]!.big).toBe(7);
    } finally {
      pg.types.setTypeParser(20, previous.int8);
      pg.types.setTypeParser(1700, previous.numeric);
    }
  });
});

describe('transaction(fn)', () => {
  it('commits what fn did', async () => {
    const title = uniqueTitle('commit');
    const result = await agentry.transaction(async (tx) => {
      await tx.query('dal_test.insert_task', [title]);
      await tx.probe.addTask(title);
      // Not visible outside before COMMIT.
      expect(await countTasks(title)).toBe(0);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await countTasks(title)).toBe(2);
  });

  it('rolls back when fn throws and rethrows the same error: nothing is left', async () => {
    const title = uniqueTitle('rollback');
    const boom = new Error('boom');
    await expect(
      agentry.transaction(async (tx) => {
        await tx.probe.addTask(title);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await countTasks(title)).toBe(0);
  });

  it('rolls back on a database error and rethrows it typed', async () => {
    const title = uniqueTitle('rollback-db');
    const error = await agentry
      .transaction(async (tx) => {
        const id = await tx.probe.addTask(title);
        await tx.query('dal_test.set_priority', [id, 0]);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConstraintViolation);
    expect((error as ConstraintViolation).constraint).toBe('chk_tasks_priority_range');
    expect(await countTasks(title)).toBe(0);
  });

  it('rethrows a thrown non-Error value unchanged', async () => {
    const sentinel = { abort: true };
    await expect(
      agentry.transaction(async () => {
        throw sentinel;
      }),
    ).rejects.toBe(sentinel);
  });

  it('nested transaction(...) is a savepoint: its failure undoes only its own work', async () => {
    const title = uniqueTitle('savepoint');
    await agentry.transaction(async (tx) => {
      await tx.probe.addTask(`${title}-outer-before`);
      await expect(
        tx.transaction(async (inner) => {
          await inner.probe.addTask(`${title}-inner`);
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
      // A failed statement inside the savepoint leaves the outer transaction usable too.
      const failure = await tx
        .transaction(async (inner) => {
          const id = await inner.probe.addTask(`${title}-inner`);
          await inner.query('dal_test.set_priority', [id, 99]);
        })
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ConstraintViolation);
      const kept = await tx.transaction(async (inner) => inner.probe.addTask(`${title}-inner-kept`));
      expect(typeof kept).toBe('string');
      await tx.probe.addTask(`${title}-outer-after`);
    });
    expect(await countTasks(`${title}-outer-before`)).toBe(1);
    expect(await countTasks(`${title}-inner`)).toBe(0);
    expect(await countTasks(`${title}-inner-kept`)).toBe(1);
    expect(await countTasks(`${title}-outer-after`)).toBe(1);
  });

  it('the transaction-bound client and its modules all use the one connection', async () => {
    await agentry.transaction(async (tx) => {
      const [{ pid }] = (await tx.query<{ pid: number }>('dal_test.backend_pid')) as [{ pid: number }];
      expect(await tx.probe.backendPid()).toBe(pid);
      await tx.transaction(async (inner) => {
        expect(await inner.probe.backendPid()).toBe(pid);
        expect((await inner.query<{ pid: number }>('dal_test.backend_pid'))[0]!.pid).toBe(pid);
      });
      // The modules of the pool-level client run on other connections meanwhile.
      expect(await agentry.probe.backendPid()).not.toBe(pid);
    });
  });

  it('takes an isolation level and read-only mode for the outermost transaction only', async () => {
    const settings = await agentry.transaction(
      async (tx) => (await tx.query<{ isolation: string; read_only: string }>('dal_test.transaction_settings'))[0],
      { isolationLevel: 'serializable', readOnly: true },
    );
    expect(settings).toEqual({ isolation: 'serializable', read_only: 'on' });
    await expect(
      agentry.transaction((tx) => tx.transaction(async () => 1, { isolationLevel: 'repeatable read' })),
    ).rejects.toThrow(TypeError);
    await expect(agentry.transaction(async () => 1, { isolationLevel: 'chaotic' as never })).rejects.toThrow(/unknown isolation level/);
  });

  it('refuses an executor used after its transaction is over', async () => {
    let escaped: Executor | undefined;
    await agentry.transaction(async (tx) => {
      escaped = tx;
    });
    await expect(escaped!.query('dal_test.backend_pid')).rejects.toThrow(/^this transaction is already over: cannot run dal_test.backend_pid/);
  });

  it('runs statements only on the innermost open transaction of a connection', async () => {
    const title = uniqueTitle('innermost');
    await agentry.transaction(async (tx) => {
      await tx.transaction(async (inner) => {
        // The outer executor would silently run inside the savepoint.
        await expect(tx.query('dal_test.insert_task', [title])).rejects.toThrow(
          /^this transaction has a nested transaction open \(use the nested transaction's executor\): cannot run dal_test.insert_task/,
        );
        // Two savepoints of one connection at once would interleave.
        await expect(tx.transaction(async () => undefined)).rejects.toThrow(/has a nested transaction open/);
        await inner.probe.addTask(title);
      });
      await tx.probe.addTask(title);
    });
    expect(await countTasks(title)).toBe(2);
  });

  it('fails (and rolls back) a transaction that returns before its nested transaction is done', async () => {
    const title = uniqueTitle('unawaited');
    let nested: Promise<unknown> | undefined;
    await expect(
      agentry.transaction(async (tx) => {
        await tx.probe.addTask(title);
        nested = tx.transaction(async (inner) => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          await inner.probe.addTask(title);
        });
      }),
    ).rejects.toThrow('this transaction finished while a nested transaction was still running: await every nested transaction(...)');
    await expect(nested).rejects.toThrow(/is already over/);
    expect(await countTasks(title)).toBe(0);
  });
});

describe('modules', () => {
  it('binds registered modules at the top level and refuses reserved names', async () => {
    expect(typeof (await agentry.probe.backendPid())).toBe('number');
    expect(() => createAgentry({ pool: db.pool }, { modules: { query: probeModule } })).toThrow(
      'a context module cannot be called "query": the client has a member of that name',
    );
  });
});

describe('close()', () => {
  it('leaves a pool passed in open', async () => {
    const listenersBefore = db.pool.listenerCount('error');
    const borrowed = createAgentry({ pool: db.pool }, { queries: fixtureQueries });
    expect(db.pool.listenerCount('error')).toBe(listenersBefore + 1);
    await borrowed.query('dal_test.backend_pid');
    await borrowed.close();
    await borrowed.close(); // idempotent
    expect((await db.pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    expect(db.pool.listenerCount('error')).toBe(listenersBefore);
    await expect(borrowed.query('dal_test.backend_pid')).rejects.toThrow('agentry client is closed: cannot run dal_test.backend_pid');
  });

  it('ends a pool it created', async () => {
    const applicationName = uniqueTitle('agentry-dal-close');
    const owned = createAgentry({ connectionString: db.url, application_name: applicationName }, { queries: fixtureQueries });
    await Promise.all([owned.query('dal_test.sleep', [0.05]), owned.query('dal_test.sleep', [0.05])]);
    const open = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    expect(open.rows[0]!.n).toBe(2);
    await owned.close();
    expect(await waitFor(async () => (await connectionsOf(applicationName)) === 0)).toBe(true);
  });
});

async function connectionsOf(applicationName: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
  return rows[0]!.n;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

async function terminate(pid: number): Promise<void> {
  await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
  await waitFor(async () => {
    const { rows } = await db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    return rows.length === 0;
  });
}

describe('lost connections never crash the process', () => {
  it('idle pooled connections killed by the server: onError hears it, the next query reconnects', async () => {
    const heard: Error[] = [];
    const applicationName = uniqueTitle('agentry-dal-idle');
    const owned = createAgentry(
      { connectionString: db.url, application_name: applicationName, max: 2 },
      { queries: fixtureQueries, onError: (error) => heard.push(error) },
    );
    try {
      // Two statements at once: two connections, idle in the pool afterwards.
      await Promise.all([owned.query('dal_test.sleep', [0.05]), owned.query('dal_test.sleep', [0.05])]);
      const { rows } = await db.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      expect(rows).toHaveLength(2);
      for (const { pid } of rows) await terminate(pid);
      expect(await waitFor(async () => heard.length === 2)).toBe(true);
      expect(heard.every((error) => error instanceof ConnectionError && error.retryable)).toBe(true);
      expect(typeof (await owned.query<{ pid: number }>('dal_test.backend_pid'))[0]!.pid).toBe('number');
    } finally {
      await owned.close();
    }
  });

  it('a transaction whose connection is killed while fn awaits fails with ConnectionError', async () => {
    const title = uniqueTitle('killed');
    const error = await agentry
      .transaction(async (tx) => {
        await tx.probe.addTask(title);
        await terminate(await tx.probe.backendPid());
        await new Promise((resolve) => setTimeout(resolve, 50)); // the socket closes while nobody queries it
        await tx.probe.addTask(title);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).retryable).toBe(true);
    expect(await countTasks(title)).toBe(0);
    // The dead connection was not returned to the pool.
    expect(typeof (await agentry.probe.backendPid())).toBe('number');
  });

  it('a statement running when the server ends the session fails with ConnectionError 57P01', async () => {
    const error = await agentry
      .transaction(async (tx) => {
        const pid = await tx.probe.backendPid();
        // Handled at once: the statement may fail before pg_terminate_backend itself returns.
        const sleeping = tx.query('dal_test.sleep', [30]).then(
          () => new Error('expected the statement to be cut off'),
          (error: unknown) => error,
        );
        await waitFor(async () => {
          const { rows } = await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid]);
          return rows.length === 1;
        });
        await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
        throw await sleeping;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: '57P01', retryable: true, query: 'dal_test.sleep' });
  });
});
