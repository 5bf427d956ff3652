import { Command, Option } from 'commander';

import {
  migrateCreate,
  migrateDown,
  migrateLedger,
  migrateLint,
  migrateRedo,
  migrateStatus,
  migrateUp,
  parseCount,
  type MigrateLedgerResult,
  type MigrateRunOptions,
} from '../../commands/migrate.js';
import { withServer } from '../../db/server.js';
import { withDatabase } from '../../db/url.js';
import { AgentryError, errorMessage } from '../../errors.js';
import { LEDGER_TABLE } from '../../migrate/ledger.js';
import { displayPath, formatFinding, LintFailedError, type LintReport } from '../../migrate/lint.js';
import { DEFAULT_LOCK_WAIT_MS } from '../../migrate/lock.js';
import { globals, migrationLog, printJson, serverOptions } from '../context.js';
import { formatRun, formatStatus, summary } from '../format.js';
import type { Io } from '../io.js';

interface RunFlags {
  lockWait?: string | false;
  lint?: boolean;
  dryRun?: boolean;
}

export function migrateCommand(io: Io): Command {
  const migrate = new Command('migrate')
    .description('apply, revert, inspect, lint and create SQL migrations (bookkeeping in agentry.pgmigrations, checksums beside it)')
    .addHelpText(
      'after',
      `
The target is the database named by --database (default "agentry") on the
server chosen by --database-url / --provider; the database must exist
(\`agentry demo\` creates it).

Checksums: every applied migration's SHA-256 is kept in agentry.${LEDGER_TABLE},
written in the migration's own transaction. \`up\` and \`redo\` refuse to run
while an applied file was edited or removed (exit 1); \`status\` shows them.

Lint: \`up\` and \`redo\` lint what they are about to apply with squawk
(.squawk.toml; reviewed findings of published migrations in
.squawk-accepted.json); a finding blocks the run (exit 1).

Lock: one run at a time per database (node-pg-migrate's advisory lock). A second
run waits up to ${DEFAULT_LOCK_WAIT_MS / 1000}s (--lock-wait <seconds>), or fails at once with
--no-lock-wait, exit 1: "another agentry migrate is running on <database>".`,
    );

  const lockOptions = (cmd: Command) =>
    cmd
      .addOption(new Option('--lock-wait <seconds>', `wait this long for another migrate run on the database (default ${DEFAULT_LOCK_WAIT_MS / 1000})`))
      .addOption(new Option('--no-lock-wait', 'fail at once (exit 1) if another migrate run holds the lock'));
  const dryRunOption = () => new Option('--dry-run', 'print the SQL that would run, with the file names, and change nothing');
  const noLintOption = () => new Option('--no-lint', 'do not lint with squawk before applying (prints a warning)');

  lockOptions(
    migrate
      .command('up')
      .description('lint, then apply pending migrations in order, one transaction each')
      .argument('[n]', 'how many to apply (default: all pending)')
      .addOption(dryRunOption())
      .addOption(noLintOption()),
  ).action(async (n: string | undefined, options: RunFlags, command: Command) => {
    await runDirection('up', n, options, command, io);
  });

  lockOptions(
    migrate
      .command('down')
      .description('revert the most recently applied migrations, newest first')
      .argument('[n]', 'how many to revert, or "all"', '1')
      .addOption(dryRunOption()),
  ).action(async (n: string, options: RunFlags, command: Command) => {
    await runDirection('down', n, options, command, io);
  });

  lockOptions(
    migrate
      .command('redo')
      .description('revert the newest applied migration and apply it again (down 1, then up 1, under one lock)')
      .addOption(dryRunOption())
      .addOption(noLintOption()),
  ).action(async (options: RunFlags, command: Command) => {
    await runDirection('redo', undefined, options, command, io);
  });

  migrate
    .command('status')
    .description('applied, pending and tampered (edited or removed after being applied) migrations; writes nothing')
    .option('--check', 'exit 1 unless the database is up to date and untampered')
    .action(async (options: { check?: boolean }, command: Command) => {
      const opts = globals(command);
      const status = await withServer(serverOptions(command, io), (server) =>
        migrateStatus({
          databaseUrl: withDatabase(server.connectionString, opts.database),
          ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
        }),
      ).catch(hintMissingDatabase);
      if (opts.json) printJson(io, status);
      else io.stdout(formatStatus(status));
      if (options.check && !status.upToDate) {
        throw new AgentryError('check', `database "${opts.database}" is not up to date: ${summary(status)}`);
      }
    });

  migrate
    .command('create')
    .description('write a new migrations/<timestamp>_<name>.sql with Up and Down sections (and lock/statement timeouts)')
    .argument('<name>', 'short snake_case description, e.g. create_tasks')
    .action(async (name: string, _options: unknown, command: Command) => {
      const opts = globals(command);
      const file = await migrateCreate({ name, ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }) });
      if (opts.json) printJson(io, file);
      else io.stdout(`Created ${file.path}\n`);
    });

  migrate
    .command('lint')
    .description('lint migrations (their Up sections) with squawk; exit 1 on findings; needs no database')
    .argument('[files...]', 'migration files, file names or names in the migrations folder (default: all)')
    .action(async (files: string[], _options: unknown, command: Command) => {
      const opts = globals(command);
      const report = await migrateLint({ files, ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }) });
      if (opts.json) printJson(io, report);
      else io.stdout(formatLint(report));
      if (!report.ok) {
        throw new AgentryError('check', `squawk found ${report.findings.length} problem${report.findings.length === 1 ? '' : 's'} (listed above); fix them or acknowledge each reviewed one with a \`-- squawk-ignore <rule>\` comment`);
      }
    });

  lockOptions(
    migrate
      .command('ledger')
      .description('check the checksum ledger (exit 1 if an applied migration was edited or removed), or re-record checksums with --accept')
      .addOption(new Option('--accept <names...>', 'after reviewing the edit, record the current checksum of these applied migrations')),
  ).action(async (options: RunFlags & { accept?: string[] }, command: Command) => {
    const opts = globals(command);
    const result = await withServer(serverOptions(command, io), (server) =>
      migrateLedger({
        databaseUrl: withDatabase(server.connectionString, opts.database),
        ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
        ...(options.accept && { accept: options.accept }),
        lockWaitMs: lockWaitMs(options.lockWait),
        onNotice: notice(io),
      }),
    ).catch(hintMissingDatabase);
    if (opts.json) printJson(io, result);
    else io.stdout(formatLedger(result));
    if (!result.ok) {
      const names = result.tampered.map((t) => t.name).join(', ');
      throw new AgentryError('check', `the ledger does not match the files: ${names}; restore them, or after review run \`agentry migrate ledger --accept <name>\``);
    }
  });

  return migrate;
}

function notice(io: Io): (message: string) => void {
  return (message) => io.stderr(`agentry: ${message}\n`);
}

function lockWaitMs(value: string | false | undefined): number {
  if (value === false) return 0;
  if (value === undefined) return DEFAULT_LOCK_WAIT_MS;
  if (!/^\d+(\.\d+)?$/.test(value)) throw new AgentryError('usage', `invalid --lock-wait "${value}": expected seconds (0 or more)`);
  return Math.round(Number(value) * 1000);
}

async function runDirection(direction: 'up' | 'down' | 'redo', n: string | undefined, options: RunFlags, command: Command, io: Io): Promise<void> {
  const opts = globals(command);
  const count = n === undefined ? undefined : parseCount(n);
  const wait = lockWaitMs(options.lockWait);
  const onLog = migrationLog(command, io);
  if (options.lint === false) {
    io.stderr('agentry: warning: --no-lint: migrations are applied without squawk\'s checks\n');
  }
  const result = await withServer(serverOptions(command, io), (server) => {
    const args: MigrateRunOptions = {
      databaseUrl: withDatabase(server.connectionString, opts.database),
      lockWaitMs: wait,
      lint: options.lint !== false,
      dryRun: options.dryRun === true,
      onNotice: notice(io),
      ...(count !== undefined && { count }),
      ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
      ...(onLog !== undefined && { onLog }),
    };
    return direction === 'up' ? migrateUp(args) : direction === 'down' ? migrateDown(args) : migrateRedo(args);
  })
    .catch(hintMissingDatabase)
    .catch((error: unknown) => {
      // Lint findings are the useful part of the failure: print them before the one-line error.
      if (error instanceof LintFailedError) {
        if (opts.json) printJson(io, { error: error.message, lint: error.report });
        else io.stderr(error.report.findings.map((f) => `${formatFinding(f)}\n`).join(''));
      }
      throw error;
    });
  if (opts.json) printJson(io, result);
  else io.stdout(formatRun(result));
}

function formatLint(report: LintReport): string {
  const lines = report.findings.map(formatFinding);
  const accepted = report.accepted.length;
  lines.push(
    `squawk: ${report.linted.length} migration${report.linted.length === 1 ? '' : 's'} linted, ${report.findings.length} problem${report.findings.length === 1 ? '' : 's'}` +
      (accepted > 0 ? `, ${accepted} reviewed finding${accepted === 1 ? '' : 's'} accepted in ${displayPath(report.acceptedFile ?? '')}` : '') +
      ` (config ${displayPath(report.config)})`,
  );
  for (const stale of report.unusedAccepted) {
    lines.push(`note: accepted ${stale.rule} at ${stale.at.join(', ')} matched nothing; remove it from ${displayPath(report.acceptedFile ?? '')}`);
  }
  lines.push('');
  return lines.join('\n');
}

function formatLedger(result: MigrateLedgerResult): string {
  const lines = [`Database:   ${result.database}`, `Migrations: ${result.migrationsDir}`];
  for (const a of result.accepted) {
    lines.push(`  accepted  ${a.name}  sha256 ${a.sha256}${a.previousSha256 ? ` (was ${a.previousSha256})` : ''}`);
  }
  for (const t of result.tampered) {
    lines.push(
      t.kind === 'edited'
        ? `  edited    ${t.name}  recorded ${t.recordedSha256 ?? '-'}, file now ${t.actualSha256 ?? '-'}`
        : `  missing   ${t.name}  applied ${t.runOn.toISOString()}, file not in the folder`,
    );
  }
  for (const name of result.unrecorded) lines.push(`  unrecorded ${name}  (recorded by the next migrate up)`);
  lines.push(
    result.ledger
      ? `Ledger: ${result.applied} applied, ${result.tampered.length} tampered, ${result.unrecorded.length} without checksum${result.ok ? ' (ok)' : ''}`
      : `Ledger: agentry.${LEDGER_TABLE} does not exist yet (the next migrate up creates it and records ${result.unrecorded.length} checksum${result.unrecorded.length === 1 ? '' : 's'})`,
    '',
  );
  return lines.join('\n');
}

/** `migrate` never creates the database; say what does. */
function hintMissingDatabase(error: unknown): never {
  if (error instanceof AgentryError && /database ".*" does not exist/.test(error.message)) {
    throw new AgentryError(error.kind, `${errorMessage(error)} (\`agentry demo\` creates it)`, { cause: error });
  }
  throw error;
}
