import { Command, Option } from 'commander';

import { listPlannedQueries, plannedStatements, runPlan, type PlannedStatement, type PlanResult } from '../../commands/plan.js';
import { withServer } from '../../db/server.js';
import { withDatabase } from '../../db/url.js';
import { AgentryError } from '../../errors.js';
import { globals, printJson, serverOptions } from '../context.js';
import type { Io } from '../io.js';
import { displayPath } from '../../migrate/lint.js';
import { DEFAULT_MIN_ROWS } from '../../plan/check.js';
import { hintMissingDatabase, integerOption } from '../options.js';

interface PlanFlags {
  analyze?: boolean;
  only?: string[];
  refreshStatistics?: boolean;
  minRows?: number;
  list?: boolean;
  showSql?: 'failing' | 'all';
}

export function planCommand(io: Io): Command {
  return new Command('plan')
    .description('EXPLAIN every statement in sql/queries on the database and check what each header says its plan must show; exit 1 on any violation')
    .option('--analyze', 'EXPLAIN ANALYZE: run each statement in a rolled-back transaction and report its time')
    .option('--only <queries...>', 'only these queries (work.claim_ready_tasks) or contexts (work)')
    .option('--refresh-statistics', 'run VACUUM (ANALYZE) first so that the planner sees current statistics and index state')
    .addOption(
      new Option('--min-rows <n>', 'index and no-seq-scan assertions about a table with fewer estimated rows are not judged (a sequential scan is right there)')
        .argParser(integerOption('--min-rows', 0, 1_000_000_000))
        .default(DEFAULT_MIN_ROWS),
    )
    .option('--list', 'print the queries and their assertions, and exit')
    .addOption(
      new Option('--show-sql [which]', 'print the statements in house style with their example parameters: of the failing queries (default) or all; with --list, of every listed query')
        .choices(['failing', 'all'])
        .preset('failing'),
    )
    .addHelpText(
      'after',
      `
Each sql/queries/<context>/<name>.sql file states in its header the example
parameters (-- param: $1 name type = <SQL expression>) and what its plan
must show (-- expect: ...):
  index <name>             the plan reads this index (a partition's index counts as its parent's)
  no-seq-scan <table>      no Seq Scan on the table or its partitions
  partitions <table> <= n  partition pruning leaves at most n partitions
  max-cost <n>             estimated total cost at most n
  max-rows <n>             the top node estimates at most n rows
Run it on a seeded database (agentry seed --demo), where plans are realistic.`,
    )
    .action(async (flags: PlanFlags, command: Command) => {
      const opts = globals(command);
      if (flags.list) {
        const list = listPlannedQueries();
        if (flags.showSql !== undefined) {
          const statements = await plannedStatements(flags.only !== undefined ? { only: flags.only } : {});
          if (opts.json) printJson(io, statements);
          else io.stdout(formatStatements(statements));
          return;
        }
        if (opts.json) printJson(io, list);
        else io.stdout(list.map((q) => `${q.name.padEnd(40)} ${q.expectations.join('; ')}\n`).join(''));
        return;
      }
      const progress = !opts.json && process.stderr.isTTY ? (done: number, total: number, name: string) => {
        io.stderr(`\r[${done}/${total}] ${name}`.padEnd(70));
        if (done === total) io.stderr('\r'.padEnd(71) + '\r');
      } : undefined;
      const result = await withServer(serverOptions(command, io), (server) =>
        runPlan({
          databaseUrl: withDatabase(server.connectionString, opts.database),
          analyze: flags.analyze ?? false,
          ...(flags.only !== undefined && { only: flags.only }),
          ...(flags.refreshStatistics !== undefined && { refreshStatistics: flags.refreshStatistics }),
          minRows: flags.minRows ?? DEFAULT_MIN_ROWS,
          ...(flags.showSql !== undefined && { showSql: flags.showSql }),
          ...(progress !== undefined && { onProgress: progress }),
        }),
      ).catch(hintMissingDatabase);
      if (opts.json) printJson(io, result);
      else io.stdout(formatPlan(result) + (result.statements?.length ? `\n${formatStatements(result.statements)}` : ''));
      if (!result.ok) {
        throw new AgentryError(
          'check',
          `plan check failed: ${result.failed} of ${result.results.length} queries (${result.results.filter((r) => !r.ok).map((r) => r.query).join(', ')})`,
        );
      }
    });
}

function ms(value: number | null): string {
  return value === null ? '' : value.toFixed(2);
}

/** A table of query, plan summary, time and pass/fail, then the reason for each failure. */
export function formatPlan(result: PlanResult): string {
  const rows = result.results.map((r) => ({
    query: r.query,
    status: r.ok ? 'pass' : 'FAIL',
    time: result.analyze ? ms(r.executionMs) : ms(r.planningMs),
    cost: r.totalCost.toFixed(1),
    summary: r.summary,
  }));
  const width = (key: keyof (typeof rows)[number], title: string) => Math.max(title.length, ...rows.map((r) => r[key].length));
  const w = { query: width('query', 'query'), status: 4, time: width('time', 'ms'), cost: width('cost', 'cost') };
  const lines = [`Database: ${result.database}${result.analyze ? ' (EXPLAIN ANALYZE)' : ''}`];
  lines.push(`${'query'.padEnd(w.query)}  ${'ok'.padEnd(w.status)}  ${(result.analyze ? 'exec ms' : 'plan ms').padStart(w.time)}  ${'cost'.padStart(w.cost)}  plan`);
  for (const r of rows) {
    lines.push(`${r.query.padEnd(w.query)}  ${r.status.padEnd(w.status)}  ${r.time.padStart(w.time)}  ${r.cost.padStart(w.cost)}  ${r.summary}`);
  }
  for (const r of result.results.filter((x) => !x.ok)) {
    lines.push('', `${r.query} (${r.file}):`);
    if (r.error) lines.push(`  not planned: ${r.error}`);
    for (const a of r.assertions.filter((x) => !x.ok)) lines.push(`  line ${a.line}: expect ${a.assertion}: ${a.message}`);
  }
  const allowances = result.results.flatMap((r) => r.assertions.filter((a) => a.ok && !a.skipped && a.message).map((a) => ({ query: r.query, a })));
  if (allowances.length) {
    lines.push('', 'passed with an allowance:');
    for (const { query, a } of allowances) lines.push(`  ${query} line ${a.line}: expect ${a.assertion}: ${a.message}`);
  }
  if (result.tablesWithoutStatistics.length) {
    lines.push('', `note: no statistics yet for ${result.tablesWithoutStatistics.length} tables (run with --refresh-statistics, or ANALYZE): their plans are guesses`);
  }
  lines.push('', `plan: ${result.passed} of ${result.results.length} queries pass${result.failed ? `, ${result.failed} fail` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** Each statement under a comment naming it and its example parameters, as in its file's header. */
export function formatStatements(statements: readonly PlannedStatement[]): string {
  return statements
    .map((s) =>
      [
        `-- ${s.query} (${displayPath(s.file)})`,
        ...s.params.map((p) => `-- $${p.position} ${p.name} ${p.type} = ${p.example}`),
        `${s.sql};`,
        '',
      ].join('\n'),
    )
    .join('\n');
}
