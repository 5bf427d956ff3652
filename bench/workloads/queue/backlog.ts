import type pg from 'pg';

import { queries } from '../../../src/dal/index.js';

/**
 * Bulk backlogs for the scaling part: queued tasks of the same shape the DAL
 * creates (a title, status 'queued', input {"n": i}), inserted with
 * INSERT ... SELECT generate_series in chunks (the DAL would take minutes for
 * a million). The indexes of tasks that back no constraint are dropped first
 * and built again after the load (CREATE INDEX sorts once instead of inserting
 * a million entries one by one into each of ~24 indexes): the same schema,
 * with freshly built indexes, several times faster. Triggers fire as usual.
 */
export async function fillQueuedTasks(client: pg.Client, count: number, chunk = 250_000): Promise<void> {
  const { rows: indexes } = await client.query<{ definition: string; name: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
      WHERE i.indrelid = 'agentry.tasks'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY 1`,
  );
  for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);
  for (let from = 1; from <= count; from += chunk) {
    const to = Math.min(count, from + chunk - 1);
    await client.query(
      `INSERT INTO agentry.tasks (title, status, input)
       SELECT 'task ' || g, 'queued', jsonb_build_object('n', g) FROM generate_series($1::int, $2::int) AS g`,
      [from, to],
    );
  }
  await client.query("SET maintenance_work_mem = '256MB'");
  // The definitions are the server's own (pg_get_indexdef).
  for (const index of indexes) await client.query(index.definition);
}

export interface ClaimPlanFigures {
  /** Buffers (shared hit + read) the claim statement touched. */
  buffers: number;
  /** Its execution time as EXPLAIN ANALYZE reports it (ms). */
  executionMs: number;
  /** Its planning time (ms): what an unnamed statement pays on every call. */
  planningMs: number;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the DAL's claim (batch 1, to 'running'),
 * inside a transaction that is rolled back: how much of the backlog one claim
 * reads. The figure must not grow with the backlog.
 */
export async function explainClaim(client: pg.Client): Promise<ClaimPlanFigures> {
  const text = queries.get('work.claim_ready_tasks').text;
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: Record<string, number>; 'Execution Time': number; 'Planning Time': number }] }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`,
      [null, null, 1, null, null, 'running'],
    );
    const plan = rows[0]?.['QUERY PLAN'][0];
    if (!plan) throw new Error('EXPLAIN returned no plan');
    return {
      buffers: (plan.Plan['Shared Hit Blocks'] ?? 0) + (plan.Plan['Shared Read Blocks'] ?? 0),
      executionMs: plan['Execution Time'],
      planningMs: plan['Planning Time'],
    };
  } finally {
    await client.query('ROLLBACK');
  }
}
