import { randomBytes } from 'node:crypto';

import { createDatabase, dropDatabase } from '../db/admin.js';
import { withDatabase } from '../db/url.js';
import { migrateUp } from '../commands/migrate.js';

export interface ScratchOptions {
  /** Default: the migrations/ folder shipped with Agentry. */
  migrationsDir?: string;
  /** node-pg-migrate's progress lines. */
  onLog?: (line: string) => void;
}

/** Scratch databases are named agentry_scratch_<pid>_<random>. */
export function scratchDatabaseName(): string {
  return `agentry_scratch_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/**
 * Creates a throw-away database on the server behind adminUrl, migrates it to
 * head, runs fn with its URL, and always drops it again (WITH (FORCE)). The
 * reference that `agentry verify` (drift) and `agentry docs` read.
 */
export async function withScratchDatabase<T>(adminUrl: string, options: ScratchOptions, fn: (databaseUrl: string) => Promise<T>): Promise<T> {
  const name = scratchDatabaseName();
  await createDatabase(adminUrl, name);
  try {
    const databaseUrl = withDatabase(adminUrl, name);
    // The same path as `agentry migrate up`, bookkeeping included; linting is
    // for migrations about to reach a real database, not for a throw-away reference.
    await migrateUp({
      databaseUrl,
      lint: false,
      ...(options.migrationsDir !== undefined && { migrationsDir: options.migrationsDir }),
      ...(options.onLog !== undefined && { onLog: options.onLog }),
    });
    return await fn(databaseUrl);
  } finally {
    await dropDatabase(adminUrl, name).catch(() => undefined);
  }
}
