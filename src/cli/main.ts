import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command, CommanderError, Option, type OutputConfiguration } from 'commander';

import { DEFAULT_DATABASE } from '../commands/demo.js';
import { PROVIDERS } from '../db/server.js';
import { redactSecrets } from '../db/url.js';
import { errorMessage, exitCodeFor } from '../errors.js';
import { packageRoot } from '../migrate/config.js';
import { demoCommand } from './commands/demo.js';
import { docsCommand } from './commands/docs.js';
import { formatCommand } from './commands/format.js';
import { migrateCommand } from './commands/migrate.js';
import { partitionsCommand } from './commands/partitions.js';
import { planCommand } from './commands/plan.js';
import { seedCommand } from './commands/seed.js';
import { typesCommand } from './commands/types.js';
import { verifyCommand } from './commands/verify.js';
import { processIo, type Io } from './io.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Set when commander answers a command group called without its subcommand (it would print the group's help to stderr). */
interface UsageState {
  missingSubcommand?: Command;
}

const commandPath = (cmd: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

/**
 * commander's output, with its usage errors as one line like Agentry's own
 * ("agentry: unknown option '--x' (see agentry migrate up --help)"). With no
 * showHelpAfterError, commander writes to writeErr only the help of a
 * command group called without a subcommand: that is recorded, and main()
 * prints one line instead.
 */
function usageOutput(io: Io, state: UsageState, cmd: Command): OutputConfiguration {
  return {
    writeOut: (s: string) => io.stdout(s),
    writeErr: () => {
      state.missingSubcommand ??= cmd;
    },
    outputError: (s: string) => io.stderr(`agentry: ${s.trim().replace(/^error: /, '')} (see ${commandPath(cmd)} --help)\n`),
  };
}

export function createProgram(io: Io = processIo, usage: UsageState = {}): Command {
  const program = new Command('agentry')
    .description('Agentry: a database-first PostgreSQL toolkit (SQL migrations, typed data access, this CLI)')
    .version(version(), '-V, --version')
    .addOption(new Option('--database-url <url>', 'use this PostgreSQL server (its database is used for maintenance only)').env('DATABASE_URL'))
    .addOption(
      new Option('--provider <provider>', 'where the server comes from (default: url when a URL is given, else embedded)')
        .choices(PROVIDERS)
        .env('AGENTRY_PROVIDER'),
    )
    .addOption(new Option('--data-dir <path>', 'embedded server data directory (default: ./.agentry/pg-<major>)').env('AGENTRY_DATA_DIR'))
    .addOption(new Option('--database <name>', 'database Agentry works on').default(DEFAULT_DATABASE).env('AGENTRY_DATABASE'))
    .addOption(new Option('--migrations-dir <path>', 'migrations folder (default: the one shipped with Agentry)').env('AGENTRY_MIGRATIONS_DIR'))
    .option('--json', 'machine-readable output on stdout', false)
    .option('--verbose', 'server and migration logs on stderr, stack traces on errors', false)
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 check or operation failed, 2 usage or connection error.

Examples:
  agentry demo                                  embedded server, database "agentry"
  agentry --database-url postgres://postgres@127.0.0.1:5432/postgres migrate status
  agentry migrate create add_task_labels
  agentry types --check                         exit 1 when generated/ is stale`,
    );

  program.configureOutput(usageOutput(io, usage, program));
  for (const sub of [migrateCommand(io), demoCommand(io), verifyCommand(io), partitionsCommand(io), planCommand(io), seedCommand(io), docsCommand(io), typesCommand(io), formatCommand(io)]) {
    program.addCommand(sub);
  }
  // Subcommands inherit output routing and exit handling (commander copies
  // these settings only to commands created with .command()).
  const inherit = (cmd: Command): void => {
    for (const child of cmd.commands) {
      child.configureOutput(usageOutput(io, usage, child)).exitOverride();
      inherit(child);
    }
  };
  inherit(program);
  return program;
}

/** Runs the CLI and returns the exit code; never calls process.exit itself. */
export async function main(argv: readonly string[] = process.argv, io: Io = processIo): Promise<number> {
  const usage: UsageState = {};
  const program = createProgram(io, usage);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, -V and `agentry help <command>` (commander.help with exit code 0).
      if (error.exitCode === 0) return 0;
      const group = usage.missingSubcommand;
      if (group) {
        const path = commandPath(group);
        const what = group === program ? 'a command is needed' : `${path.replace(/^agentry /, '')} needs a command`;
        io.stderr(`agentry: ${what}: ${group.commands.map((c) => c.name()).join(', ')} (see ${path} --help)\n`);
      }
      // Otherwise commander has printed its one-line usage error. Usage errors exit 2.
      return 2;
    }
    const opts = program.opts<{ verbose?: boolean; databaseUrl?: string }>();
    const known = [opts.databaseUrl, process.env.DATABASE_URL].filter((u): u is string => Boolean(u));
    io.stderr(`agentry: ${redactSecrets(errorMessage(error), known)}\n`);
    if (opts.verbose && error instanceof Error && error.stack) {
      io.stderr(`${redactSecrets(error.stack, known)}\n`);
    }
    return exitCodeFor(error);
  }
}
