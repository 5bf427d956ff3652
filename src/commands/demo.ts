import { createDatabase } from '../db/admin.js';
import { assertSimpleDatabaseName } from '../db/identifiers.js';
import { openServer, type OpenServerOptions, type Provider } from '../db/server.js';
import { redactUrl, withDatabase } from '../db/url.js';
import type { AppliedMigration } from '../migrate/runner.js';
import { migrateStatus, migrateUp, type MigrateStatusResult } from './migrate.js';

export const DEFAULT_DATABASE = 'agentry';

export interface DemoOptions {
  server?: OpenServerOptions;
  /** Database to create and migrate (default "agentry"). */
  database?: string;
  migrationsDir?: string;
  onLog?: (line: string) => void;
  /** What migrate tells a person besides the result (waiting for the lock, backfilled checksums). */
  onNotice?: (message: string) => void;
}

export interface DemoResult {
  provider: Provider;
  server: string;
  serverVersion: string;
  database: string;
  databaseCreated: boolean;
  applied: AppliedMigration[];
  status: MigrateStatusResult;
  /** Whether a server started by this run was stopped again (false for --database-url: not ours). */
  serverStopped: boolean;
}

/**
 * The main job: get a server (embedded unless told otherwise), make sure the
 * Agentry database exists, migrate it to head, report, and stop what we started.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const database = assertSimpleDatabaseName(options.database ?? DEFAULT_DATABASE);
  const server = await openServer(options.server ?? {});
  try {
    const databaseCreated = await createDatabase(server.connectionString, database, { ifNotExists: true });
    const target = {
      databaseUrl: withDatabase(server.connectionString, database),
      ...(options.migrationsDir !== undefined && { migrationsDir: options.migrationsDir }),
    };
    const up = await migrateUp({
      ...target,
      ...(options.onLog !== undefined && { onLog: options.onLog }),
      ...(options.onNotice !== undefined && { onNotice: options.onNotice }),
    });
    const status = await migrateStatus(target);
    return {
      provider: server.provider,
      server: server.provider === 'url' ? redactUrl(server.connectionString) : server.description,
      serverVersion: server.serverVersion,
      database,
      databaseCreated,
      applied: up.migrations,
      status,
      serverStopped: server.provider !== 'url',
    };
  } finally {
    await server.stop();
  }
}
