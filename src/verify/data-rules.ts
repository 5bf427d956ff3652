import { findCycles } from './graph.js';
import { fail, pass, plural, type Rule } from './types.js';

// Invariants of the data that triggers keep. They hold unless someone wrote
// with triggers disabled (session_replication_role = replica, a restore with
// --disable-triggers) or a trigger was changed.

/** At most this many detail lines per rule; the rest are counted. */
export const MAX_DETAILS = 50;

export function capped(lines: string[]): string[] {
  if (lines.length <= MAX_DETAILS) return lines;
  return [...lines.slice(0, MAX_DETAILS), `... and ${lines.length - MAX_DETAILS} more`];
}

function describeCycle(ids: string[]): string {
  const shown = ids.length > 10 ? [...ids.slice(0, 10), `... (${ids.length} tasks)`] : ids;
  return shown.join(', ');
}

export const dependencyCycles: Rule = {
  name: 'dependency-cycles',
  group: 'data',
  description: 'task_dependencies is a DAG: no task depends on itself, directly or through others',
  async run({ client }) {
    const { rows } = await client.query<{ task_id: string; depends_on_id: string }>(
      'SELECT task_id::text, depends_on_id::text FROM agentry.task_dependencies',
    );
    const cycles = findCycles(rows.map((r) => [r.task_id, r.depends_on_id] as const));
    if (cycles.length === 0) return pass(`no cycle among ${plural(rows.length, 'dependency edge')}`);
    return fail(
      `${plural(cycles.length, 'dependency cycle')} in task_dependencies (written with triggers disabled?): delete one edge of each`,
      capped(cycles.map((c) => `tasks ${describeCycle(c)}`)),
    );
  },
};

export const parentCycles: Rule = {
  name: 'parent-cycles',
  group: 'data',
  description: 'tasks.parent_task_id is a forest: no task is its own ancestor',
  async run({ client }) {
    const { rows } = await client.query<{ id: string; parent_task_id: string }>(
      'SELECT id::text, parent_task_id::text FROM agentry.tasks WHERE parent_task_id IS NOT NULL',
    );
    const cycles = findCycles(rows.map((r) => [r.id, r.parent_task_id] as const));
    if (cycles.length === 0) return pass(`no cycle among ${plural(rows.length, 'subtask link')}`);
    return fail(
      `${plural(cycles.length, 'hierarchy cycle')} in tasks.parent_task_id (written with triggers disabled?): set parent_task_id to NULL on one task of each`,
      capped(cycles.map((c) => `tasks ${describeCycle(c)}`)),
    );
  },
};

interface CounterMismatch {
  id: string;
  name: string;
  [field: string]: unknown;
}

function mismatches(rows: CounterMismatch[], fields: ReadonlyArray<readonly [string, string]>, noun: string): string[] {
  return rows.map((r) => {
    const wrong = fields
      .filter(([stored, counted]) => String(r[stored]) !== String(r[counted]))
      .map(([stored, counted]) => `${stored} ${String(r[stored])}, counted ${String(r[counted])}`);
    return `${noun} ${r.id}${r.name && r.name !== r.id ? ` (${r.name})` : ''}: ${wrong.join('; ')}`;
  });
}

const WORKFLOW_FIELDS = [
  ['total_tasks', 'n_total'],
  ['completed_tasks', 'n_completed'],
  ['failed_tasks', 'n_failed'],
  ['cancelled_tasks', 'n_cancelled'],
  ['total_tokens_used', 'n_tokens'],
  ['total_cost_usd', 'n_cost'],
] as const;

export const workflowCounters: Rule = {
  name: 'workflow-counters',
  group: 'data',
  description: "each workflow's total, completed, failed (timeout included) and cancelled task counts, tokens and cost equal its tasks'",
  async run({ client }) {
    const { rows } = await client.query<CounterMismatch>(
      `WITH counted AS (
         SELECT t.workflow_id, count(*) AS n_total,
                count(*) FILTER (WHERE t.status = 'completed') AS n_completed,
                count(*) FILTER (WHERE t.status IN ('failed', 'timeout')) AS n_failed,
                count(*) FILTER (WHERE t.status = 'cancelled') AS n_cancelled,
                sum(t.tokens_used) AS n_tokens, sum(t.cost_usd) AS n_cost
           FROM agentry.tasks t WHERE t.workflow_id IS NOT NULL GROUP BY t.workflow_id)
       SELECT w.id::text, w.name, w.total_tasks::text, w.completed_tasks::text, w.failed_tasks::text, w.cancelled_tasks::text,
              w.total_tokens_used::text, w.total_cost_usd::numeric::text AS total_cost_usd,
              coalesce(c.n_total, 0)::text AS n_total, coalesce(c.n_completed, 0)::text AS n_completed,
              coalesce(c.n_failed, 0)::text AS n_failed, coalesce(c.n_cancelled, 0)::text AS n_cancelled,
              coalesce(c.n_tokens, 0)::text AS n_tokens, coalesce(c.n_cost, 0)::numeric(14, 6)::text AS n_cost
         FROM agentry.workflows w LEFT JOIN counted c ON c.workflow_id = w.id
        WHERE (w.total_tasks, w.completed_tasks, w.failed_tasks, w.cancelled_tasks, w.total_tokens_used, w.total_cost_usd)
              IS DISTINCT FROM (coalesce(c.n_total, 0), coalesce(c.n_completed, 0), coalesce(c.n_failed, 0), coalesce(c.n_cancelled, 0),
                                coalesce(c.n_tokens, 0), coalesce(c.n_cost, 0))
        ORDER BY w.id`,
    );
    if (rows.length === 0) return pass('every workflow counter equals its counted tasks');
    return fail(
      `${plural(rows.length, 'workflow has', 'workflows have')} counters that disagree with their tasks (written with triggers disabled?): recompute them from agentry.tasks`,
      capped(mismatches(rows, WORKFLOW_FIELDS, 'workflow')),
    );
  },
};

const AGENT_FIELDS = [
  ['total_tasks_completed', 'n_completed'],
  ['total_tasks_failed', 'n_failed'],
  ['total_tokens_used', 'n_tokens'],
] as const;

export const agentCounters: Rule = {
  name: 'agent-counters',
  group: 'data',
  description: "each agent's completed and failed (timeout included) task counts and tokens equal its tasks'",
  async run({ client }) {
    const { rows } = await client.query<CounterMismatch>(
      `WITH counted AS (
         SELECT t.agent_id, count(*) FILTER (WHERE t.status = 'completed') AS n_completed,
                count(*) FILTER (WHERE t.status IN ('failed', 'timeout')) AS n_failed, sum(t.tokens_used) AS n_tokens
           FROM agentry.tasks t WHERE t.agent_id IS NOT NULL GROUP BY t.agent_id)
       SELECT a.id::text, a.name, a.total_tasks_completed::text, a.total_tasks_failed::text, a.total_tokens_used::text,
              coalesce(c.n_completed, 0)::text AS n_completed, coalesce(c.n_failed, 0)::text AS n_failed,
              coalesce(c.n_tokens, 0)::text AS n_tokens
         FROM agentry.agents a LEFT JOIN counted c ON c.agent_id = a.id
        WHERE (a.total_tasks_completed, a.total_tasks_failed, a.total_tokens_used)
              IS DISTINCT FROM (coalesce(c.n_completed, 0), coalesce(c.n_failed, 0), coalesce(c.n_tokens, 0))
        ORDER BY a.id`,
    );
    if (rows.length === 0) return pass('every agent counter equals its counted tasks');
    return fail(
      `${plural(rows.length, 'agent has', 'agents have')} task counters that disagree with their tasks (written with triggers disabled, or history inserted without tasks?): recompute them from agentry.tasks`,
      capped(mismatches(rows, AGENT_FIELDS, 'agent')),
    );
  },
};

export const trustScores: Rule = {
  name: 'trust-scores',
  group: 'data',
  description: "every agent with trust records has the trust_score_after of its last record (by created_at, id) as its trust_score",
  async run({ client }) {
    const { rows } = await client.query<{ id: string; name: string; trust_score: string; last: string; record_id: string }>(
      `SELECT a.id, a.name, a.trust_score::text, r.trust_score_after::text AS last, r.id::text AS record_id
         FROM agentry.agents a
         JOIN LATERAL (SELECT t.id, t.trust_score_after FROM agentry.trust_records t WHERE t.agent_id = a.id
                        ORDER BY t.created_at DESC, t.id DESC LIMIT 1) r ON true
        WHERE a.trust_score IS DISTINCT FROM r.trust_score_after
        ORDER BY a.id`,
    );
    if (rows.length === 0) return pass("every agent's trust_score is its last trust record's");
    return fail(
      `${plural(rows.length, 'agent has a trust_score', 'agents have trust_scores')} that disagree with the trust ledger: insert a compensating trust_records row (manual_adjustment)`,
      capped(rows.map((r) => `agent ${r.id}: trust_score ${r.trust_score}, last trust record #${r.record_id} says ${r.last}`)),
    );
  },
};

export const DATA_RULES: readonly Rule[] = [dependencyCycles, parentCycles, workflowCounters, agentCounters, trustScores];
