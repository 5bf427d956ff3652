import type pg from 'pg';

import type { QueryDefinition } from '../dal/sql.js';

/** One node of EXPLAIN (FORMAT JSON) output, as far as the checker reads it. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Schema'?: string;
  'Index Name'?: string;
  'Total Cost': number;
  'Plan Rows': number;
  'Actual Total Time'?: number;
  'Subplans Removed'?: number;
  Plans?: PlanNode[];
}

export interface ExplainOutput {
  plan: PlanNode;
  planningMs: number | null;
  executionMs: number | null;
}

/** Every node of a plan tree, depth first. */
export function planNodes(root: PlanNode): PlanNode[] {
  const out: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    out.push(node);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(root);
  return out;
}

const STATEMENT = 'agentry_plan_check';

/**
 * EXPLAINs one named statement with its header's example parameters.
 *
 * The examples are SQL expressions (often subqueries), which EXECUTE does
 * not accept as arguments; so they are evaluated first, and the statement is
 * then PREPAREd and EXPLAINed with those values as custom-plan parameters,
 * which is how node-postgres runs it (unnamed statements are planned with
 * their values). With `analyze`, the statement really runs inside a
 * transaction that is rolled back, so a DML statement changes nothing.
 */
export async function explainQuery(client: pg.ClientBase, query: QueryDefinition, options: { analyze: boolean }): Promise<ExplainOutput> {
  await client.query('BEGIN');
  try {
    // The plan the DAL gets: planned with the actual values.
    await client.query('SET LOCAL plan_cache_mode = force_custom_plan');
    // EXECUTE takes neither subqueries nor bind parameters as arguments, so
    // each example is evaluated first and comes back as a literal quoted by
    // PostgreSQL itself (quote_nullable). The example and its type are text
    // of the repository's own query files, not user input.
    const literals: string[] = [];
    for (const param of query.params) {
      const { rows } = await client.query<{ literal: string }>(
        `SELECT quote_nullable(((${param.example})::${param.type})::text) AS literal`,
      );
      literals.push(`${rows[0]!.literal}::${param.type}`);
    }
    const types = query.params.map((p) => p.type).join(', ');
    await client.query(`PREPARE ${STATEMENT}${types ? `(${types})` : ''} AS ${query.text}`);
    const args = literals.length ? `(${literals.join(', ')})` : '';
    const explainOptions = options.analyze ? 'FORMAT JSON, ANALYZE, BUFFERS, SUMMARY' : 'FORMAT JSON, SUMMARY';
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Planning Time'?: number; 'Execution Time'?: number }] }>(
      `EXPLAIN (${explainOptions}) EXECUTE ${STATEMENT}${args}`,
    );
    const [result] = rows[0]!['QUERY PLAN'];
    return {
      plan: result.Plan,
      planningMs: result['Planning Time'] ?? null,
      executionMs: result['Execution Time'] ?? null,
    };
  } finally {
    await client.query('ROLLBACK');
    await client.query(`DEALLOCATE ALL`);
  }
}
