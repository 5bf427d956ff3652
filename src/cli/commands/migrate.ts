import { Command, Option } from 'commander';

import { migrateCreate, migrateDown, migrateStatus, migrateUp, parseCount } from '../../commands/migrate.js';
import { withServer } from '../../db/server.js';
import { withDatabase } from '../../db/url.js';
import { AgentryError, errorMessage } from '../../errors.js';
import type { LockMode } from '../../migrate/runner.js';
import { globals, migrationLog, printJson, serverOptions } from '../context.js';
import { formatRun, formatStatus, summary } from '../format.js';
import type { Io } from '../io.js';

export function migrateCommand(io: Io): Command {
  const migrate = new Command('migrate')
    .description('apply, revert, inspect and create SQL migrations (bookkeeping in agentry.pgmigrations)')
    .addHelpText(
      'after',
      `
The target is the database named by --database (default "agentry") on the
server chosen by --database-url / --provider; the database must exist
(\`agentry demo\` creates it).`,
    );

  const lockOption = () => new Option('--lock-wait', 'wait for a concurrent migration run to finish instead of failing');

  migrate
    .command('up')
    .description('apply pending migrations, in order, one transaction each')
    .argument('[n]', 'how many to apply (default: all pending)')
    .addOption(lockOption())
    .action(async (n: string | undefined, options: { lockWait?: boolean }, command: Command) => {
      await runDirection('up', n, options, command, io);
    });

  migrate
    .command('down')
    .description('revert the most recently applied migrations, newest first')
    .argument('[n]', 'how many to revert, or "all"', '1')
    .addOption(lockOption())
    .action(async (n: string, options: { lockWait?: boolean }, command: Command) => {
      await runDirection('down', n, options, command, io);
    });

  migrate
    .command('status')
    .description('list applied and pending migrations (compares the folder with agentry.pgmigrations)')
    .option('--check', 'exit 1 unless the database is up to date')
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
    .description('write a new migrations/<timestamp>_<name>.sql with empty Up and Down sections')
    .argument('<name>', 'short snake_case description, e.g. create_tasks')
    .action(async (name: string, _options: unknown, command: Command) => {
      const opts = globals(command);
      const file = await migrateCreate({ name, ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }) });
      if (opts.json) printJson(io, file);
      else io.stdout(`Created ${file.path}\n`);
    });

  return migrate;
}

async function runDirection(
  direction: 'up' | 'down',
  n: string | undefined,
  options: { lockWait?: boolean },
  command: Command,
  io: Io,
): Promise<void> {
  const opts = globals(command);
  const count = n === undefined ? undefined : parseCount(n);
  const lockMode: LockMode = options.lockWait ? 'wait' : 'fail';
  const onLog = migrationLog(command, io);
  const result = await withServer(serverOptions(command, io), (server) => {
    const args = {
      databaseUrl: withDatabase(server.connectionString, opts.database),
      lockMode,
      ...(count !== undefined && { count }),
      ...(opts.migrationsDir !== undefined && { migrationsDir: opts.migrationsDir }),
      ...(onLog !== undefined && { onLog }),
    };
    return direction === 'up' ? migrateUp(args) : migrateDown(args);
  }).catch(hintMissingDatabase);
  if (opts.json) printJson(io, result);
  else io.stdout(formatRun(result));
}

/** `migrate` never creates the database; say what does. */
function hintMissingDatabase(error: unknown): never {
  if (error instanceof AgentryError && /database ".*" does not exist/.test(error.message)) {
    throw new AgentryError(error.kind, `${errorMessage(error)} (\`agentry demo\` creates it)`, { cause: error });
  }
  throw error;
}
