// Removing a demo dataset (before seeding one with other arguments, or with
// --reset). Demo rows are recognised by their keys: uuids 5eed5eed-<table>-8000-8000-*
// (never produced by gen_random_uuid(), whose version nibble is 4), agent ids
// demo-agent-NNNNN, and negative bigint ids in the identity-keyed tables.
//
// When every row of the tables below is a demo row (a database used for demos
// only) they are emptied with one TRUNCATE; otherwise the demo rows are
// deleted table by table, leaves first, with the triggers doing their work
// (counters of the remaining rows stay right). audit_logs is append-only and
// keeps its rows, and with them the demo users and API keys they reference.

import type pg from 'pg';

import { quoteIdent } from '../../db/identifiers.js';
import { MANIFEST_ID } from './manifest.js';
import { inDemoRange, uuidRange, type TableCode } from './sql.js';

export interface RemovalReport {
  /** none: there was nothing to remove. */
  mode: 'none' | 'truncate' | 'delete';
  /** Rows removed per table (for truncate: the rows the tables held). */
  removed: Record<string, number>;
  /** Demo users and API keys kept because audit_logs (or other rows) reference them. */
  keptUsers: number;
  keptApiKeys: number;
}

const AGENT = "id LIKE 'demo-agent-%'";

interface Owned {
  table: string;
  /** Condition for a demo row. */
  demo: string;
  /** Condition for a row that is not demo data (index-friendly where it matters). */
  other: string;
}

function uuidTable(table: string, code: TableCode, column = 'id'): Owned {
  const [lo, hi] = uuidRange(code);
  return { table, demo: inDemoRange(column, code), other: `${column} < '${lo}'::uuid OR ${column} > '${hi}'::uuid` };
}

const NEGATIVE = { demo: 'id < 0', other: 'id > 0' };

/** Tables emptied by the TRUNCATE path, in the order the DELETE path removes their demo rows (leaves first). */
const OWNED: Owned[] = [
  { table: 'webhook_deliveries', ...NEGATIVE },
  uuidTable('webhooks', 'webhooks'),
  uuidTable('context_vectors', 'contextVectors'),
  uuidTable('agent_sessions', 'agentSessions'),
  uuidTable('knowledge_entries', 'knowledgeEntries'),
  {
    table: 'learning_experiences',
    demo: `${inDemoRange('id', 'learningExperiences')} OR ${inDemoRange('correction_id', 'corrections')}`,
    other: `NOT (${inDemoRange('id', 'learningExperiences')} OR coalesce(${inDemoRange('correction_id', 'corrections')}, false))`,
  },
  uuidTable('evaluations', 'evaluations'),
  uuidTable('corrections', 'corrections'),
  uuidTable('checkpoints', 'checkpoints'),
  uuidTable('agent_interactions', 'agentInteractions'),
  { table: 'trust_records', ...NEGATIVE },
  { table: 'activity_logs', ...NEGATIVE },
  { table: 'agent_metrics', ...NEGATIVE },
  uuidTable('task_dependencies', 'tasks', 'task_id'),
  uuidTable('tasks', 'tasks'),
  {
    table: 'workflows',
    demo: `${inDemoRange('id', 'workflows')} OR id = '${MANIFEST_ID}'`,
    other: `(id < '${uuidRange('workflows')[0]}'::uuid OR id > '${uuidRange('workflows')[1]}'::uuid) AND id <> '${MANIFEST_ID}'`,
  },
  uuidTable('plans', 'plans'),
  uuidTable('projects', 'projects'),
  uuidTable('scheduled_tasks', 'scheduledTasks'),
  uuidTable('task_templates', 'taskTemplates'),
  uuidTable('task_chains', 'taskChains'),
  uuidTable('agent_capabilities', 'agentCapabilities'),
  { table: 'agents', demo: AGENT, other: `NOT (${AGENT})` },
  uuidTable('workers', 'workers'),
  uuidTable('user_sessions', 'userSessions'),
  uuidTable('rate_limit_windows', 'apiKeys', 'api_key_id'),
];

/** Is there any demo row left (the audit-pinned users and API keys aside)? */
export async function hasDemoData(client: pg.ClientBase): Promise<boolean> {
  const probes = ['workflows', 'tasks', 'agents', 'workers', 'user_sessions', 'projects', 'webhooks', 'agent_sessions'].map((t) => OWNED.find((o) => o.table === t)!);
  const { rows } = await client.query<{ any: boolean }>(
    `SELECT ${probes.map((o) => `EXISTS (SELECT 1 FROM agentry.${o.table} WHERE ${o.demo})`).join(' OR ')} AS any`,
  );
  return rows[0]?.any ?? false;
}

async function onlyDemoRows(client: pg.ClientBase): Promise<boolean> {
  for (const o of OWNED) {
    const { rows } = await client.query<{ other: boolean }>(`SELECT EXISTS (SELECT 1 FROM agentry.${o.table} WHERE ${o.other}) AS other`);
    if (rows[0]?.other) return false;
  }
  return true;
}

async function countRows(client: pg.ClientBase, table: string, where?: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM agentry.${quoteIdent(table)}${where ? ` WHERE ${where}` : ''}`);
  return Number(rows[0]?.n ?? 0);
}

/** Monthly partitions (and the default one) of a partitioned table. */
async function partitionsOf(client: pg.ClientBase, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`,
    [`agentry.${table}`],
  );
  return rows.map((r) => r.name);
}

export interface RemovalProgress {
  (table: string, removed: number): void;
}

/**
 * Removes every demo row, each step in its own transaction (a killed removal
 * is finished by the next run). Returns what was removed.
 */
export async function removeDemoData(client: pg.ClientBase, onStep: RemovalProgress = () => undefined): Promise<RemovalReport> {
  const removed: Record<string, number> = {};
  let mode: RemovalReport['mode'] = 'delete';

  if (await onlyDemoRows(client)) {
    for (const o of OWNED) removed[o.table] = await countRows(client, o.table);
    try {
      await client.query(`TRUNCATE ${OWNED.map((o) => `agentry.${o.table}`).join(', ')}`);
      mode = 'truncate';
      for (const o of OWNED) onStep(o.table, removed[o.table] ?? 0);
    } catch (error) {
      // A table outside the list references one in it (a newer schema): delete instead.
      if ((error as { code?: string }).code !== '0A000') throw error;
    }
  }

  if (mode === 'delete') {
    for (const o of OWNED) {
      let n = 0;
      if (o.table === 'agent_metrics' || o.table === 'activity_logs') {
        // Partitions holding nothing but demo rows are emptied whole.
        for (const part of await partitionsOf(client, o.table)) {
          const { rows } = await client.query<{ other: boolean; demo: boolean }>(
            `SELECT EXISTS (SELECT 1 FROM agentry.${quoteIdent(part)} WHERE ${o.other}) AS other, EXISTS (SELECT 1 FROM agentry.${quoteIdent(part)} WHERE ${o.demo}) AS demo`,
          );
          if (!rows[0]?.demo) continue;
          if (rows[0].other) {
            n += (await client.query(`DELETE FROM agentry.${quoteIdent(part)} WHERE ${o.demo}`)).rowCount ?? 0;
          } else {
            n += await countRows(client, part);
            await client.query(`TRUNCATE agentry.${quoteIdent(part)}`);
          }
        }
      } else if (o.table === 'tasks') {
        const [lo, hi] = uuidRange('tasks');
        // Agents working on a demo task let go of it first: the roll-up trigger
        // updates an agent per deleted task, and the agent's row must not point
        // at a task deleted by the same statement.
        await client.query(`UPDATE agentry.agents SET current_task_id = NULL WHERE current_task_id BETWEEN '${lo}' AND '${hi}'`);
        // In slices: each task's delete runs the roll-up and foreign-key triggers.
        for (;;) {
          const result = await client.query(
            `DELETE FROM agentry.tasks WHERE id IN (SELECT id FROM agentry.tasks WHERE id BETWEEN '${lo}' AND '${hi}' ORDER BY id DESC LIMIT 20000)`,
          );
          n += result.rowCount ?? 0;
          if ((result.rowCount ?? 0) === 0) break;
          onStep(o.table, n);
        }
      } else {
        n = (await client.query(`DELETE FROM agentry.${o.table} WHERE ${o.demo}`)).rowCount ?? 0;
      }
      removed[o.table] = n;
      onStep(o.table, n);
    }
  }

  // Users and API keys that history still points at stay (and are rewritten by the next seed).
  const [klo, khi] = uuidRange('apiKeys');
  removed.api_keys = (
    await client.query(
      `DELETE FROM agentry.api_keys k WHERE k.id BETWEEN '${klo}' AND '${khi}'
          AND NOT EXISTS (SELECT 1 FROM agentry.audit_logs a WHERE a.api_key_id = k.id)`,
    )
  ).rowCount ?? 0;
  const [ulo, uhi] = uuidRange('users');
  removed.users = (
    await client.query(
      `DELETE FROM agentry.users u WHERE u.id BETWEEN '${ulo}' AND '${uhi}'
          AND NOT EXISTS (SELECT 1 FROM agentry.audit_logs a WHERE a.user_id = u.id)
          AND NOT EXISTS (SELECT 1 FROM agentry.projects p WHERE p.created_by = u.id)
          AND NOT EXISTS (SELECT 1 FROM agentry.plans p WHERE p.created_by = u.id)
          AND NOT EXISTS (SELECT 1 FROM agentry.knowledge_entries k WHERE k.created_by = u.id)`,
    )
  ).rowCount ?? 0;
  onStep('users', removed.users);
  const keptUsers = await countRows(client, 'users', `id BETWEEN '${ulo}' AND '${uhi}'`);
  const keptApiKeys = await countRows(client, 'api_keys', `id BETWEEN '${klo}' AND '${khi}'`);
  const total = Object.values(removed).reduce((a, b) => a + b, 0);
  return { mode: total === 0 ? 'none' : mode, removed, keptUsers, keptApiKeys };
}

/** Demo rows per table, users, API keys and audit_logs included. */
export async function countDemoRows(client: pg.ClientBase): Promise<Record<string, number>> {
  const parts = [
    ...OWNED.filter((o) => o.table !== 'workflows').map((o) => ({ table: o.table, where: o.demo })),
    { table: 'workflows', where: inDemoRange('id', 'workflows') },
    { table: 'users', where: inDemoRange('id', 'users') },
    { table: 'api_keys', where: inDemoRange('id', 'apiKeys') },
    { table: 'audit_logs', where: 'id < 0' },
  ];
  const { rows } = await client.query<Record<string, string>>(
    `SELECT ${parts.map((p) => `(SELECT count(*) FROM agentry.${p.table} WHERE ${p.where}) AS ${p.table}`).join(', ')}`,
  );
  const row = rows[0] ?? {};
  return Object.fromEntries(parts.map((p) => [p.table, Number(row[p.table] ?? 0)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}

/** audit_logs already holds demo rows (of this or an earlier dataset). */
export async function hasDemoAudit(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM agentry.audit_logs WHERE id < 0) AS any');
  return rows[0]?.any ?? false;
}

/** The tables a demo run writes, for ANALYZE. */
export const DEMO_TABLES = [...OWNED.map((o) => o.table), 'users', 'api_keys', 'audit_logs'];
