import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every Agentry object lives in this schema, node-pg-migrate's bookkeeping table included. */
export const AGENTRY_SCHEMA = 'agentry';
export const MIGRATIONS_TABLE = 'pgmigrations';

/**
 * The package root, found from this module's own location so the shipped
 * migrations are found wherever Agentry is installed and whatever the cwd:
 * the nearest folder above this module that holds a package.json, which is
 * the root both for src/migrate/config.ts (tsx, vitest) and for
 * dist/src/migrate/config.js (built).
 */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(here, '..', '..');
  }
}

export function defaultMigrationsDir(): string {
  return join(packageRoot(), 'migrations');
}

export function resolveMigrationsDir(dir?: string): string {
  return dir ? resolve(dir) : defaultMigrationsDir();
}
