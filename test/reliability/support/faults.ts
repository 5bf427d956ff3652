import { spawn, type ChildProcess } from 'node:child_process';

import pg from 'pg';

import { binPath, type CliResult } from '../../helpers/cli.js';

// Shared by the fault tests in test/reliability/: a CLI subprocess the test
// can kill, polling with a deadline, and a look at pg_stat_activity.

export interface Spawned {
  child: ChildProcess;
  /** Settles when the process has exited (never rejects on a non-zero exit). */
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
  /** What the process has written so far. */
  output(): { stdout: string; stderr: string };
}

/**
 * `node bin/agentry.js ...` (the built dist/, as a user runs it) in a
 * subprocess the test can signal. Like runBin: the environment is the test's
 * minus DATABASE_URL and AGENTRY_*, plus `env`.
 */
export function spawnBin(args: string[], options: { cwd: string; env?: Record<string, string> }): Spawned {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'DATABASE_URL' || key.startsWith('AGENTRY_')) continue;
    env[key] = value;
  }
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [binPath, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

/** Polls condition until it holds; throws (naming what) after timeoutMs. */
export async function waitFor(
  what: string | (() => string),
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface Backend {
  pid: number;
  application_name: string;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  query: string | null;
  backend_start: Date;
}

/** Sessions of another process on the database `database` (seen from any connection to the server). */
export async function backendsOn(db: pg.Pool | pg.Client, database: string, applicationName?: string): Promise<Backend[]> {
  const { rows } = await db.query<Backend>(
    `SELECT pid, application_name, state, wait_event_type, wait_event, query, backend_start
       FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        AND ($2::text IS NULL OR application_name = $2::text)
      ORDER BY backend_start, pid`,
    [database, applicationName ?? null],
  );
  return rows;
}

/** A pool on url whose dropped connections never crash the test process. */
export function quietPool(url: string, config: Omit<pg.PoolConfig, 'connectionString'> = {}): pg.Pool {
  const pool = new pg.Pool({ max: 2, ...config, connectionString: url });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
