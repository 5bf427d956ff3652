import type pg from 'pg';

import type { QueryDefinition } from '../dal/sql.js';
import { explainQuery, planNodes, type PlanNode } from './explain.js';
import { parseExpectation, type PlanExpectation } from './expectations.js';

export interface AssertionResult {
  assertion: string;
  line: number;
  ok: boolean;
  /** Not judged: the table is too small for its plan to mean anything. */
  skipped?: boolean;
  /** Why it failed, was skipped or passed only with an allowance, in words. */
  message?: string;
}

/**
 * Below this many rows a sequential scan is the planner's right choice, so
 * `index` and `no-seq-scan` assertions about such a table are not judged.
 */
export const DEFAULT_MIN_ROWS = 1000;

export interface QueryPlanResult {
  query: string;
  file: string;
  ok: boolean;
  /** Top node and what it reads, e.g. "Limit > Index Scan using idx_tasks_status_priority on tasks". */
  summary: string;
  totalCost: number;
  planRows: number;
  planningMs: number | null;
  executionMs: number | null;
  assertions: AssertionResult[];
  /** The raw plan, for --json and for reading a failure. */
  plan: PlanNode;
  error?: string;
}

/** Maps partitions (tables and their indexes) to the partitioned parent they belong to. */
async function partitionRoots(client: pg.ClientBase, names: string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const { rows } = await client.query<{ name: string; root: string }>(
    `SELECT c.relname AS name, coalesce(r.relname, c.relname) AS root
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_class r ON r.oid = pg_catalog.pg_partition_root(c.oid)
      WHERE n.nspname = 'agentry' AND c.relname = ANY($1::text[])`,
    [names],
  );
  return new Map(rows.map((r) => [r.name, r.root]));
}

function describeNode(node: PlanNode): string {
  let text = node['Node Type'];
  if (node['Index Name']) text += ` using ${node['Index Name']}`;
  if (node['Relation Name']) text += ` on ${node['Relation Name']}`;
  return text;
}

/** A one-line reading of the plan: the spine of the tree and every scan in it. */
export function summarisePlan(plan: PlanNode): string {
  const scans = planNodes(plan).filter((n) => n['Relation Name'] !== undefined);
  const spine = [describeNode(plan)];
  let node: PlanNode | undefined = plan;
  while (node?.Plans?.length === 1 && node.Plans[0]!['Relation Name'] === undefined) {
    node = node.Plans[0];
    spine.push(describeNode(node!));
  }
  const reads = [...new Set(scans.map(describeNode))];
  return reads.length && !reads.includes(spine[spine.length - 1]!) ? `${spine.join(' > ')} [${reads.join('; ')}]` : spine.join(' > ');
}

interface TableSizes {
  /** Estimated rows of each agentry table, its partitions summed into it. */
  rows: Map<string, number>;
  /** Estimated rows of each relation on its own: a partition by itself. */
  relationRows: Map<string, number>;
  /** The (root) table of each index. */
  indexTable: Map<string, string>;
}

/** Estimated rows of each agentry table and relation, and the table of each index. */
async function tableSizes(client: pg.ClientBase): Promise<TableSizes> {
  const { rows: relations } = await client.query<{ name: string; root: string; estimate: string }>(
    `SELECT c.relname AS name, coalesce(r.relname, c.relname) AS root, greatest(c.reltuples, 0)::bigint AS estimate
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_class r ON r.oid = pg_catalog.pg_partition_root(c.oid)
      WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p')`,
  );
  const rows = new Map<string, number>();
  for (const r of relations) rows.set(r.root, (rows.get(r.root) ?? 0) + Number(r.estimate));
  const { rows: indexes } = await client.query<{ index: string; table: string }>(
    `SELECT i.relname AS index, coalesce(r.relname, t.relname) AS table
       FROM pg_catalog.pg_index x
       JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
       JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_catalog.pg_class r ON r.oid = pg_catalog.pg_partition_root(t.oid)
      WHERE n.nspname = 'agentry'`,
  );
  return {
    rows,
    relationRows: new Map(relations.map((r) => [r.name, Number(r.estimate)])),
    indexTable: new Map(indexes.map((i) => [i.index, i.table])),
  };
}

/** Checks one expectation against a plan whose relations are mapped to their partition roots. */
function judge(
  expectation: PlanExpectation,
  plan: PlanNode,
  roots: Map<string, string>,
  sizes: TableSizes,
  minRows: number,
): AssertionResult {
  const nodes = planNodes(plan);
  const root = (name: string) => roots.get(name) ?? name;
  const base = { assertion: expectation.text, line: expectation.line };
  const subject = expectation.kind === 'index' ? sizes.indexTable.get(expectation.index) : expectation.kind === 'no-seq-scan' ? expectation.table : undefined;
  if (subject !== undefined) {
    // What the planner weighed is the part of the table it reads: after pruning, the partitions in the plan.
    const read = [...new Set(nodes.map((n) => n['Relation Name']).filter((r): r is string => r !== undefined && root(r) === subject && r !== subject))];
    const pruned = read.length > 0 && sizes.relationRows.has(read[0]!);
    const estimate = pruned ? read.reduce((sum, r) => sum + (sizes.relationRows.get(r) ?? 0), 0) : (sizes.rows.get(subject) ?? 0);
    if (estimate < minRows) {
      const what = pruned ? `the partitions of ${subject} this plan reads (${read.join(', ')}) hold` : `${subject} holds`;
      return {
        ...base,
        ok: true,
        skipped: true,
        message: `not judged: ${what} about ${estimate} rows (fewer than ${minRows}), where a sequential scan is the right plan`,
      };
    }
  }
  switch (expectation.kind) {
    case 'index': {
      const used = [...new Set(nodes.filter((n) => n['Index Name']).map((n) => root(n['Index Name']!)))];
      return used.includes(expectation.index)
        ? { ...base, ok: true }
        : { ...base, ok: false, message: `index ${expectation.index} is not used (plan reads ${used.length ? used.join(', ') : 'no index'})` };
    }
    case 'no-seq-scan': {
      const seq = [
        ...new Set(
          nodes.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] && root(n['Relation Name']) === expectation.table).map((n) => n['Relation Name']!),
        ),
      ];
      // A partition holding a sliver of the table (the first month of a window, say) is read whole
      // more cheaply than through an index; the same size rule as for a whole table applies to it.
      const small = seq.filter((name) => name !== expectation.table && (sizes.relationRows.get(name) ?? 0) < minRows);
      const large = seq.filter((name) => !small.includes(name));
      if (large.length > 0) return { ...base, ok: false, message: `Seq Scan on ${large.join(', ')}` };
      return small.length === 0
        ? { ...base, ok: true }
        : { ...base, ok: true, message: `Seq Scan only on partitions under ${minRows} rows (${small.join(', ')}), where it is the right plan` };
    }
    case 'partitions': {
      const scanned = new Set(
        nodes.filter((n) => n['Relation Name'] && root(n['Relation Name']) === expectation.table && n['Relation Name'] !== expectation.table).map((n) => n['Relation Name']),
      );
      return scanned.size <= expectation.max
        ? { ...base, ok: true }
        : { ...base, ok: false, message: `${scanned.size} partitions of ${expectation.table} scanned (${[...scanned].join(', ')}), at most ${expectation.max} expected` };
    }
    case 'max-cost':
      return plan['Total Cost'] <= expectation.max
        ? { ...base, ok: true }
        : { ...base, ok: false, message: `estimated cost ${plan['Total Cost']} exceeds ${expectation.max}` };
    case 'max-rows':
      return plan['Plan Rows'] <= expectation.max
        ? { ...base, ok: true }
        : { ...base, ok: false, message: `estimated ${plan['Plan Rows']} rows, at most ${expectation.max} expected` };
  }
}

/** EXPLAINs one query and judges every `-- expect:` line of its header. */
export async function checkQueryPlan(
  client: pg.ClientBase,
  query: QueryDefinition,
  options: { analyze: boolean; minRows?: number },
): Promise<QueryPlanResult> {
  const parsed = query.expectations.map((e) => ({ source: e, parsed: parseExpectation(e.text, e.line) }));
  const { plan, planningMs, executionMs } = await explainQuery(client, query, options);
  const names = planNodes(plan).flatMap((n) => [n['Relation Name'], n['Index Name']]).filter((x): x is string => x !== undefined);
  const roots = await partitionRoots(client, [...new Set(names)]);
  const sizes = await tableSizes(client);
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  const assertions: AssertionResult[] = parsed.map(({ source, parsed: p }) =>
    'error' in p ? { assertion: source.text, line: source.line, ok: false, message: p.error } : judge(p, plan, roots, sizes, minRows),
  );
  if (assertions.length === 0) {
    assertions.push({ assertion: '(none)', line: query.line, ok: false, message: 'the query declares no -- expect: line; every query states what its plan must show' });
  }
  return {
    query: query.name,
    file: query.file,
    ok: assertions.every((a) => a.ok),
    summary: summarisePlan(plan),
    totalCost: plan['Total Cost'],
    planRows: plan['Plan Rows'],
    planningMs,
    executionMs,
    assertions,
    plan,
  };
}
