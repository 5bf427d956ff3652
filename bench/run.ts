/**
 * npm run bench [-- --quick] [--only queue,ingest,...] [--rounds n] [--write-docs]
 *
 * Runs the benchmark sections in order (queue, ingest, export, queries,
 * tooling) against DATABASE_URL / --database-url, or an embedded server it
 * starts and stops. Each section's comparisons and bars go to stdout,
 * progress to stderr, and its result to bench/results/<id>.json (--quick: reports/bench/); with
 * --write-docs, docs/performance.md is rendered from every section JSON
 * present. Exit 0 when everything ran (bars not met are reported, not
 * failures), 1 when a section failed, 2 on usage errors.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import { openServer, serverOptionsFromEnv, type OpenServerOptions } from '../src/db/server.js';
import { redactSecrets, redactUrl } from '../src/db/url.js';
import { formatComparison } from './lib/harness.js';
import { dropStaleScratch } from './lib/scratch.js';
import { formatBars, groupNotes, renderPerformanceDoc, SECTION_ORDER, type MachineInfo, type SavedSection } from './lib/report.js';
import type { BenchContext, BenchSection, Workload } from './lib/types.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchOptions {
  quick?: boolean;
  /** Section ids to run (default all, in SECTION_ORDER). */
  only?: string[];
  /** Rounds per comparison (default 3 full, 1 quick). */
  rounds?: number;
  /** Server URL (maintenance database); default DATABASE_URL, else an embedded server. */
  databaseUrl?: string;
  /** queries: the seeded scale-100 database to reuse or create (default agentry_bench_s100). */
  scaleDb?: string;
  /** Render docs/performance.md from every section JSON in reportsDir afterwards. */
  writeDocs?: boolean;
  /** Where section JSONs go (default bench/results, committed; reports/bench for --quick). */
  reportsDir?: string;
  /** The document written with writeDocs (default docs/performance.md). */
  docsPath?: string;
  /** Recorded with each section (e.g. "provisional: the machine was busy"). */
  note?: string;
  /** The command line recorded with each section. */
  command?: string;
  /** Progress (default stderr). */
  log?: (line: string) => void;
  /** Results (default stdout). */
  print?: (text: string) => void;
}

export interface BenchRunResult {
  sections: SavedSection[];
  errors: { id: string; message: string }[];
  docsWritten?: string;
}

export const DEFAULT_SCALE_DB = 'agentry_bench_s100';

/** Connection strings seen by this process, whose passwords are blanked out of any message printed. */
const knownUrls: string[] = [process.env.DATABASE_URL ?? ''].filter(Boolean);
const redact = (text: string) => redactSecrets(text, knownUrls);

/** Loads a section's workload only when it runs (the queue contenders pull in pg-boss and graphile-worker). */
async function loadWorkload(id: string, options: BenchOptions): Promise<Workload> {
  switch (id) {
    case 'queue':
      return (await import('./workloads/queue.js')).queueWorkload;
    case 'ingest':
      return (await import('./workloads/ingest.js')).ingestWorkload;
    case 'export':
      return (await import('./workloads/export.js')).exportWorkload;
    case 'queries':
      return (await import('./workloads/queries.js')).makeQueriesWorkload({ scaleDb: options.scaleDb ?? DEFAULT_SCALE_DB });
    case 'tooling':
      return (await import('./workloads/tooling.js')).toolingWorkload;
    default:
      throw new Error(`unknown section ${id}`);
  }
}

function machineInfo(serverVersion: string, server: string): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${os.platform()} ${os.release()}`,
    node: process.versions.node,
    postgres: serverVersion,
    server,
  };
}

/** Every section JSON in `dir` (the last saved result of each section). */
export function readSavedSections(dir: string): SavedSection[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as SavedSection);
}

export function printSection(section: BenchSection): string {
  const parts = [`== ${section.title} (${section.id})`];
  for (const { result, reference } of section.comparisons) parts.push(formatComparison(result, reference));
  parts.push(...groupNotes(section.notes).map((g) => g.lines.join('\n')));
  if (section.bars.length) parts.push(formatBars(section.bars));
  return `${parts.join('\n\n')}\n`;
}

/**
 * Full runs save their sections in bench/results/, which is committed: docs/performance.md is rendered from
 * it, so any checkout can re-render the document and see the figures it was made from. Quick runs (CI's
 * harness check) go to reports/bench/, which is not.
 */
export function defaultResultsDir(quick: boolean): string {
  return quick ? join(ROOT, 'reports', 'bench') : join(ROOT, 'bench', 'results');
}

/** Renders the document from the saved section JSONs alone (--docs-only). */
export function writeDocs(reportsDir: string, docsPath: string): string {
  writeFileSync(docsPath, renderPerformanceDoc(readSavedSections(reportsDir)));
  return docsPath;
}

export async function runBench(options: BenchOptions = {}): Promise<BenchRunResult> {
  const quick = options.quick ?? false;
  const rounds = options.rounds ?? (quick ? 1 : 3);
  const ids = options.only?.length ? SECTION_ORDER.filter((id) => options.only!.includes(id)) : SECTION_ORDER;
  const unknown = (options.only ?? []).filter((id) => !SECTION_ORDER.includes(id));
  if (unknown.length) throw new InvalidArgumentError(`unknown section ${unknown.join(', ')}: expected ${SECTION_ORDER.join(', ')}`);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const print = options.print ?? ((text: string) => process.stdout.write(text));
  const reportsDir = options.reportsDir ?? defaultResultsDir(quick);
  const command = options.command ?? 'npm run bench';

  const serverOptions: OpenServerOptions = options.databaseUrl ? { databaseUrl: options.databaseUrl } : serverOptionsFromEnv();
  log(`bench: opening the server (${serverOptions.databaseUrl ? 'url' : (serverOptions.provider ?? 'embedded')})`);
  if (serverOptions.databaseUrl) knownUrls.push(serverOptions.databaseUrl);
  const server = await openServer({ ...serverOptions, onNotice: log });
  knownUrls.push(server.connectionString);
  const machine = machineInfo(server.serverVersion, server.provider === 'url' ? `server given by URL` : server.description.replace(/ \(data .*\)$/, ''));
  const result: BenchRunResult = { sections: [], errors: [] };
  try {
    const stale = await dropStaleScratch(server.connectionString);
    if (stale.length) log(`bench: dropped ${stale.length} scratch database(s) of runs no longer alive`);
    const ctx: BenchContext = { adminUrl: server.connectionString, quick, rounds, log };
    mkdirSync(reportsDir, { recursive: true });
    for (const id of ids) {
      const startedAt = new Date();
      const loadStart = os.loadavg()[0] ?? 0;
      const t0 = performance.now();
      log(`bench: section ${id}${quick ? ' (quick)' : ''}, ${rounds} round(s)`);
      try {
        const workload = await loadWorkload(id, options);
        const section = await workload(ctx);
        const saved: SavedSection = {
          section,
          command,
          startedAt: startedAt.toISOString(),
          seconds: Math.round((performance.now() - t0) / 100) / 10,
          quick,
          rounds,
          machine,
          load: { start: loadStart, end: os.loadavg()[0] ?? 0 },
          ...(options.note !== undefined && { note: options.note }),
        };
        writeFileSync(join(reportsDir, `${id}.json`), `${JSON.stringify(saved, null, 2)}\n`);
        result.sections.push(saved);
        print(printSection(section));
        log(`bench: section ${id} done in ${saved.seconds} s`);
      } catch (error) {
        const message = redact(error instanceof Error ? (error.stack ?? error.message) : String(error));
        result.errors.push({ id, message });
        log(`bench: section ${id} FAILED: ${message}`);
      }
    }
  } finally {
    await server.stop();
  }
  if (options.writeDocs) {
    const docsPath = options.docsPath ?? join(ROOT, 'docs', 'performance.md');
    result.docsWritten = writeDocs(reportsDir, docsPath);
    log(`bench: wrote ${docsPath}`);
  }
  return result;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function benchProgram(): Command {
  return new Command('bench')
    .description('Agentry benchmarks: queue, ingest, export, named queries at scale, tooling wall times')
    .option('--quick', 'tiny sizes and one round: proves every section runs (CI), not the figures', false)
    .option('--only <sections>', `comma-separated sections to run (${SECTION_ORDER.join(', ')}); default all`, (v: string) =>
      v.split(',').map((s) => s.trim()).filter(Boolean),
    )
    .option('--rounds <n>', 'rounds per comparison, contenders alternated (default 3, quick 1)', positiveInt)
    .addOption(new Option('--database-url <url>', 'server under test (its database for maintenance only); default: an embedded server').env('DATABASE_URL'))
    .option('--scale-db <name>', `queries: the scale-100 demo database to reuse (or seed) (default ${DEFAULT_SCALE_DB})`)
    .option('--write-docs', 'render docs/performance.md from every bench/results/*.json afterwards', false)
    .option('--docs-only', 'run nothing: only render docs/performance.md from the saved bench/results/*.json', false)
    .option('--reports-dir <dir>', 'where each section result is saved as <id>.json (default bench/results, committed; --quick: reports/bench)')
    .option('--note <text>', 'a remark saved with each section and shown in the docs (e.g. "provisional: machine busy")')
    .addHelpText(
      'after',
      `
Sizes (full / --quick): ingest 1,000,000 / 20,000 rows; export 10,000,000 / 20,000 rows;
queries: 50 / 5 runs of each sql/queries statement on a scale-100 / scale-0.02 demo database;
tooling: CLI wall times (migrate, verify, types --check, demo), scale 1 vs 10 / 0.005 vs 0.05.

Exit codes: 0 every section ran (bars not met are reported, not failures), 1 a section failed, 2 usage.

Examples:
  npm run bench -- --quick
  npm run bench -- --only ingest,export --rounds 5
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench -- --write-docs
  npm run bench -- --docs-only                  re-render docs/performance.md from bench/results/*.json`,
    );
}

/** The CLI: parses argv, runs, returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = benchProgram().exitOverride();
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  const flags = program.opts<{
    quick: boolean;
    only?: string[];
    rounds?: number;
    databaseUrl?: string;
    scaleDb?: string;
    writeDocs: boolean;
    docsOnly: boolean;
    reportsDir?: string;
    note?: string;
  }>();
  if (flags.docsOnly) {
    const reportsDir = flags.reportsDir !== undefined ? resolve(flags.reportsDir) : defaultResultsDir(false);
    const n = readSavedSections(reportsDir).length;
    if (n === 0) {
      process.stderr.write(`bench: no section results in ${reportsDir}: run some sections first\n`);
      return 1;
    }
    process.stderr.write(`bench: wrote ${writeDocs(reportsDir, join(ROOT, 'docs', 'performance.md'))} from ${n} section result(s)\n`);
    return 0;
  }
  try {
    const result = await runBench({
      quick: flags.quick,
      writeDocs: flags.writeDocs,
      command: `npm run bench${argv.length > 2 ? ` -- ${argv.slice(2).map(quoteArg).join(' ')}` : ''}`,
      ...(flags.only !== undefined && { only: flags.only }),
      ...(flags.rounds !== undefined && { rounds: flags.rounds }),
      ...(flags.databaseUrl !== undefined && { databaseUrl: flags.databaseUrl }),
      ...(flags.scaleDb !== undefined && { scaleDb: flags.scaleDb }),
      ...(flags.reportsDir !== undefined && { reportsDir: resolve(flags.reportsDir) }),
      ...(flags.note !== undefined && { note: flags.note }),
    });
    for (const e of result.errors) process.stderr.write(`bench: ${e.id} failed\n`);
    return result.errors.length ? 1 : 0;
  } catch (error) {
    if (error instanceof InvalidArgumentError) {
      process.stderr.write(`bench: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`bench: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
}

/** Quotes an argument for the recorded command line when it needs it (never a URL with a password: see redactSecrets). */
function quoteArg(arg: string): string {
  const safe = /^postgres(ql)?:\/\//.test(arg) ? redactUrl(arg) : arg;
  return /^[\w@%+=:,./-]+$/.test(safe) ? safe : `'${safe.replace(/'/g, `'\\''`)}'`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv);
}
