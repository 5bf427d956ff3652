import { randomUUID } from 'node:crypto';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';

// Monthly range partitions of agent_metrics, activity_logs and audit_logs:
// agentry.create_monthly_partitions and agentry.maintain_partitions
// (migrations/1764547201000_catalog.sql), the tables' defaults and keys
// (1764547202000_access.sql, 1764547206000_telemetry.sql).

const db = useTestDatabase();

const PARENTS = ['activity_logs', 'agent_metrics', 'audit_logs'] as const;
type Parent = (typeof PARENTS)[number];
const KEY: Record<Parent, string> = { activity_logs: 'created_at', agent_metrics: 'recorded_at', audit_logs: 'created_at' };

function monthName(parent: string, year: number, month: number): string {
  return `${parent}_y${year}m${String(month).padStart(2, '0')}`;
}

async function newAgent(): Promise<string> {
  const id = `part-${randomUUID().slice(0, 8)}`;
  await accepted(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $1)', [id]);
  return id;
}

/** Inserts one row into a partitioned table at the given time; returns its id and the partition it landed in. */
async function insertAt(parent: Parent, at: string, agent?: string): Promise<{ id: string; partition: string }> {
  const sql: Record<Parent, string> = {
    activity_logs: `INSERT INTO agentry.activity_logs (level, message, created_at) VALUES ('info', 'partition test', $1)
                    RETURNING id, tableoid::regclass::text AS partition`,
    agent_metrics: `INSERT INTO agentry.agent_metrics (agent_id, metric_type, metric_value, recorded_at) VALUES ($2, 'latency', 1, $1)
                    RETURNING id, tableoid::regclass::text AS partition`,
    audit_logs: `INSERT INTO agentry.audit_logs (event_type, action, success, created_at) VALUES ('authentication', 'login', true, $1)
                 RETURNING id, tableoid::regclass::text AS partition`,
  };
  const params = parent === 'agent_metrics' ? [at, agent ?? (await newAgent())] : [at];
  const [row] = await accepted<{ id: string; partition: string }>(db.pool, sql[parent], params);
  return { id: row!.id, partition: row!.partition.replace(/^agentry\./, '') };
}

async function partitionsOf(parent: string): Promise<Array<{ name: string; bound: string }>> {
  // Bounds printed in UTC by a session whose TimeZone is UTC.
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(`SET TimeZone = 'UTC'`);
    await client.query(`SET DateStyle = 'ISO, YMD'`);
    const { rows } = await client.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass ORDER BY c.relname`,
      [`agentry.${parent}`],
    );
    return rows;
  } finally {
    await client.end();
  }
}

async function exists(table: string): Promise<boolean> {
  const [row] = await accepted<{ t: string | null }>(db.pool, 'SELECT to_regclass($1)::text AS t', [`agentry.${table}`]);
  return row!.t !== null;
}

function utcMonth(offset: number, from = new Date()): { year: number; month: number; start: Date } {
  const start = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + offset, 1));
  return { year: start.getUTCFullYear(), month: start.getUTCMonth() + 1, start };
}

describe('routing', () => {
  for (const parent of PARENTS) {
    it(`${parent}: a row goes to its UTC month's partition, at both edges of the month`, async () => {
      const now = utcMonth(0);
      const next = utcMonth(1);
      const first = await insertAt(parent, now.start.toISOString());
      expect(first.partition).toBe(monthName(parent, now.year, now.month));
      const last = await insertAt(parent, new Date(next.start.getTime() - 1).toISOString());
      expect(last.partition).toBe(monthName(parent, now.year, now.month));
      const nextFirst = await insertAt(parent, next.start.toISOString());
      expect(nextFirst.partition).toBe(monthName(parent, next.year, next.month));
      // Rows are read back through the parent.
      const [row] = await accepted(db.pool, `SELECT count(*)::int AS n FROM agentry.${parent} WHERE id = ANY($1::bigint[])`, [
        [first.id, last.id, nextFirst.id],
      ]);
      expect(row!.n).toBe(3);
    });

    it(`${parent}: a row outside every month partition lands in ${parent}_default`, async () => {
      expect((await insertAt(parent, '2099-07-04T12:00:00Z')).partition).toBe(`${parent}_default`);
      expect((await insertAt(parent, '2001-01-01T00:00:00Z')).partition).toBe(`${parent}_default`);
    });
  }

  it('the migrations created the current month and three months ahead, plus a default partition, for every partitioned table', async () => {
    for (const parent of PARENTS) {
      const names = (await partitionsOf(parent)).map((p) => p.name);
      const expected = [0, 1, 2, 3].map((o) => utcMonth(o)).map((m) => monthName(parent, m.year, m.month));
      expect(names).toEqual(expect.arrayContaining([...expected, `${parent}_default`]));
    }
  });
});

describe('keys of partitioned tables', () => {
  it('every partitioned table in agentry is range-partitioned on its timestamp, and its primary key contains the partition key', async () => {
    const rows = await accepted<{ table: string; key: string; pk: string[] }>(
      db.pool,
      `SELECT c.relname AS table, pg_get_partkeydef(c.oid) AS key,
              (SELECT array_agg(a.attname::text ORDER BY k.ord)
                 FROM pg_constraint p, unnest(p.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attnum = k.attnum
                WHERE p.conrelid = c.oid AND p.contype = 'p' AND a.attrelid = c.oid) AS pk
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND c.relkind = 'p' ORDER BY 1`,
    );
    expect(rows.map((r) => r.table)).toEqual([...PARENTS]);
    for (const row of rows) {
      const parent = row.table as Parent;
      expect(row.key).toBe(`RANGE (${KEY[parent]})`);
      expect(row.pk).toContain(KEY[parent]);
    }
    // Distributable by agent (Citus): agent_metrics' key leads with agent_id.
    expect(rows.find((r) => r.table === 'agent_metrics')!.pk).toEqual(['agent_id', 'recorded_at', 'id']);
    expect(rows.find((r) => r.table === 'activity_logs')!.pk).toEqual(['id', 'created_at']);
    expect(rows.find((r) => r.table === 'audit_logs')!.pk).toEqual(['id', 'created_at']);
  });

  it('every unique index of a partitioned table contains its partition key', async () => {
    const rows = await accepted<{ index: string; ok: boolean }>(
      db.pool,
      `SELECT ic.relname AS index,
              (SELECT bool_and(pk = ANY (i.indkey::int2[])) FROM unnest(pt.partattrs::int2[]) pk) AS ok
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_partitioned_table pt ON pt.partrelid = i.indrelid
         JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND i.indisunique`,
    );
    expect(rows.map((r) => r.index).sort()).toEqual(['pk_activity_logs', 'pk_agent_metrics', 'pk_audit_logs']);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
  });

  it('pk_agent_metrics refuses the same (agent_id, recorded_at, id) twice; the partition reports its copy of the key', async () => {
    const agent = await newAgent();
    const at = utcMonth(0).start.toISOString();
    await accepted(
      db.pool,
      `INSERT INTO agentry.agent_metrics (id, agent_id, metric_type, metric_value, recorded_at) OVERRIDING SYSTEM VALUE VALUES (900000001, $1, 'latency', 1, $2)`,
      [agent, at],
    );
    const before = await accepted<{ n: number }>(db.pool, 'SELECT count(*)::int AS n FROM agentry.agent_metrics');
    const error = await errorOf(
      db.pool,
      `INSERT INTO agentry.agent_metrics (id, agent_id, metric_type, metric_value, recorded_at) OVERRIDING SYSTEM VALUE VALUES (900000001, $1, 'tokens', 2, $2)`,
      [agent, at],
    );
    expect(error.code).toBe(SQLSTATE.uniqueViolation);
    const now = utcMonth(0);
    // The leaf partition's index (created from pk_agent_metrics) is the one that names itself.
    expect(error.constraint).toBe(`${monthName('agent_metrics', now.year, now.month)}_pkey`);
    const [index] = await accepted<{ parent: string }>(
      db.pool,
      `SELECT p.relname AS parent FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE i.inhrelid = $1::regclass`,
      [`agentry.${error.constraint}`],
    );
    expect(index!.parent).toBe('pk_agent_metrics');
    expect(await accepted(db.pool, 'SELECT count(*)::int AS n FROM agentry.agent_metrics')).toEqual(before);
    // The same id for another agent is another key.
    await accepted(
      db.pool,
      `INSERT INTO agentry.agent_metrics (id, agent_id, metric_type, metric_value, recorded_at) OVERRIDING SYSTEM VALUE VALUES (900000001, $1, 'latency', 1, $2)`,
      [await newAgent(), at],
    );
  });
});

describe('agentry.create_monthly_partitions', () => {
  for (const [parent, year] of [
    ['agent_metrics', 2041],
    ['activity_logs', 2042],
    ['audit_logs', 2043],
  ] as const) {
    it(`${parent}: creating a month moves that month's rows out of the default partition`, async () => {
      const agent = await newAgent();
      const may = [
        await insertAt(parent, `${year}-05-01T00:00:00Z`, agent),
        await insertAt(parent, `${year}-05-17T08:30:00Z`, agent),
        await insertAt(parent, `${year}-05-31T23:59:59.999Z`, agent),
      ];
      const june = await insertAt(parent, `${year}-06-01T00:00:00Z`, agent);
      const april = await insertAt(parent, `${year}-04-30T23:59:59.999Z`, agent);
      for (const r of [...may, june, april]) expect(r.partition).toBe(`${parent}_default`);
      const [{ n: total }] = (await accepted<{ n: number }>(db.pool, `SELECT count(*)::int AS n FROM agentry.${parent}`)) as [{ n: number }];

      const created = await accepted<{ name: string }>(db.pool, 'SELECT agentry.create_monthly_partitions($1, $2, $3) AS name', [
        `agentry.${parent}`,
        `${year}-05-10`,
        `${year}-06-01`,
      ]);
      expect(created.map((r) => r.name)).toEqual([monthName(parent, year, 5)]);

      const located = await accepted<{ id: string; partition: string }>(
        db.pool,
        `SELECT id::text, tableoid::regclass::text AS partition FROM agentry.${parent} WHERE id = ANY($1::bigint[]) ORDER BY id`,
        [[...may, june, april].map((r) => r.id)],
      );
      const where = new Map(located.map((r) => [r.id, r.partition.replace(/^agentry\./, '')]));
      for (const r of may) expect(where.get(r.id)).toBe(monthName(parent, year, 5));
      expect(where.get(june.id)).toBe(`${parent}_default`);
      expect(where.get(april.id)).toBe(`${parent}_default`);
      expect(await accepted(db.pool, `SELECT count(*)::int AS n FROM agentry.${parent}`)).toEqual([{ n: total }]);

      // New rows of that month now route to it; the call is idempotent.
      expect((await insertAt(parent, `${year}-05-20T00:00:00Z`, agent)).partition).toBe(monthName(parent, year, 5));
      expect(await accepted(db.pool, 'SELECT agentry.create_monthly_partitions($1, $2, $3)', [`agentry.${parent}`, `${year}-05-01`, `${year}-06-01`])).toEqual(
        [],
      );
    });
  }

  it('a partition built from moved rows is indistinguishable from one created empty (columns, constraints, indexes, triggers, owner)', async () => {
    await insertAt('audit_logs', '2044-03-15T00:00:00Z');
    await accepted(db.pool, 'SELECT agentry.create_monthly_partitions($1, $2, $3)', ['agentry.audit_logs', '2044-03-01', '2044-05-01']);
    const shape = async (name: string) => {
      const [row] = await accepted(
        db.pool,
        `SELECT pg_get_userbyid(c.relowner) AS owner, c.relacl::text AS acl, c.relpersistence,
                (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notnull', a.attnotnull,
                         'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity, 'local', a.attislocal, 'inh', a.attinhcount) ORDER BY a.attnum)
                   FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
                (SELECT json_agg(json_build_object('name', regexp_replace(k.conname, $2, 'P', 'g'), 'def', pg_get_constraintdef(k.oid), 'local', k.conislocal, 'inh', k.coninhcount) ORDER BY k.conname)
                   FROM pg_constraint k WHERE k.conrelid = c.oid) AS constraints,
                (SELECT json_agg(regexp_replace(pg_get_indexdef(i.indexrelid), $2, 'P', 'g') ORDER BY 1)
                   FROM pg_index i WHERE i.indrelid = c.oid) AS indexes,
                (SELECT json_agg(json_build_object('name', t.tgname, 'def', regexp_replace(pg_get_triggerdef(t.oid), $2, 'P', 'g'), 'enabled', t.tgenabled) ORDER BY t.tgname)
                   FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal) AS triggers
           FROM pg_class c WHERE c.oid = $1::regclass`,
        [`agentry.${name}`, name],
      );
      return row;
    };
    const moved = await shape('audit_logs_y2044m03');
    const fresh = await shape('audit_logs_y2044m04');
    expect(moved!.triggers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'trg_audit_logs_append_only' })]));
    expect(moved).toEqual(fresh);
  });

  it('audit_logs: trg_audit_logs_append_only lets the move through but still protects the moved rows, in the same transaction too', async () => {
    const row = await insertAt('audit_logs', '2045-02-10T10:00:00Z');
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query('SELECT agentry.create_monthly_partitions($1, $2, $3) AS name', ['agentry.audit_logs', '2045-02-01', '2045-03-01']);
      expect(rows).toEqual([{ name: 'audit_logs_y2045m02' }]);
      // The maintenance switch is off again once the function returns.
      const { rows: setting } = await client.query(`SELECT current_setting('agentry.partition_maintenance', true) AS v`);
      expect(setting[0].v).toBe('');
      await client.query('SAVEPOINT s');
      const error = await errorOf(client, 'DELETE FROM agentry.audit_logs WHERE id = $1', [row.id]);
      expect([error.constraint, error.code]).toEqual(['trg_audit_logs_append_only', SQLSTATE.appendOnly]);
      await client.query('ROLLBACK TO SAVEPOINT s');
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
    await expectRefused(db.pool, `UPDATE agentry.audit_logs SET action = 'forged' WHERE id = $1`, [row.id], {
      constraint: 'trg_audit_logs_append_only',
      code: SQLSTATE.appendOnly,
      table: 'audit_logs',
    });
    // Turning the switch on by hand does not help a session that is not the owner.
    const client2 = await db.pool.connect();
    try {
      await client2.query('BEGIN');
      await client2.query(`SELECT set_config('agentry.partition_maintenance', 'on', true)`);
      const error = await errorOf(client2, 'DELETE FROM agentry.audit_logs WHERE id = $1', [row.id]);
      expect(error.constraint).toBe('trg_audit_logs_append_only');
    } finally {
      await client2.query('ROLLBACK');
      client2.release();
    }
    const [after] = await accepted(db.pool, 'SELECT action, tableoid::regclass::text AS partition FROM agentry.audit_logs WHERE id = $1', [row.id]);
    expect(after).toEqual({ action: 'login', partition: 'audit_logs_y2045m02' }); // search_path agentry: unqualified
  });

  it('refuses a table that is not range-partitioned', async () => {
    const error = await errorOf(db.pool, 'SELECT agentry.create_monthly_partitions($1, $2, $3)', ['agentry.tasks', '2040-01-01', '2040-02-01']);
    expect(error.code).toBe('22023');
    expect(error.message).toMatch(/not a table partitioned by range/);
  });
});

describe('partition bounds are UTC month starts whatever the session TimeZone', () => {
  const zones = ['Pacific/Kiritimati', 'America/Los_Angeles', 'Asia/Kolkata', 'America/St_Johns'];
  zones.forEach((zone, z) => {
    it(`TimeZone ${zone}`, async () => {
      const year = 2050 + z;
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query(`SELECT set_config('TimeZone', $1, false)`, [zone]);
        await client.query(`SET DateStyle = 'SQL, DMY'`);
        await client.query('SELECT agentry.create_monthly_partitions($1, $2, $3)', ['agentry.activity_logs', `${year}-01-01`, `${year}-03-01`]);
        // maintain_partitions: an as_of that is still June locally but already July in UTC creates July.
        const { rows } = await client.query<{ partition_name: string; action: string }>(
          `SELECT partition_name, action FROM agentry.maintain_partitions(0, NULL, true, $1::timestamptz) WHERE parent_table = 'agentry.activity_logs'`,
          [`${year}-07-01T00:30:00Z`],
        );
        expect(rows).toEqual([{ partition_name: monthName('activity_logs', year, 7), action: 'created' }]);
        const routed = await client.query<{ p: string }>(
          `INSERT INTO agentry.activity_logs (level, message, created_at) VALUES ('info', 'tz', $1::timestamptz), ('info', 'tz', $2::timestamptz)
           RETURNING tableoid::regclass::text AS p`,
          [`${year}-01-31T23:59:59.999Z`, `${year}-02-01T00:00:00Z`],
        );
        expect(routed.rows.map((r) => r.p)).toEqual([`agentry.${monthName('activity_logs', year, 1)}`, `agentry.${monthName('activity_logs', year, 2)}`]);
      } finally {
        await client.end();
      }
      const bounds = new Map((await partitionsOf('activity_logs')).map((p) => [p.name, p.bound]));
      const pad = (m: number) => String(m).padStart(2, '0');
      for (const m of [1, 2, 7]) {
        const to = m === 12 ? `${year + 1}-01` : `${year}-${pad(m + 1)}`;
        expect(bounds.get(monthName('activity_logs', year, m))).toBe(
          `FOR VALUES FROM ('${year}-${pad(m)}-01 00:00:00+00') TO ('${to}-01 00:00:00+00')`,
        );
      }
    });
  });
});

describe('agentry.maintain_partitions(months_ahead, retention_months, drop_detached, as_of)', () => {
  it('creates this month and months_ahead months ahead for every partitioned table, once', async () => {
    const rows = await accepted<{ parent_table: string; partition_name: string; action: string }>(
      db.pool,
      `SELECT * FROM agentry.maintain_partitions(2, NULL, true, '2060-11-20T12:00:00Z')`,
    );
    const expected = PARENTS.flatMap((p) =>
      [monthName(p, 2060, 11), monthName(p, 2060, 12), monthName(p, 2061, 1)].map((name) => ({
        parent_table: `agentry.${p}`,
        partition_name: name,
        action: 'created',
      })),
    );
    expect(rows).toEqual(expected);
    for (const p of PARENTS) expect(await exists(monthName(p, 2061, 1))).toBe(true);
    expect(await accepted(db.pool, `SELECT * FROM agentry.maintain_partitions(2, NULL, true, '2060-11-20T12:00:00Z')`)).toEqual([]);
    // months_ahead 0: only the month of as_of.
    const one = await accepted<{ partition_name: string }>(db.pool, `SELECT partition_name FROM agentry.maintain_partitions(0, NULL, true, '2062-03-31T23:59:59Z')`);
    expect(one.map((r) => r.partition_name)).toEqual(PARENTS.map((p) => monthName(p, 2062, 3)));
  });

  it('defaults: three months ahead of now, no retention', async () => {
    const rows = await accepted<{ partition_name: string }>(db.pool, 'SELECT partition_name FROM agentry.maintain_partitions()');
    // The migrations already made this month and three ahead.
    expect(rows).toEqual([]);
    for (const p of PARENTS) {
      const m = utcMonth(3);
      expect(await exists(monthName(p, m.year, m.month))).toBe(true);
    }
  });

  it('with retention_months and drop_detached = false, detaches partitions that ended before the cut-off and keeps their rows', async () => {
    await accepted(db.pool, 'SELECT agentry.create_monthly_partitions(p, $1, $2) FROM unnest($3::regclass[]) p', [
      '2020-01-01',
      '2020-05-01',
      PARENTS.map((p) => `agentry.${p}`),
    ]);
    const old = await insertAt('audit_logs', '2020-02-14T00:00:00Z');
    expect(old.partition).toBe('audit_logs_y2020m02');
    // As of 2020-06-10 with 3 months' retention, the cut-off is 2020-03-01: January and February go.
    const rows = await accepted<{ parent_table: string; partition_name: string; action: string }>(
      db.pool,
      `SELECT * FROM agentry.maintain_partitions(0, 3, false, '2020-06-10T00:00:00Z') WHERE action <> 'created' ORDER BY 1, 2`,
    );
    expect(rows).toEqual(
      PARENTS.flatMap((p) =>
        [1, 2].map((m) => ({ parent_table: `agentry.${p}`, partition_name: monthName(p, 2020, m), action: 'detached' })),
      ),
    );
    const [detached] = await accepted(
      db.pool,
      `SELECT relispartition, pg_get_userbyid(relowner) AS owner, (SELECT count(*)::int FROM agentry.audit_logs_y2020m02) AS n
         FROM pg_class WHERE oid = 'agentry.audit_logs_y2020m02'::regclass`,
    );
    expect(detached).toEqual({ relispartition: false, owner: 'agentry_owner', n: 1 });
    // Gone from the parent; the months from the cut-off on stay attached.
    expect(await accepted(db.pool, 'SELECT count(*)::int AS n FROM agentry.audit_logs WHERE id = $1', [old.id])).toEqual([{ n: 0 }]);
    const names = (await partitionsOf('audit_logs')).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['audit_logs_y2020m03', 'audit_logs_y2020m04', 'audit_logs_y2020m06']));
    expect(names).not.toContain('audit_logs_y2020m02');
    // The default partition is never detached; partitions after the cut-off (today's included) stay.
    expect(names).toContain('audit_logs_default');
    const m = utcMonth(0);
    expect(names).toContain(monthName('audit_logs', m.year, m.month));
  });

  it('with drop_detached = true (the default), drops them', async () => {
    await accepted(db.pool, 'SELECT agentry.create_monthly_partitions(p, $1, $2) FROM unnest($3::regclass[]) p', [
      '2021-01-01',
      '2021-03-01',
      PARENTS.map((p) => `agentry.${p}`),
    ]);
    await insertAt('activity_logs', '2021-01-05T00:00:00Z');
    const rows = await accepted<{ partition_name: string; action: string }>(
      db.pool,
      `SELECT partition_name, action FROM agentry.maintain_partitions(1, 1, as_of => '2021-03-15T00:00:00Z') WHERE action <> 'created' ORDER BY 1`,
    );
    // Cut-off 2021-02-01: January of 2021 goes (and the 2020 months still attached: March, April, June).
    const dropped = rows.map((r) => r.partition_name);
    for (const p of PARENTS) {
      expect(dropped).toContain(monthName(p, 2021, 1));
      expect(dropped).not.toContain(monthName(p, 2021, 2));
      expect(await exists(monthName(p, 2021, 1))).toBe(false);
      expect(await exists(monthName(p, 2021, 2))).toBe(true);
    }
    expect(new Set(rows.map((r) => r.action))).toEqual(new Set(['dropped']));
  });

  it('reads the bounds right whatever the session TimeZone and DateStyle', async () => {
    await accepted(db.pool, 'SELECT agentry.create_monthly_partitions($1, $2, $3)', ['agentry.agent_metrics', '2019-01-01', '2019-03-01']);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`SET TimeZone = 'America/Sao_Paulo'`);
      await client.query(`SET DateStyle = 'SQL, DMY'`);
      // Cut-off 2019-02-01: only January goes, February (which ends on 2019-03-01) stays.
      const { rows } = await client.query<{ partition_name: string; action: string }>(
        `SELECT partition_name, action FROM agentry.maintain_partitions(0, 1, true, '2019-03-05T00:00:00Z')
          WHERE parent_table = 'agentry.agent_metrics' AND partition_name LIKE 'agent_metrics_y2019%' ORDER BY 1`,
      );
      expect(rows).toEqual([
        { partition_name: 'agent_metrics_y2019m01', action: 'dropped' },
        { partition_name: 'agent_metrics_y2019m03', action: 'created' },
      ]);
    } finally {
      await client.end();
    }
    expect(await exists('agent_metrics_y2019m02')).toBe(true);
  });

  for (const [args, pattern, code] of [
    ['-1, NULL, true', /months_ahead must be between 0 and 120/, '22023'],
    ['121, NULL, true', /months_ahead must be between 0 and 120/, '22023'],
    ['NULL, NULL, true', /months_ahead must be between 0 and 120/, '22023'],
    ['3, 0, true', /retention_months must be at least 1/, '22023'],
    ['3, -6, true', /retention_months must be at least 1/, '22023'],
    ['3, 12, NULL', /must not be NULL/, '22004'],
  ] as const) {
    it(`rejects (${args})`, async () => {
      const before = await accepted(db.pool, `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'agentry.audit_logs'::regclass`);
      const error = await errorOf(db.pool, `SELECT * FROM agentry.maintain_partitions(${args})`);
      expect(error.code).toBe(code);
      expect(error.message).toMatch(pattern);
      expect(await accepted(db.pool, `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'agentry.audit_logs'::regclass`)).toEqual(before);
    });
  }

  it('rejects a NULL as_of', async () => {
    const error = await errorOf(db.pool, 'SELECT * FROM agentry.maintain_partitions(3, NULL, true, NULL)');
    expect(error.code).toBe('22004');
  });
});
