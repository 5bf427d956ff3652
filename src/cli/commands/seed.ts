import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';

import { runSeed, type SeedProgressEvent, type SeedResult } from '../../commands/seed.js';
import { withServer } from '../../db/server.js';
import { withDatabase } from '../../db/url.js';
import { AgentryError } from '../../errors.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_JOBS, DEFAULT_MONTHS, DEFAULT_SEED, MAX_SCALE, MIN_SCALE } from '../../seed/demo/plan.js';
import { describeReferenceChange } from '../../seed/reference-seed.js';
import { globals, printJson, serverOptions } from '../context.js';
import { processIo, type Io } from '../io.js';
import { dateOption, hintMissingDatabase, integerOption } from '../options.js';

interface SeedFlags {
  check?: boolean;
  demo?: boolean;
  scale?: number;
  seed?: number;
  months?: number;
  asOf?: Date;
  reset?: boolean;
  jobs?: number;
  batchSize?: number;
  digest?: boolean;
  progress?: boolean;
}

function scaleOption(value: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value.trim())) throw new AgentryError('usage', `--scale expects a number such as 1 or 0.01, not "${value}"`);
  const n = Number(value);
  if (n < MIN_SCALE || n > MAX_SCALE) throw new AgentryError('usage', `--scale must be between ${MIN_SCALE} and ${MAX_SCALE}, not ${n}`);
  return n;
}

const DEMO_ONLY: ReadonlyArray<keyof SeedFlags> = ['scale', 'seed', 'months', 'asOf', 'reset', 'jobs', 'batchSize'];
const FLAG_NAMES: Record<string, string> = { asOf: '--as-of', batchSize: '--batch-size' };

export function seedCommand(io: Io): Command {
  return new Command('seed')
    .description('restore the reference rows to the shipped values; with --demo, fill a reproducible demo dataset')
    .option('--check', 'only compare the reference rows with the shipped values; exit 1 when they differ')
    .option('--demo', 'also seed the demo dataset (users, fleet, workflows, tasks in every status, telemetry...)')
    .addOption(new Option('--scale <n>', `demo size: 1 = 10,000 tasks and 100,000 metric rows (${MIN_SCALE} to ${MAX_SCALE}; default 1)`).argParser(scaleOption))
    .addOption(new Option('--seed <s>', `demo PRNG seed: the same seed and arguments give the same data (default ${DEFAULT_SEED})`).argParser(integerOption('--seed', 0, 2_147_483_647)))
    .addOption(new Option('--months <m>', `months of history before --as-of (default ${DEFAULT_MONTHS})`).argParser(integerOption('--months', 1, 36)))
    .addOption(
      new Option('--as-of <date>', 'the demo data ends at 00:00 UTC of this day (default: that of the demo data already there, else today)').argParser(
        dateOption('--as-of'),
      ),
    )
    .option('--reset', 'remove the demo data and seed it again even when its arguments are the same')
    .addOption(new Option('--jobs <n>', `connections working at once (default ${DEFAULT_JOBS})`).argParser(integerOption('--jobs', 1, 8)))
    .addOption(
      new Option('--batch-size <n>', `tasks per batch (default ${DEFAULT_BATCH_SIZE}); a batch is one transaction; the data does not depend on it`).argParser(
        integerOption('--batch-size', 32, 1_000_000),
      ),
    )
    .option('--digest', 'print a digest of the content of every table at the end (one scan of each)')
    .option('--progress', 'show progress bars on stderr even when it is not a terminal')
    .addHelpText(
      'after',
      `
Scale: 1 = 10,000 tasks, 100,000 agent_metrics rows, 20,000 activity_logs rows,
5,000 audit_logs rows, 40 agents, 40 users; 100 = 1,000,000 tasks and
10,000,000 metric rows. Re-running with the same arguments changes nothing; a run
that was interrupted (even killed) is finished by the next one with the same
arguments; other arguments (or --reset) remove the previous demo data first.
Runs as a superuser or a member of agentry_owner.`,
    )
    .action(async (flags: SeedFlags, command: Command) => {
      const opts = globals(command);
      if (!flags.demo) {
        const stray = DEMO_ONLY.filter((k) => flags[k] !== undefined);
        if (stray.length > 0) {
          const names = stray.map((k) => FLAG_NAMES[k] ?? `--${k}`);
          throw new AgentryError('usage', `${names.join(', ')} ${names.length === 1 ? 'applies' : 'apply'} to the demo data: add --demo`);
        }
      }
      const showBars = (io === processIo && process.stderr.isTTY === true) || flags.progress === true;
      const bars = showBars ? new ProgressBars(io, io === processIo && process.stderr.isTTY === true) : null;
      let result: SeedResult;
      try {
        result = await withServer(serverOptions(command, io), (server) =>
          runSeed({
            databaseUrl: withDatabase(server.connectionString, opts.database),
            ...(flags.check !== undefined && { check: flags.check }),
            ...(flags.digest !== undefined && { digest: flags.digest }),
            ...(flags.demo && {
              demo: {
                scale: flags.scale ?? 1,
                ...(flags.seed !== undefined && { seed: flags.seed }),
                ...(flags.months !== undefined && { months: flags.months }),
                ...(flags.asOf !== undefined && { asOf: flags.asOf.toISOString().slice(0, 10) }),
                ...(flags.reset !== undefined && { reset: flags.reset }),
                ...(flags.jobs !== undefined && { jobs: flags.jobs }),
                ...(flags.batchSize !== undefined && { batchSize: flags.batchSize }),
              },
            }),
            ...(bars !== null && { onProgress: (event: SeedProgressEvent) => bars.event(event) }),
          }),
        ).catch(hintMissingDatabase);
      } finally {
        bars?.stop();
      }
      if (opts.json) printJson(io, result);
      else io.stdout(formatSeed(result));
      if (flags.check && result.reference.changed) {
        throw new AgentryError(
          'check',
          `reference data differs from the shipped values in ${result.reference.changes.length} row(s); \`agentry seed\` restores them`,
        );
      }
    });
}

/** One bar per phase (batches done), on stderr. */
class ProgressBars {
  private readonly multibar: cliProgress.MultiBar;
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; rows: number }>();

  constructor(io: Io, tty: boolean) {
    const stream = tty
      ? process.stderr
      : // cli-progress writes through this when stderr is not a terminal (--progress): one snapshot every 2 s.
        ({ write: (text: string) => (io.stderr(text), true), isTTY: false, columns: 120 } as unknown as NodeJS.WritableStream);
    this.multibar = new cliProgress.MultiBar(
      {
        stream,
        format: ' {phase} {bar} {value}/{total} batches  {rows} rows  {duration_formatted}',
        barsize: 24,
        hideCursor: tty,
        clearOnComplete: false,
        noTTYOutput: !tty,
        notTTYSchedule: 2000,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  event(e: SeedProgressEvent): void {
    if (e.kind === 'step') {
      this.multibar.log(`${e.step}: ${e.message}\n`);
    } else if (e.kind === 'phase-start') {
      const bar = this.multibar.create(e.batches, e.alreadyDone, { phase: e.phase.padEnd(12), rows: 0 });
      this.bars.set(e.phase, { bar, rows: 0 });
    } else if (e.kind === 'batch') {
      const entry = this.bars.get(e.phase);
      if (!entry) return;
      entry.rows += e.rows;
      entry.bar.update(e.done, { rows: entry.rows.toLocaleString('en-US') });
    } else {
      const entry = this.bars.get(e.phase);
      entry?.bar.update(e.batches, { rows: e.rows.toLocaleString('en-US') });
      entry?.bar.stop();
    }
  }

  stop(): void {
    this.multibar.stop();
  }
}

const num = (n: number): string => n.toLocaleString('en-US');

export function formatSeed(result: SeedResult): string {
  const lines = [`Database: ${result.database}`];
  const ref = result.reference;
  const total = ref.tables.reduce((a, t) => a + t.rows, 0);
  if (!ref.changed) {
    lines.push(`Reference data: ${total} rows in agent_types, task_types and task_status_transitions, as shipped.`);
  } else {
    lines.push(`Reference data: ${ref.changes.length} of ${total} rows ${ref.applied ? 'restored' : 'differ from the shipped values'}:`);
    for (const change of ref.changes) lines.push(`  ${describeReferenceChange(change)}${ref.applied ? '' : ' (not written: --check)'}`);
  }
  for (const t of ref.tables) {
    if (t.extra.length > 0) lines.push(`  ${t.table}: ${t.extra.length} row(s) beyond the shipped ones kept: ${t.extra.join(', ')}`);
  }
  const demo = result.demo;
  if (demo) {
    const a = demo.args;
    const what = demo.action === 'unchanged' ? 'already complete, nothing to do' : demo.action === 'resumed' ? 'resumed and completed' : 'seeded';
    lines.push(`Demo data (seed ${a.seed}, scale ${a.scale}, ${a.months} month${a.months === 1 ? '' : 's'} to ${a.asOf}): ${what} in ${demo.seconds.toFixed(1)} s.`);
    if (demo.removal && demo.removal.mode !== 'none') {
      const removed = Object.values(demo.removal.removed).reduce((x, y) => x + y, 0);
      lines.push(`  Removed the previous demo data first (${demo.removal.mode}): ${num(removed)} rows.`);
    }
    if (demo.auditSkipped) lines.push('  audit_logs already held demo rows of an earlier dataset: kept, none added (append-only).');
    if (demo.phases.length > 0) {
      lines.push('  phase           batches        rows   seconds');
      for (const p of demo.phases) {
        const resumed = p.resumed > 0 ? ` (${p.resumed} done before)` : '';
        lines.push(`  ${p.phase.padEnd(14)} ${String(p.batches).padStart(8)} ${num(p.rows).padStart(11)} ${p.seconds.toFixed(1).padStart(9)}${resumed}`);
      }
    }
    lines.push(`  Demo rows: ${Object.entries(demo.rows).map(([t, n]) => `${t} ${num(n)}`).join(', ')}.`);
  }
  if (result.digest) lines.push(`Content digest: ${result.digest.digest}`);
  lines.push('');
  return lines.join('\n');
}
