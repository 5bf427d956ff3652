// Task dependencies (edges task_id -> depends_on_id, always a DAG), the task
// hierarchy (parent_task_id, never a loop) and the derived task_readiness view.
import { randomUUID } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE, type PgError } from './support.js';
import { insertTask, taskById } from './work-fixtures.js';

const db = useTestDatabase();

const addEdge = 'INSERT INTO agentry.task_dependencies (task_id, depends_on_id) VALUES ($1, $2)';
const tasks = async (n: number): Promise<string[]> => {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await insertTask(db.pool)).id);
  return ids;
};
const edgeCount = async (ids: string[]): Promise<number> => {
  const [row] = await accepted<{ n: string }>(
    db.pool,
    'SELECT count(*) AS n FROM agentry.task_dependencies WHERE task_id = ANY($1) OR depends_on_id = ANY($1)',
    [ids],
  );
  return Number(row!.n);
};

describe('task_dependencies: keys and checks', () => {
  it('an edge between two tasks goes in; pk_task_dependencies refuses it twice', async () => {
    const [a, b] = await tasks(2);
    await accepted(db.pool, addEdge, [a, b]);
    await expectRefused(db.pool, addEdge, [a, b], { constraint: 'pk_task_dependencies', table: 'task_dependencies' });
  });

  it('chk_task_dependencies_not_self: no task depends on itself', async () => {
    const [a] = await tasks(1);
    await expectRefused(db.pool, addEdge, [a, a], { constraint: 'chk_task_dependencies_not_self', table: 'task_dependencies' });
    const [b] = await tasks(1);
    await accepted(db.pool, addEdge, [a, b]);
    await expectRefused(
      db.pool,
      'UPDATE agentry.task_dependencies SET depends_on_id = task_id WHERE task_id = $1',
      [a],
      { constraint: 'chk_task_dependencies_not_self', table: 'task_dependencies' },
    );
  });

  it('fk_task_dependencies_task_id and fk_task_dependencies_depends_on_id: both ends must exist', async () => {
    const [a] = await tasks(1);
    await expectRefused(db.pool, addEdge, [randomUUID(), a], { constraint: 'fk_task_dependencies_task_id', table: 'task_dependencies' });
    await expectRefused(db.pool, addEdge, [a, randomUUID()], {
      constraint: 'fk_task_dependencies_depends_on_id',
      table: 'task_dependencies',
    });
  });

  it('ON DELETE CASCADE on both ends: deleting a task removes its edges', async () => {
    const [a, b, c] = await tasks(3);
    await accepted(db.pool, addEdge, [a, b]);
    await accepted(db.pool, addEdge, [b, c]);
    await accepted(db.pool, 'DELETE FROM agentry.tasks WHERE id = $1', [b]);
    expect(await edgeCount([a!, c!])).toBe(0);
  });

  it('ON UPDATE CASCADE on both ends: a renamed task id is followed', async () => {
    const [a, b, c] = await tasks(3);
    await accepted(db.pool, addEdge, [a, b]);
    await accepted(db.pool, addEdge, [b, c]);
    const newB = randomUUID();
    await accepted(db.pool, 'UPDATE agentry.tasks SET id = $2 WHERE id = $1', [b, newB]);
    const rows = await accepted<{ task_id: string; depends_on_id: string }>(
      db.pool,
      'SELECT task_id, depends_on_id FROM agentry.task_dependencies WHERE task_id = ANY($1) ORDER BY (task_id = $2)',
      [[a, newB], a],
    );
    expect(rows).toEqual([
      { task_id: newB, depends_on_id: c },
      { task_id: a, depends_on_id: newB },
    ]);
  });
});

describe('trg_task_dependencies_no_cycle', () => {
  it('refuses a 2-cycle', async () => {
    const [a, b] = await tasks(2);
    await accepted(db.pool, addEdge, [a, b]);
    await expectRefused(db.pool, addEdge, [b, a], {
      constraint: 'trg_task_dependencies_no_cycle',
      code: SQLSTATE.cycle,
      table: 'task_dependencies',
      message: 'dependency cycle',
    });
  });

  it('refuses the edge that closes a longer cycle (5 tasks), naming both ends', async () => {
    const ids = await tasks(5);
    for (let i = 0; i < 4; i++) await accepted(db.pool, addEdge, [ids[i], ids[i + 1]]);
    const error = await expectRefused(db.pool, addEdge, [ids[4], ids[0]], {
      constraint: 'trg_task_dependencies_no_cycle',
      code: SQLSTATE.cycle,
      table: 'task_dependencies',
    });
    expect(error.message).toContain(ids[4]);
    expect(error.message).toContain(ids[0]);
    // a middle edge back is refused as well
    await expectRefused(db.pool, addEdge, [ids[3], ids[1]], {
      constraint: 'trg_task_dependencies_no_cycle',
      code: SQLSTATE.cycle,
      table: 'task_dependencies',
    });
  });

  it('walks the graph by index lookups whatever the statistics say (hash and merge joins off for the check)', async () => {
    const [fn] = await accepted<{ proconfig: string[] | null }>(
      db.pool,
      "SELECT proconfig FROM pg_proc WHERE oid = 'agentry.refuse_dependency_cycle()'::regprocedure",
    );
    expect(fn!.proconfig).toEqual(expect.arrayContaining(['enable_hashjoin=off', 'enable_mergejoin=off']));
    // The walk the function runs, planned under those settings on a graph the
    // planner believes empty (no statistics): a nested loop over the primary key.
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_hashjoin = off');
      await client.query('SET LOCAL enable_mergejoin = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (COSTS OFF) WITH RECURSIVE reachable(id) AS (
           SELECT $1::uuid
           UNION
           SELECT d.depends_on_id FROM agentry.task_dependencies d JOIN reachable r ON d.task_id = r.id
         )
         SELECT 1 FROM reachable WHERE id = $2::uuid`,
        [randomUUID(), randomUUID()],
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Nested Loop/);
      expect(plan).toMatch(/pk_task_dependencies/);
      expect(plan).not.toMatch(/Seq Scan on task_dependencies/);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });

  it('accepts a diamond and other DAGs with shared ancestors', async () => {
    const [top, left, right, bottom, extra] = await tasks(5);
    // bottom depends on left and right, both depend on top; a shortcut bottom -> top is no cycle
    for (const [from, to] of [
      [bottom, left],
      [bottom, right],
      [left, top],
      [right, top],
      [bottom, top],
      [extra, bottom],
      [extra, left],
    ]) {
      await accepted(db.pool, addEdge, [from, to]);
    }
    expect(await edgeCount([top!, left!, right!, bottom!, extra!])).toBe(7);
    await expectRefused(db.pool, addEdge, [top, extra], {
      constraint: 'trg_task_dependencies_no_cycle',
      code: SQLSTATE.cycle,
      table: 'task_dependencies',
    });
  });

  it('refuses an UPDATE of an edge that would close a cycle', async () => {
    const [a, b, c] = await tasks(3);
    await accepted(db.pool, addEdge, [a, b]);
    await accepted(db.pool, addEdge, [b, c]);
    await expectRefused(
      db.pool,
      'UPDATE agentry.task_dependencies SET depends_on_id = $3 WHERE task_id = $1 AND depends_on_id = $2',
      [b, c, a],
      { constraint: 'trg_task_dependencies_no_cycle', code: SQLSTATE.cycle, table: 'task_dependencies' },
    );
  });
});

describe('trg_task_dependencies_no_cycle under concurrent inserts', () => {
  const clients: pg.Client[] = [];
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    clients.push(client);
    return client;
  };
  let a: pg.Client;
  let b: pg.Client;
  let c: pg.Client;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([connect(), connect(), connect()]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end()));
  });

  /** Waits until `pid` is blocked on a lock (here: the row of agentry.task_graph_lock). */
  async function waitUntilBlocked(pid: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const [row] = await accepted<{ waiting: boolean }>(
        db.pool,
        `SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`,
        [pid],
      );
      if (row?.waiting) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`backend ${pid} never blocked`);
  }

  const pidOf = async (client: pg.Client): Promise<number> =>
    (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  /** Runs an edge insert and COMMIT (or ROLLBACK after an error) in an open transaction. */
  const settle = async (client: pg.Client, insert: Promise<unknown>): Promise<PgError | 'committed'> => {
    try {
      await insert;
      await client.query('COMMIT');
      return 'committed';
    } catch (error) {
      await client.query('ROLLBACK');
      return error as PgError;
    }
  };

  it('A -> B and B -> A in two open transactions: the second waits, then is refused with AG003 once the first commits', async () => {
    const [x, y] = await tasks(2);
    const pidB = await pidOf(b);
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query(addEdge, [x, y]);
    const second = b.query(addEdge, [y, x]);
    second.catch(() => undefined);
    await waitUntilBlocked(pidB);
    await a.query('COMMIT');
    const outcome = await settle(b, second);
    expect(outcome).not.toBe('committed');
    expect((outcome as PgError).code).toBe(SQLSTATE.cycle);
    expect((outcome as PgError).constraint).toBe('trg_task_dependencies_no_cycle');
    expect(await edgeCount([x!, y!])).toBe(1);
  });

  it('the second waits for the first: when the first rolls back, the second goes in', async () => {
    const [x, y] = await tasks(2);
    const pidB = await pidOf(b);
    await a.query('BEGIN');
    await b.query('BEGIN');
    await a.query(addEdge, [x, y]);
    const second = b.query(addEdge, [y, x]);
    second.catch(() => undefined);
    await waitUntilBlocked(pidB);
    await a.query('ROLLBACK'); // the first half never happened: the second goes in
    expect(await settle(b, second)).toBe('committed');
    expect(await edgeCount([x!, y!])).toBe(1);
  });

  it('racing: both halves of a 2-cycle submitted at once, exactly one commits (repeated)', async () => {
    for (let round = 0; round < 10; round++) {
      const [x, y] = await tasks(2);
      await Promise.all([a.query('BEGIN'), b.query('BEGIN')]);
      const outcomes = await Promise.all([
        settle(a, a.query(addEdge, [x, y])),
        settle(b, b.query(addEdge, [y, x])),
      ]);
      const committed = outcomes.filter((o) => o === 'committed');
      const refused = outcomes.filter((o): o is PgError => o !== 'committed');
      expect(committed).toHaveLength(1);
      expect(refused.map((e) => [e.code, e.constraint])).toEqual([[SQLSTATE.cycle, 'trg_task_dependencies_no_cycle']]);
      expect(await edgeCount([x!, y!])).toBe(1);
    }
  });

  it('3-node variant: A -> B exists, B -> C and C -> A race; exactly one commits', async () => {
    for (let round = 0; round < 5; round++) {
      const [x, y, z] = await tasks(3);
      await accepted(db.pool, addEdge, [x, y]);
      await Promise.all([a.query('BEGIN'), b.query('BEGIN')]);
      const outcomes = await Promise.all([settle(a, a.query(addEdge, [y, z])), settle(b, b.query(addEdge, [z, x]))]);
      expect(outcomes.filter((o) => o === 'committed')).toHaveLength(1);
      const refused = outcomes.find((o): o is PgError => o !== 'committed');
      expect(refused?.code).toBe(SQLSTATE.cycle);
      expect(await edgeCount([x!, y!, z!])).toBe(2);
    }
  });

  it('3-node variant: all three edges of a triangle race on three connections; exactly one is refused', async () => {
    for (let round = 0; round < 5; round++) {
      const [x, y, z] = await tasks(3);
      await Promise.all([a.query('BEGIN'), b.query('BEGIN'), c.query('BEGIN')]);
      const outcomes = await Promise.all([
        settle(a, a.query(addEdge, [x, y])),
        settle(b, b.query(addEdge, [y, z])),
        settle(c, c.query(addEdge, [z, x])),
      ]);
      const refused = outcomes.filter((o): o is PgError => o !== 'committed');
      expect(refused).toHaveLength(1);
      expect(refused[0]?.code).toBe(SQLSTATE.cycle);
      expect(await edgeCount([x!, y!, z!])).toBe(2);
    }
  });

  it('SERIALIZABLE transactions are protected too (the second fails: a cycle error or a serialization failure)', async () => {
    const [x, y] = await tasks(2);
    await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
    await a.query('SELECT 1');
    await b.query('SELECT 1'); // both snapshots taken before either edge exists
    await a.query(addEdge, [x, y]);
    const second = b.query(addEdge, [y, x]);
    second.catch(() => undefined);
    await a.query('COMMIT');
    const outcome = await settle(b, second);
    expect(outcome).not.toBe('committed');
    expect([SQLSTATE.cycle, '40001']).toContain((outcome as PgError).code);
    expect(await edgeCount([x!, y!])).toBe(1);
  });
  it('REPEATABLE READ transactions are protected too: the second fails with a serialization failure', async () => {
    const [x, y] = await tasks(2);
    await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await b.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await a.query('SELECT 1');
    await b.query('SELECT 1'); // both snapshots taken before either edge exists
    await a.query(addEdge, [x, y]);
    const second = b.query(addEdge, [y, x]);
    second.catch(() => undefined);
    await a.query('COMMIT');
    const outcome = await settle(b, second);
    expect(outcome).not.toBe('committed');
    expect((outcome as PgError).code).toBe('40001');
    expect(await edgeCount([x!, y!])).toBe(1);
  });
});

describe('task_graph_lock', () => {
  it('holds exactly one row, which every graph change bumps', async () => {
    const [before] = await accepted<{ generation: string }>(db.pool, 'SELECT generation FROM agentry.task_graph_lock');
    const [x, y] = await tasks(2);
    await accepted(db.pool, addEdge, [x, y]);
    const [after] = await accepted<{ generation: string }>(db.pool, 'SELECT generation FROM agentry.task_graph_lock');
    expect(BigInt(after!.generation)).toBe(BigInt(before!.generation) + 1n);
  });

  it('is taken once per transaction: many edges in one transaction bump it once', async () => {
    const ids = await tasks(40);
    const [before] = await accepted<{ generation: string }>(db.pool, 'SELECT generation FROM agentry.task_graph_lock');
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      for (let i = 1; i < ids.length; i += 1) await client.query(addEdge, [ids[i], ids[i - 1]]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const [after] = await accepted<{ generation: string }>(db.pool, 'SELECT generation FROM agentry.task_graph_lock');
    expect(BigInt(after!.generation)).toBe(BigInt(before!.generation) + 1n);
    expect(await edgeCount(ids)).toBe(ids.length - 1);
  });

  it('pk_task_graph_lock and chk_task_graph_lock_single_row refuse a second row', async () => {
    await expectRefused(db.pool, 'INSERT INTO agentry.task_graph_lock (id) VALUES (true)', [],
      { constraint: 'pk_task_graph_lock', table: 'task_graph_lock' });
    await expectRefused(db.pool, 'INSERT INTO agentry.task_graph_lock (id) VALUES (false)', [],
      { constraint: 'chk_task_graph_lock_single_row', table: 'task_graph_lock' });
  });

  it('without its row, an edge insert is refused rather than left unserialised', async () => {
    const [x, y] = await tasks(2);
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM agentry.task_graph_lock');
      const error = await errorOf(client, addEdge, [x, y]);
      expect(error.code).toBe('55000');
      expect(error.message).toMatch(/task_graph_lock/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('trg_tasks_parent_cycle: the task hierarchy stays a tree', () => {
  it('refuses re-parenting a task under its own descendant, and under itself', async () => {
    const root = await insertTask(db.pool);
    const child = await insertTask(db.pool, { parent_task_id: root.id });
    const grandchild = await insertTask(db.pool, { parent_task_id: child.id });
    await expectRefused(db.pool, 'UPDATE agentry.tasks SET parent_task_id = $2 WHERE id = $1', [root.id, grandchild.id], {
      constraint: 'trg_tasks_parent_cycle',
      code: SQLSTATE.cycle,
      table: 'tasks',
      message: 'task hierarchy cycle',
    });
    await expectRefused(db.pool, 'UPDATE agentry.tasks SET parent_task_id = $2 WHERE id = $1', [child.id, grandchild.id], {
      constraint: 'trg_tasks_parent_cycle',
      code: SQLSTATE.cycle,
      table: 'tasks',
    });
    // a task as its own parent is named by chk_tasks_not_own_parent, on UPDATE as on INSERT
    await expectRefused(db.pool, 'UPDATE agentry.tasks SET parent_task_id = id WHERE id = $1', [root.id], {
      constraint: 'chk_tasks_not_own_parent',
      table: 'tasks',
    });
    expect((await taskById(db.pool, root.id)).parent_task_id).toBeNull();
    expect((await taskById(db.pool, root.id)).version).toBe(0);
  });

  it('accepts moving a subtree elsewhere, and detaching it', async () => {
    const r1 = await insertTask(db.pool);
    const r2 = await insertTask(db.pool);
    const child = await insertTask(db.pool, { parent_task_id: r1.id });
    const grandchild = await insertTask(db.pool, { parent_task_id: child.id });
    await accepted(db.pool, 'UPDATE agentry.tasks SET parent_task_id = $2 WHERE id = $1', [child.id, r2.id]);
    await accepted(db.pool, 'UPDATE agentry.tasks SET parent_task_id = $2 WHERE id = $1', [r1.id, grandchild.id]);
    expect((await taskById(db.pool, r1.id)).parent_task_id).toBe(grandchild.id);
    await accepted(db.pool, 'UPDATE agentry.tasks SET parent_task_id = NULL WHERE id = $1', [child.id]);
    expect((await taskById(db.pool, child.id)).parent_task_id).toBeNull();
  });

  it('two concurrent re-parentings that would each close half of a loop: one is refused', async () => {
    const x = await insertTask(db.pool);
    const y = await insertTask(db.pool);
    const a = new pg.Client({ connectionString: db.url });
    const b = new pg.Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      await Promise.all([a.query('BEGIN'), b.query('BEGIN')]);
      const run = async (client: pg.Client, sql: string, params: unknown[]) => {
        try {
          await client.query(sql, params);
          await client.query('COMMIT');
          return 'committed';
        } catch (error) {
          await client.query('ROLLBACK');
          return (error as PgError).code;
        }
      };
      const outcomes = await Promise.all([
        run(a, 'UPDATE agentry.tasks SET parent_task_id = $2 WHERE id = $1', [x.id, y.id]),
        run(b, 'UPDATE agentry.tasks SET parent_task_id = $2 WHERE id = $1', [y.id, x.id]),
      ]);
      expect(outcomes.sort()).toEqual([SQLSTATE.cycle, 'committed']);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });
});

describe('task_readiness view', () => {
  interface Readiness {
    task_id: string;
    unmet_dependencies: string;
    blocked_by: string[];
    is_blocked: boolean;
  }
  const readiness = async (id: string): Promise<Readiness> =>
    (await accepted<Readiness>(db.pool, 'SELECT * FROM agentry.task_readiness WHERE task_id = $1', [id]))[0]!;

  it('a task is blocked until every dependency is completed', async () => {
    const build = await insertTask(db.pool, { status: 'queued' });
    const test = await insertTask(db.pool, { status: 'queued' });
    const deploy = await insertTask(db.pool);
    await accepted(db.pool, addEdge, [deploy.id, build.id]);
    await accepted(db.pool, addEdge, [deploy.id, test.id]);

    let r = await readiness(deploy.id);
    expect(r.is_blocked).toBe(true);
    expect(Number(r.unmet_dependencies)).toBe(2);
    expect([...r.blocked_by].sort()).toEqual([build.id, test.id].sort());

    for (const status of ['running', 'completed'] as const) {
      await accepted(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [build.id, status]);
    }
    r = await readiness(deploy.id);
    expect([r.is_blocked, Number(r.unmet_dependencies), r.blocked_by]).toEqual([true, 1, [test.id]]);

    // a failed or cancelled dependency still blocks: only completed unblocks
    for (const status of ['running', 'failed'] as const) {
      await accepted(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [test.id, status]);
    }
    expect((await readiness(deploy.id)).is_blocked).toBe(true);
    for (const status of ['retrying', 'queued', 'running', 'completed'] as const) {
      await accepted(db.pool, 'UPDATE agentry.tasks SET status = $2 WHERE id = $1', [test.id, status]);
    }
    r = await readiness(deploy.id);
    expect([r.is_blocked, Number(r.unmet_dependencies), r.blocked_by]).toEqual([false, 0, []]);
  });

  it('a task without dependencies is ready; the view has one row per task', async () => {
    const lone = await insertTask(db.pool);
    const r = await readiness(lone.id);
    expect([r.is_blocked, Number(r.unmet_dependencies), r.blocked_by]).toEqual([false, 0, []]);
    const [counts] = await accepted<{ tasks: string; rows: string }>(
      db.pool,
      'SELECT (SELECT count(*) FROM agentry.tasks) AS tasks, (SELECT count(*) FROM agentry.task_readiness) AS rows',
    );
    expect(counts!.rows).toBe(counts!.tasks);
  });

  it('removing the blocking edge unblocks', async () => {
    const [x, y] = await tasks(2);
    await accepted(db.pool, addEdge, [x, y]);
    expect((await readiness(x!)).is_blocked).toBe(true);
    await accepted(db.pool, 'DELETE FROM agentry.task_dependencies WHERE task_id = $1', [x]);
    expect((await readiness(x!)).is_blocked).toBe(false);
  });

  it('is readable by agentry_app and agentry_readonly', async () => {
    const client = await db.pool.connect();
    try {
      for (const role of ['agentry_app', 'agentry_readonly']) {
        await client.query('BEGIN');
        await client.query(`SET LOCAL ROLE ${role}`);
        const { rows } = await client.query('SELECT count(*) FROM agentry.task_readiness');
        expect(rows).toHaveLength(1);
        const error = await errorOf(client, addEdge, [randomUUID(), randomUUID()]);
        expect(error.code).toBe(role === 'agentry_app' ? SQLSTATE.foreignKeyViolation : SQLSTATE.insufficientPrivilege);
        await client.query('ROLLBACK');
      }
    } finally {
      client.release();
    }
  });
});
