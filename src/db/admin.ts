import pg from 'pg';

import { AgentryError, errorMessage, isConnectionError } from '../errors.js';
import { quoteIdent } from './identifiers.js';
import { redactSecrets, redactUrl } from './url.js';

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Opens one client, runs fn, always closes it. Connection failures become an
 * AgentryError('connection') that names the server without its password.
 */
export async function withClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle client whose server goes away emits 'error'; without a listener
  // that would crash the process instead of failing the current call.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(connectionString, error);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function connectionError(connectionString: string, error: unknown): AgentryError {
  if (error instanceof AgentryError) return error;
  const detail = redactSecrets(errorMessage(error), [connectionString]);
  return new AgentryError('connection', `cannot connect to ${redactUrl(connectionString)}: ${detail}`, { cause: error });
}

/** Connects once and reports the server version; throws AgentryError('connection') when unreachable. */
export async function checkConnection(connectionString: string): Promise<{ serverVersion: string }> {
  return withClient(connectionString, async (client) => {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return { serverVersion: rows[0]?.server_version ?? 'unknown' };
  });
}

export async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withClient(adminUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  });
}

export interface CreateDatabaseOptions {
  /** Clone this database (CREATE DATABASE ... TEMPLATE). It must have no open connections. */
  template?: string;
  /** Return false instead of failing when the database already exists. */
  ifNotExists?: boolean;
}

/**
 * Creates a database on the server behind adminUrl. Returns true when it was
 * created, false when it existed and ifNotExists was set.
 */
export async function createDatabase(adminUrl: string, name: string, options: CreateDatabaseOptions = {}): Promise<boolean> {
  const sql = options.template
    ? `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(options.template)}`
    : `CREATE DATABASE ${quoteIdent(name)}`;
  return withClient(adminUrl, async (client) => {
    if (options.ifNotExists) {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount === 1) return false;
    }
    // Cloning fails with 55006 while anyone else is connected to the template
    // (a migration runner that is still closing, autovacuum...). That is
    // transient, so retry for a few seconds before giving up.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await client.query(sql);
        return true;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === '42P04' && options.ifNotExists) return false; // lost a race with another creator
        if (code === '55006' && options.template && attempt < 50) {
          await sleep(100);
          continue;
        }
        if (isConnectionError(error)) throw connectionError(adminUrl, error);
        throw new AgentryError('failed', `could not create database "${name}": ${errorMessage(error)}`, { cause: error });
      }
    }
  });
}

/** Drops a database even if sessions are still connected (WITH (FORCE), PostgreSQL 13+). */
export async function dropDatabase(adminUrl: string, name: string, options: { ifExists?: boolean } = {}): Promise<void> {
  const ifExists = options.ifExists ?? true;
  await withClient(adminUrl, async (client) => {
    try {
      await client.query(`DROP DATABASE ${ifExists ? 'IF EXISTS ' : ''}${quoteIdent(name)} WITH (FORCE)`);
    } catch (error) {
      throw new AgentryError('failed', `could not drop database "${name}": ${errorMessage(error)}`, { cause: error });
    }
  });
}

/** Names of databases matching a LIKE pattern (the pattern is a parameter, never spliced). */
export async function listDatabases(adminUrl: string, likePattern: string): Promise<string[]> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
      [likePattern],
    );
    return rows.map((r) => r.datname);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
