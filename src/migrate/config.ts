import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every Agentry object lives in this schema, node-pg-migrate's bookkeeping table included. */
export const AGENTRY_SCHEMA = 'agentry';
export const MIGRATIONS_TABLE = 'pgmigrations';

/**
 * The package root, found from this module's own location so the shipped
 * migrations are found wherever Agentry is installed and whatever the cwd:
 * src/migrate/config.ts (tsx, vitest) and dist/migrate/config.js (built) are
 * both two levels below it.
 */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function defaultMigrationsDir(): string {
  return join(packageRoot(), 'migrations');
}

export function resolveMigrationsDir(dir?: string): string {
  return dir ? resolve(dir) : defaultMigrationsDir();
}
