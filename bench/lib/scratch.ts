/** Scratch databases for the benchmarks: created (and migrated) on the server under test, dropped afterwards. */
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { migrateUp } from '../../src/commands/migrate.js';
import { createDatabase, dropDatabase, listDatabases } from '../../src/db/admin.js';
import { withDatabase } from '../../src/db/url.js';
import { seedReferenceData } from '../../src/seed/reference-seed.js';

export interface ScratchDatabase {
  name: string;
  /** Superuser URL of the scratch database. */
  url: string;
  drop(): Promise<void>;
}

/** Every scratch database starts with this prefix (never the name of a database someone keeps). */
export const SCRATCH_PREFIX = 'bench_tmp_';

/**
 * Creates `bench_tmp_<purpose>_<pid>_<random>`; migrated to head (lint off:
 * the migrations are linted by their own tests) with the reference rows
 * seeded unless `migrated: false`.
 */
export async function scratchDatabase(adminUrl: string, purpose: string, options: { migrated?: boolean } = {}): Promise<ScratchDatabase> {
  const name = `${SCRATCH_PREFIX}${purpose}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await createDatabase(adminUrl, name);
  const url = withDatabase(adminUrl, name);
  const drop = () => dropDatabase(adminUrl, name);
  try {
    if (options.migrated !== false) {
      await migrateUp({ databaseUrl: url, lint: false });
      await withPgClient(url, (client) => seedReferenceData(client));
    }
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
  return { name, url, drop };
}

/** Drops scratch databases left by bench runs that are no longer alive (killed mid-run). Returns their names. */
export function dropStaleScratch(adminUrl: string): Promise<string[]> {
  return dropDatabasesOfGoneRuns(adminUrl, `${SCRATCH_PREFIX}%`, (name) => /_(\d+)_[0-9a-f]{6}$/.exec(name)?.[1]);
}

/**
 * Drops the databases matching `like` whose name carries the pid (`pidOf`) of
 * a bench process that is gone (a killed run), never one of this process nor
 * of a live one. Returns their names.
 */
export async function dropDatabasesOfGoneRuns(adminUrl: string, like: string, pidOf: (name: string) => string | undefined): Promise<string[]> {
  const stale = (await listDatabases(adminUrl, like)).filter((name) => {
    const pid = Number(pidOf(name));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
  for (const name of stale) await dropDatabase(adminUrl, name);
  return stale;
}

/** Runs fn with a connected client, always closing it. */
export async function withPgClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'agentry-bench' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Milliseconds since `started` (a performance.now() value). */
export const since = (started: number): number => performance.now() - started;

/** Formats a count with thousands separators. */
export const count = (n: number): string => Math.round(n).toLocaleString('en-US');
