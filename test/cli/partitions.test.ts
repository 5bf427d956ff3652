import { describe, expect, it } from 'vitest';

import type { ListPartitionsResult, MaintainPartitionsResult } from '../../src/commands/partitions.js';
import { useTestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

// `agentry partitions maintain` (agentry.maintain_partitions) and
// `agentry partitions list`, in process against a clone of the migrated template.

const db = useTestDatabase();
const PARENTS = ['agentry.activity_logs', 'agentry.agent_metrics', 'agentry.audit_logs'];

function month(offset: number, from = new Date()): { suffix: string; start: string } {
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + offset, 1));
  return { suffix: `y${d.getUTCFullYear()}m${String(d.getUTCMonth() + 1).padStart(2, '0')}`, start: d.toISOString().slice(0, 10) };
}

const cli = (...args: string[]) => runCli(['--database-url', db.adminUrl, '--database', db.name, ...args]);

async function list(): Promise<ListPartitionsResult> {
  const run = await cli('--json', 'partitions', 'list');
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as ListPartitionsResult;
}

describe('agentry partitions list', () => {
  it('lists every partitioned table with its partitions in order, bounds in UTC, the default last', async () => {
    const result = await list();
    expect(result.tables.map((t) => t.table)).toEqual(PARENTS);
    const audit = result.tables.find((t) => t.table === 'agentry.audit_logs')!;
    expect(audit.key).toBe('RANGE (created_at)');
    // The migrations create the current month and the next three.
    expect(audit.partitions.map((p) => p.name)).toEqual([0, 1, 2, 3].map((i) => `audit_logs_${month(i).suffix}`).concat('audit_logs_default'));
    expect(audit.partitions[0]).toMatchObject({
      isDefault: false,
      from: `${month(0).start} 00:00:00+00`,
      to: `${month(1).start} 00:00:00+00`,
      bound: `FOR VALUES FROM ('${month(0).start} 00:00:00+00') TO ('${month(1).start} 00:00:00+00')`,
    });
    expect(audit.partitions.at(-1)).toMatchObject({ isDefault: true, bound: 'DEFAULT', from: null, to: null });
    for (const p of audit.partitions) expect(p.sizeBytes).toBeGreaterThan(0);
  });

  it('shows row estimates once a partition is analysed, and prints a table', async () => {
    await db.pool.query(`INSERT INTO agentry.activity_logs (level, message) SELECT 'info', 'row ' || g FROM generate_series(1, 25) g`);
    await db.pool.query('ANALYZE agentry.activity_logs');
    const result = await list();
    const current = result.tables.find((t) => t.table === 'agentry.activity_logs')!.partitions[0]!;
    expect(current.rowEstimate).toBe(25);
    const text = await cli('partitions', 'list');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\nagentry\.activity_logs {2}RANGE \(created_at\) {2}\(5 partitions\)\n {2}partition +from +to +rows \(est\.\) +size\n/);
    expect(text.stdout).toMatch(new RegExp(`\\n {2}activity_logs_${month(0).suffix} +${month(0).start} 00:00:00\\+00 +${month(1).start} 00:00:00\\+00 +25 +\\d+ kB\\n`));
    expect(text.stdout).toMatch(/\n {2}activity_logs_default +DEFAULT +0 +\d+ kB\n/);
    // Never analysed: no estimate.
    expect(text.stdout).toMatch(/\n {2}agent_metrics_default +DEFAULT +\? +\d+ kB\n/);
  });
});

describe('agentry partitions maintain', () => {
  it('creates months ahead for every table, and a second run has nothing to do', async () => {
    const run = await cli('--json', 'partitions', 'maintain', '--months-ahead', '5');
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as MaintainPartitionsResult;
    expect(result).toMatchObject({ monthsAhead: 5, retentionMonths: null, detachOnly: false });
    expect(result.actions).toEqual(
      PARENTS.flatMap((table) =>
        [4, 5].map((i) => ({ table, partition: `${table.replace('agentry.', '')}_${month(i).suffix}`, action: 'created' })),
      ),
    );
    const again = await cli('partitions', 'maintain', '--months-ahead', '5');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Nothing to do: every partition is in place\.\n$/);
  });

  it('--as-of moves the current month; --retention-months with --detach-only detaches, without it drops', async () => {
    // Two months on, keeping one month: the partition of this month ended more than one month before.
    const asOf = month(2).start;
    const detach = await cli('--json', 'partitions', 'maintain', '--months-ahead', '0', '--retention-months', '1', '--detach-only', '--as-of', asOf);
    expect(detach.code, detach.stderr).toBe(0);
    const detached = (JSON.parse(detach.stdout) as MaintainPartitionsResult).actions;
    expect(detached.filter((a) => a.action === 'detached').map((a) => a.partition).sort()).toEqual(
      ['activity_logs', 'agent_metrics', 'audit_logs'].map((t) => `${t}_${month(0).suffix}`),
    );
    // Detached, not dropped: still a table, no longer a partition.
    const { rows } = await db.pool.query(`SELECT relispartition FROM pg_class WHERE oid = to_regclass($1)`, [`agentry.audit_logs_${month(0).suffix}`]);
    expect(rows).toEqual([{ relispartition: false }]);

    const drop = await cli('partitions', 'maintain', '--months-ahead', '0', '--retention-months', '1', '--as-of', month(3).start);
    expect(drop.code, drop.stderr).toBe(0);
    expect(drop.stdout).toMatch(new RegExp(`\\n {2}dropped +audit_logs_${month(1).suffix} {2}\\(agentry\\.audit_logs\\)\\n`));
    const { rows: gone } = await db.pool.query(`SELECT to_regclass($1) AS t`, [`agentry.audit_logs_${month(1).suffix}`]);
    expect(gone).toEqual([{ t: null }]);
  });

  it('exits 2 on bad arguments, with a one-line message', async () => {
    for (const [args, message] of [
      [['--months-ahead', '500'], /--months-ahead must be between 0 and 120, not 500/],
      [['--months-ahead', 'soon'], /--months-ahead expects an integer, not "soon"/],
      [['--retention-months', '0'], /--retention-months must be between 1 and 1200/],
      [['--as-of', 'yesterday'], /--as-of expects a date such as 2026-01-31/],
      [['--detach-only'], /--detach-only applies to partitions past retention: give --retention-months too/],
    ] as const) {
      const run = await cli('partitions', 'maintain', ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('exits 1 with what to do when the database is not migrated', async () => {
    const empty = `${db.name}_x`;
    await db.pool.query(`CREATE DATABASE ${empty}`);
    try {
      const run = await runCli(['--database-url', db.adminUrl, '--database', empty, 'partitions', 'maintain']);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('agentry: agentry.maintain_partitions does not exist in this database: migrate it first (`agentry migrate up`)\n');
    } finally {
      await db.pool.query(`DROP DATABASE ${empty} WITH (FORCE)`);
    }
  });
});
