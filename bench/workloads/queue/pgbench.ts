import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { migrateUp } from '../../../src/commands/migrate.js';
import { runProcess } from '../../lib/process.js';
import { queries } from '../../../src/dal/index.js';
import { OUTPUT, payload, type QueueSystem, type WorkResult } from './system.js';

/**
 * The limit: the very statements Agentry's DAL sends (the text of
 * work.create_tasks, work.claim_ready_tasks and work.update_task, read from
 * the same registry the DAL uses), driven by pgbench, a C client with no
 * per-call work of its own. Parameters become pgbench variables sent as bind
 * parameters (-M extended: an unnamed statement per call, as node-postgres
 * does). The DAL's NULL parameters become the literal NULL: a pgbench
 * variable cannot carry an SQL null, and an unnamed statement is planned
 * with its values, so the plan is the same.
 */
export const PGBENCH = process.env.PGBENCH ?? 'pgbench';

/** The DAL's statement with $n replaced: a string is spliced as is (NULL or a :variable). */
export function substitute(text: string, params: Record<number, string>): string {
  return text.replace(/\$(\d+)(?!\d)/g, (whole, n: string) => {
    const value = params[Number(n)];
    if (value === undefined) throw new Error(`no value for ${whole}`);
    return value;
  });
}

/** The DAL's claim (work.claim_ready_tasks), batch 1, straight to 'running'; its row goes to c_* variables. */
function dalClaim(): string {
  return substitute(queries.get('work.claim_ready_tasks').text, {
    1: 'NULL', // worker_id: not given (as in the DAL run)
    2: 'NULL', // agent_id
    3: ':batch_size',
    4: 'NULL', // types
    5: 'NULL', // capability
    6: ':claim_status',
  }).trimEnd();
}

/** The DAL's complete (work.update_task to 'completed' with the output patch), under the claimed version. */
function dalComplete(): string {
  return substitute(queries.get('work.update_task').text, {
    1: ':c_id',
    2: ':c_version',
    3: ':done_status',
    4: ':patch',
    5: ':tokens',
    6: ':cost',
  }).trimEnd();
}

/*
 * Not Agentry's SQL: the shortest statements that do the same cycle on the
 * same table (claim the most urgent queued task, queued -> running; complete
 * it under its version, running -> completed, with the output), returning
 * only id and version. For the diagnosis only: the difference to the DAL's
 * is what its general statements cost (the readiness check, the workflow and
 * agent lock CTEs, the whole-row patch, RETURNING t.*).
 */
const LEAN_CLAIM = `UPDATE agentry.tasks SET status = 'running'
 WHERE id = (SELECT id FROM agentry.tasks WHERE status = 'queued' ORDER BY priority DESC, created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, version`;
const LEAN_COMPLETE = `UPDATE agentry.tasks SET status = 'completed', output = :patch::jsonb -> 'output'
 WHERE id = :c_id AND version = :c_version
RETURNING version`;

/** The pgbench script of one claim -> complete cycle (one pgbench transaction = one task). */
export function cycleScript(claim: 'dal' | 'lean' = 'dal', complete: 'dal' | 'lean' = 'dal'): string {
  return `${claim === 'dal' ? dalClaim() : LEAN_CLAIM}\n\\gset c_\n${complete === 'dal' ? dalComplete() : LEAN_COMPLETE};\n`;
}

export function createScript(): string {
  return `${substitute(queries.get('work.create_tasks').text, { 1: ':tasks' }).trimEnd()};\n`;
}

/** pgbench's version line, or null when it cannot be run (not installed). */
export async function pgbenchVersion(): Promise<string | null> {
  try {
    const { code, stdout } = await runProcess(PGBENCH, ['--version']);
    return code === 0 ? stdout.trim() : null;
  } catch {
    return null;
  }
}

export interface PgbenchResult {
  transactions: number;
  tps: number;
  output: string;
}

export type PgbenchMode = 'extended' | 'prepared';

export async function runPgbench(
  url: string,
  script: string,
  args: { clients: number; transactionsPerClient: number; vars: Record<string, string>; mode?: PgbenchMode },
): Promise<PgbenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'agentry-bq-'));
  try {
    const file = join(dir, 'script.sql');
    await writeFile(file, script);
    const argv = [
      '--no-vacuum',
      '-M', args.mode ?? 'extended',
      '-c', String(args.clients),
      '-j', String(Math.min(args.clients, 2)),
      '-t', String(args.transactionsPerClient),
      '-f', file,
      ...Object.entries(args.vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
      url,
    ];
    const { code, stdout, stderr } = await runProcess(PGBENCH, argv);
    const output = `${stdout}\n${stderr}`;
    const processed = /number of transactions actually processed: (\d+)/.exec(output);
    const tps = /tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)/.exec(output);
    const expected = args.clients * args.transactionsPerClient;
    if (code !== 0 || !processed || !tps || Number(processed[1]) !== expected) {
      throw new Error(`pgbench failed (exit ${code}, ${processed?.[1] ?? '?'} of ${expected} transactions):\n${output.slice(0, 2000)}`);
    }
    return { transactions: Number(processed[1]), tps: Number(tps[1]), output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The JSON array the DAL's createTasks sends for a batch (the same shape, as parsed by its schema). */
function batchJson(batch: number): string {
  return JSON.stringify(Array.from({ length: batch }, (_, n) => ({ title: `task ${n}`, status: 'queued', input: payload(n) })));
}

export const pgbenchSystem: QueueSystem = {
  name: 'pgbench (limit)',

  async install(url) {
    await migrateUp({ databaseUrl: url, lint: false });
  },

  async enqueue(url, count, batch) {
    if (count % batch !== 0) throw new Error(`pgbench enqueues whole batches: ${count} is not a multiple of ${batch}`);
    const result = await runPgbench(url, createScript(), { clients: 1, transactionsPerClient: count / batch, vars: { tasks: batchJson(batch) } });
    return (result.transactions / result.tps) * 1000;
  },

  /** pgbench runs a fixed count (-t): the deadline is not applied (its runs are the shortest). */
  async work(url, workers, count): Promise<WorkResult> {
    return pgbenchCycles(url, workers, count, 'extended');
  },
};

/**
 * The claim -> complete cycle of the DAL's SQL under pgbench. 'prepared'
 * (named statements, planned once per connection) against 'extended' shows
 * what planning every statement afresh costs.
 */
export async function pgbenchCycles(url: string, workers: number, count: number, mode: PgbenchMode, script: string = cycleScript()): Promise<WorkResult> {
  if (count % workers !== 0) throw new Error(`pgbench splits the count evenly: ${count} is not a multiple of ${workers}`);
  const result = await runPgbench(url, script, {
    clients: workers,
    transactionsPerClient: count / workers,
    vars: { batch_size: '1', claim_status: 'running', done_status: 'completed', patch: JSON.stringify({ output: OUTPUT }), tokens: '0', cost: '0' },
    mode,
  });
  return { ms: (result.transactions / result.tps) * 1000, done: result.transactions };
}
