import type { Command } from 'commander';

import type { OpenServerOptions, Provider } from '../db/server.js';
import type { Io } from './io.js';

/** Options defined on the root program, available to every subcommand. */
export interface GlobalOptions {
  databaseUrl?: string;
  provider?: Provider;
  dataDir?: string;
  database: string;
  migrationsDir?: string;
  json: boolean;
  verbose: boolean;
}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/**
 * Server options from flags and environment. An explicit provider (flag or
 * AGENTRY_PROVIDER) wins over a DATABASE_URL that merely sits in the
 * environment; a --database-url flag together with a non-url provider is a
 * contradiction that openServer() reports.
 */
export function serverOptions(command: Command, io: Io): OpenServerOptions {
  const opts = globals(command);
  const urlSource = command.getOptionValueSourceWithGlobals('databaseUrl');
  const ignoreEnvUrl = opts.provider !== undefined && opts.provider !== 'url' && urlSource === 'env';
  return {
    ...(opts.provider !== undefined && { provider: opts.provider }),
    ...(opts.databaseUrl !== undefined && !ignoreEnvUrl && { databaseUrl: opts.databaseUrl }),
    ...(opts.dataDir !== undefined && { dataDir: opts.dataDir }),
    ...(process.env.AGENTRY_TESTCONTAINERS_IMAGE && { image: process.env.AGENTRY_TESTCONTAINERS_IMAGE }),
    onNotice: (message) => io.stderr(`${message}\n`),
    ...(opts.verbose && { onLog: (line: string) => io.stderr(`[postgres] ${line}\n`) }),
  };
}

/** node-pg-migrate's progress lines: shown with --verbose only. */
export function migrationLog(command: Command, io: Io): ((line: string) => void) | undefined {
  return globals(command).verbose ? (line) => io.stderr(`[migrate] ${line}\n`) : undefined;
}

export function printJson(io: Io, data: unknown): void {
  io.stdout(`${JSON.stringify(data, null, 2)}\n`);
}
