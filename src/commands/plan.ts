import { loadQueries, type QueryDefinition } from '../dal/sql.js';
import { withClient } from '../db/admin.js';
import { redactUrl } from '../db/url.js';
import { AgentryError, errorMessage, isConnectionError } from '../errors.js';
import { checkQueryPlan, type QueryPlanResult } from '../plan/check.js';

export interface PlanOptions {
  /** The (seeded) database whose planner is asked. */
  databaseUrl: string;
  /** EXPLAIN ANALYZE: run each statement (inside a rolled-back transaction) and time it. */
  analyze?: boolean;
  /** Only these queries (names such as work.claim_ready_tasks, or a context such as work). */
  only?: string[];
  /** Run VACUUM (ANALYZE) first, so that the planner sees current statistics and index state. */
  refreshStatistics?: boolean;
  /** Also return the statements (house style, with their example parameters) of the failing queries or of all. */
  showSql?: 'failing' | 'all';
  /** Tables with fewer estimated rows are too small for index and no-seq-scan assertions (default 1000). */
  minRows?: number;
  /** Folder of the query files (default: the package's sql/queries). */
  queriesDir?: string;
  onProgress?: (done: number, total: number, query: string) => void;
}

export interface PlanResult {
  database: string;
  analyze: boolean;
  ok: boolean;
  passed: number;
  failed: number;
  /** Tables the planner has never seen statistics for: their plans are guesses. */
  tablesWithoutStatistics: string[];
  results: QueryPlanResult[];
  /** With showSql: the statements asked for, in the order of results. */
  statements?: PlannedStatement[];
}

/** A query's statement as the plan checker runs it, for reading: house style, example parameters. */
export interface PlannedStatement {
  query: string;
  file: string;
  /** $1..$n with the example each is EXPLAINed with. */
  params: { position: number; name: string; type: string; example: string }[];
  /** The statement in the house style (src/format/, as `agentry format` writes it). */
  sql: string;
}

function selected(all: QueryDefinition[], only: string[] | undefined): QueryDefinition[] {
  if (!only?.length) return all;
  const picked = all.filter((q) => only.some((o) => q.name === o || q.context === o));
  const unknown = only.filter((o) => !all.some((q) => q.name === o || q.context === o));
  if (unknown.length) {
    throw new AgentryError('usage', `no query named ${unknown.join(', ')}; \`agentry plan --list\` prints the names`);
  }
  return picked;
}

/** The query names and contexts the plan checker knows, for --list. */
export function listPlannedQueries(queriesDir?: string): { name: string; description: string; expectations: string[] }[] {
  return [...loadQueries(queriesDir)].map((q) => ({ name: q.name, description: q.description, expectations: q.expectations.map((e) => e.text) }));
}

/**
 * The statements of queries, each in house style. The formatter (and
 * sql-formatter) is loaded here, when asked for, not when the CLI starts.
 */
async function plannedStatementsOf(queries: readonly QueryDefinition[]): Promise<PlannedStatement[]> {
  const { formatStatement } = await import('../format/format.js');
  return queries.map((query) => ({
    query: query.name,
    file: query.file,
    params: query.params.map((p) => ({ position: p.position, name: p.name, type: p.type, example: p.example })),
    sql: formatStatement(query.text).text,
  }));
}

/** The statements of the named queries (or contexts), or of every query: what `plan --list --show-sql` prints. */
export async function plannedStatements(options: { only?: string[]; queriesDir?: string } = {}): Promise<PlannedStatement[]> {
  return plannedStatementsOf(selected([...loadQueries(options.queriesDir)], options.only));
}

/**
 * The plan checker: EXPLAINs every statement in sql/queries with its header's
 * example parameters and judges the plan against the header's `-- expect:`
 * lines. A statement the DAL runs is a statement checked here, because both
 * read the same files.
 */
export async function runPlan(options: PlanOptions): Promise<PlanResult> {
  const queries = selected([...loadQueries(options.queriesDir)], options.only);
  const analyze = options.analyze ?? false;
  try {
    return await withClient(options.databaseUrl, async (client) => {
      // VACUUM too, not only ANALYZE: after bulk inserts a GIN index's pending
      // list and unset visibility map make the planner prefer sequential scans.
      if (options.refreshStatistics) await client.query('VACUUM (ANALYZE)');
      const { rows: unanalysed } = await client.query<{ name: string }>(
        `SELECT relname AS name FROM pg_catalog.pg_stat_user_tables
          WHERE schemaname = 'agentry' AND last_analyze IS NULL AND last_autoanalyze IS NULL
            AND relname NOT LIKE 'pgmigrations%'
          ORDER BY 1`,
      );
      const results: QueryPlanResult[] = [];
      for (const [index, query] of queries.entries()) {
        options.onProgress?.(index, queries.length, query.name);
        try {
          results.push(await checkQueryPlan(client, query, { analyze, ...(options.minRows !== undefined && { minRows: options.minRows }) }));
        } catch (error) {
          if (isConnectionError(error)) throw error;
          results.push({
            query: query.name,
            file: query.file,
            ok: false,
            summary: '(not planned)',
            totalCost: 0,
            planRows: 0,
            planningMs: null,
            executionMs: null,
            assertions: [],
            plan: { 'Node Type': 'none', 'Total Cost': 0, 'Plan Rows': 0 },
            error: errorMessage(error),
          });
        }
      }
      options.onProgress?.(queries.length, queries.length, '');
      const failed = results.filter((r) => !r.ok).length;
      const shown = options.showSql === undefined ? undefined : results.filter((r) => options.showSql === 'all' || !r.ok).map((r) => r.query);
      const statements = shown === undefined ? undefined : await plannedStatementsOf(queries.filter((q) => shown.includes(q.name)));
      return {
        database: redactUrl(options.databaseUrl),
        analyze,
        ok: failed === 0,
        passed: results.length - failed,
        failed,
        tablesWithoutStatistics: unanalysed.map((r) => r.name),
        results,
        ...(statements !== undefined && { statements }),
      };
    });
  } catch (error) {
    if (error instanceof AgentryError || isConnectionError(error)) throw error;
    throw new AgentryError('failed', `plan check failed: ${errorMessage(error)}`, { cause: error });
  }
}
