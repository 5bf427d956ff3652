import type pg from 'pg';

import { quoteIdent } from '../../../src/db/identifiers.js';

/**
 * What the triggers and indexes on agentry.tasks cost the queue cycle. Each
 * variant is applied to a scratch copy of the backlog (never to a migration):
 * its claim+complete throughput against the unchanged copy's gives the share
 * of the cycle that the removed objects cost.
 */
export interface Variant {
  name: string;
  /** What it removes, in words. */
  removes: string;
  apply(client: pg.Client): Promise<void>;
}

/** Indexes the cycle itself needs: the primary key (complete) and the claim's index. */
export const ESSENTIAL_INDEXES = ['pk_tasks', 'idx_tasks_status_priority'];

async function tasksIndexes(client: pg.Client): Promise<{ name: string; definition: string }[]> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = 'agentry' AND tablename = 'tasks' ORDER BY indexname`,
  );
  return rows;
}

async function dropIndexes(client: pg.Client, keep: (index: { name: string; definition: string }) => boolean): Promise<void> {
  for (const index of await tasksIndexes(client)) {
    if (ESSENTIAL_INDEXES.includes(index.name) || keep(index)) continue;
    await client.query(`DROP INDEX agentry.${quoteIdent(index.name)}`);
  }
}

const isGin = (index: { definition: string }) => / USING gin /i.test(index.definition);
const isExpression = (index: { definition: string }) => /->>/.test(index.definition);

async function disableTrigger(client: pg.Client, name: string): Promise<void> {
  await client.query(`ALTER TABLE agentry.tasks DISABLE TRIGGER ${name === 'USER' ? 'USER' : quoteIdent(name)}`);
}

/**
 * Indexes on columns a queued task leaves NULL (no parent, workflow, plan,
 * chain, template, schedule, user, client, agent type, type, model or
 * language), with the predicate that leaves those rows out. Every query they
 * serve (the foreign keys' look-ups, col = $1, input ->> 'model' = $1) implies
 * the predicate, so each still serves them. worker_id and agent_id are not
 * listed: a claim usually sets them.
 */
export const NULL_FREE_PREDICATES: Readonly<Record<string, string>> = {
  idx_tasks_assigned_agent_type: 'assigned_agent_type IS NOT NULL',
  idx_tasks_parent: 'parent_task_id IS NOT NULL',
  idx_tasks_workflow: 'workflow_id IS NOT NULL',
  idx_tasks_plan_status: 'plan_id IS NOT NULL',
  idx_tasks_chain: 'chain_id IS NOT NULL',
  idx_tasks_template: 'template_id IS NOT NULL',
  idx_tasks_schedule: 'schedule_id IS NOT NULL',
  idx_tasks_user: 'user_id IS NOT NULL',
  idx_tasks_client_created: 'client_id IS NOT NULL',
  idx_tasks_type_input_model: 'type IS NOT NULL',
  idx_tasks_input_model: "(input ->> 'model') IS NOT NULL",
  idx_tasks_input_language: "(input ->> 'language') IS NOT NULL",
};

/** Rebuilds the indexes of NULL_FREE_PREDICATES as partial indexes (same name, same columns). */
async function nullFreeIndexes(client: pg.Client): Promise<void> {
  for (const index of await tasksIndexes(client)) {
    const predicate = NULL_FREE_PREDICATES[index.name];
    if (!predicate) continue;
    if (/ WHERE /i.test(index.definition)) throw new Error(`${index.name} is already partial: ${index.definition}`);
    await client.query(`DROP INDEX agentry.${quoteIdent(index.name)}`);
    // The definition is the server's own (pg_indexes.indexdef); the predicate a constant above.
    await client.query(`${index.definition} WHERE ${predicate}`);
  }
}

export const VARIANTS: readonly Variant[] = [
  { name: 'as migrated', removes: 'nothing (the reference)', apply: async () => undefined },
  {
    name: 'no user triggers',
    removes: 'every trigger of tasks (state machine, version bump, roll-ups, input and parent checks)',
    apply: (client) => disableTrigger(client, 'USER'),
  },
  {
    name: 'no state-machine trigger',
    removes: 'trg_tasks_status_transition',
    apply: (client) => disableTrigger(client, 'trg_tasks_status_transition'),
  },
  {
    name: 'no version trigger',
    removes: 'trg_tasks_updated_at (version bump, updated_at)',
    apply: (client) => disableTrigger(client, 'trg_tasks_updated_at'),
  },
  {
    name: 'no GIN indexes',
    removes: 'idx_tasks_input_gin, idx_tasks_metadata_gin',
    apply: (client) => dropIndexes(client, (index) => !isGin(index)),
  },
  {
    name: 'no expression indexes',
    removes: "the three indexes on input ->> 'model' / 'language'",
    apply: (client) => dropIndexes(client, (index) => !isExpression(index)),
  },
  {
    name: '2 indexes only',
    removes: `every index but ${ESSENTIAL_INDEXES.join(' and ')}`,
    apply: (client) => dropIndexes(client, () => false),
  },
  {
    name: '2 indexes, no triggers',
    removes: 'both of the above: the table with only what the cycle needs',
    apply: async (client) => {
      await dropIndexes(client, () => false);
      await disableTrigger(client, 'USER');
    },
  },
  {
    name: 'proposed: NULL-free indexes',
    removes: `nothing; the ${Object.keys(NULL_FREE_PREDICATES).length} indexes on columns a queued task leaves NULL become partial (WHERE col IS NOT NULL)`,
    apply: nullFreeIndexes,
  },
  {
    name: 'proposed + no GIN',
    removes: 'the above, and the two GIN indexes (input, metadata)',
    apply: async (client) => {
      await nullFreeIndexes(client);
      await dropIndexes(client, (index) => !isGin(index));
    },
  },
];

export interface WalBreakdown {
  /** WAL bytes of the database's records and of its transactions' commits, per completed task. */
  bytesPerTask: number;
  /** Of which full-page images (first touch of a page after a checkpoint). */
  fpiBytesPerTask: number;
  recordsPerTask: number;
  /** Per relation of the database: WAL records and bytes per task, biggest first. */
  relations: { name: string; recordsPerTask: number; bytesPerTask: number; fpiBytesPerTask: number }[];
}

export async function currentWalLsn(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn');
  return rows[0]?.lsn as string;
}

/**
 * The WAL a run wrote to this database, read back with pg_walinspect between
 * two LSNs and split by relation. Records are attributed to the database by
 * their first block reference (rel <tablespace>/<database oid>/<relfilenode>);
 * commit records (no block) by the transaction ids seen on those. Other
 * databases' WAL in the same window (the server is shared) is left out.
 */
export async function walBreakdown(client: pg.Client, startLsn: string, endLsn: string, tasks: number): Promise<WalBreakdown> {
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  const { rows: db } = await client.query<{ oid: string }>('SELECT oid::text FROM pg_database WHERE datname = current_database()');
  const oid = db[0]?.oid as string;
  const { rows } = await client.query<{ relfilenode: string | null; records: string; bytes: string; fpi: string }>(
    `WITH r AS (
       SELECT xid, record_length, fpi_length, substring(block_ref FROM 'rel \\d+/' || $3 || '/(\\d+)') AS relfilenode
         FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
     ),
     mine AS (SELECT DISTINCT xid FROM r WHERE relfilenode IS NOT NULL AND xid <> '0'::xid)
     SELECT relfilenode, count(*)::text AS records, sum(record_length)::text AS bytes, sum(fpi_length)::text AS fpi
       FROM r
      WHERE relfilenode IS NOT NULL OR xid IN (SELECT xid FROM mine)
      GROUP BY relfilenode`,
    [startLsn, endLsn, oid],
  );
  const { rows: names } = await client.query<{ relfilenode: string; name: string }>(
    `SELECT c.relfilenode::text, c.relname AS name FROM pg_class c WHERE c.relfilenode = ANY ($1::oid[])`,
    [rows.filter((r) => r.relfilenode).map((r) => r.relfilenode)],
  );
  const nameOf = new Map(names.map((n) => [n.relfilenode, n.name]));
  const relations = rows
    .map((r) => ({
      name: r.relfilenode ? (nameOf.get(r.relfilenode) ?? `relfilenode ${r.relfilenode}`) : '(commit records)',
      recordsPerTask: Number(r.records) / tasks,
      bytesPerTask: Number(r.bytes) / tasks,
      fpiBytesPerTask: Number(r.fpi) / tasks,
    }))
    .sort((a, b) => b.bytesPerTask - a.bytesPerTask);
  return {
    bytesPerTask: relations.reduce((s, r) => s + r.bytesPerTask, 0),
    fpiBytesPerTask: relations.reduce((s, r) => s + r.fpiBytesPerTask, 0),
    recordsPerTask: relations.reduce((s, r) => s + r.recordsPerTask, 0),
    relations,
  };
}
