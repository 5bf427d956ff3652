import { PG_MIGRATE_LOCK_ID } from 'node-pg-migrate';
import pg from 'pg';

import { connectionError } from '../db/admin.js';
import { redactUrl } from '../db/url.js';
import { AgentryError } from '../errors.js';

/** How long `agentry migrate` waits by default for another run to release the lock. */
export const DEFAULT_LOCK_WAIT_MS = 60_000;
export const APPLICATION_NAME = 'agentry migrate';
const POLL_MS = 200;

export interface LockOptions {
  /** 0: fail at once when the lock is taken; otherwise poll for up to this long. Default 60 s. */
  lockWaitMs?: number;
  /** Told once when the lock is taken and we start waiting. */
  onNotice?: (message: string) => void;
}

interface Holder {
  pid: number;
  application_name: string | null;
  backend_start: Date | null;
}

/**
 * Who holds node-pg-migrate's advisory lock in this database. A bigint
 * advisory key shows in pg_locks as classid (high 32 bits), objid (low 32
 * bits) and objsubid 1.
 */
async function lockHolder(client: pg.Client): Promise<Holder | undefined> {
  const { rows } = await client.query<Holder>(
    `SELECT l.pid, a.application_name, a.backend_start
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = oid($1::bigint >> 32) AND l.objid = oid($1::bigint & 4294967295)
      LIMIT 1`,
    [String(PG_MIGRATE_LOCK_ID)],
  );
  return rows[0];
}

function describe(holder: Holder | undefined): string {
  if (!holder) return '';
  const app = holder.application_name ? `, "${holder.application_name}"` : '';
  return ` (server process ${holder.pid}${app})`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))}s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens a session on the database and takes node-pg-migrate's advisory lock
 * (the same key node-pg-migrate itself and any other Agentry run use), so one
 * migration run at a time works on a database. Waits up to lockWaitMs, then
 * fails with exit 1. The lock is a session lock: it is released when fn ends,
 * and by the server if this process dies.
 */
export async function withMigrationLock<T>(databaseUrl: string, options: LockOptions, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const waitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  if (!(Number.isFinite(waitMs) && waitMs >= 0)) throw new AgentryError('usage', `invalid lock wait ${waitMs}: expected 0 or more milliseconds`);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000, application_name: APPLICATION_NAME });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(databaseUrl, error);
  }
  let locked = false;
  try {
    // If this process dies mid-migration (SIGKILL, a lost laptop lid), the
    // server would run the current statement to its end, holding the lock and
    // the migration's locks all along; checking the socket every second makes
    // it abort the statement instead (PostgreSQL 14+; Linux, ignored elsewhere).
    await client.query(
      `SELECT set_config('client_connection_check_interval', '1000', false)
        WHERE current_setting('server_version_num')::int >= 140000`,
    );
    const deadline = Date.now() + waitMs;
    let announced = false;
    for (;;) {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [String(PG_MIGRATE_LOCK_ID)]);
      if (rows[0]?.ok) break;
      const holder = await lockHolder(client);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const waited = waitMs > 0 ? `; gave up after waiting ${seconds(waitMs)} (--lock-wait <seconds> waits longer)` : ' (--no-lock-wait: not waiting)';
        throw new AgentryError('failed', `another agentry migrate is running on ${redactUrl(databaseUrl)}${describe(holder)}${waited}; retry when it has finished`);
      }
      if (!announced) {
        announced = true;
        options.onNotice?.(
          `another agentry migrate is running on ${redactUrl(databaseUrl)}${describe(holder)}; waiting up to ${seconds(waitMs)} for it to finish`,
        );
      }
      await sleep(Math.min(POLL_MS, remaining));
    }
    locked = true;
    return await fn(client);
  } finally {
    // A failed migration leaves its transaction aborted: roll it back so the
    // unlock can run; ending the session would release the lock anyway.
    if (locked) {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [String(PG_MIGRATE_LOCK_ID)]).catch(() => undefined);
    }
    await client.end().catch(() => undefined);
  }
}
