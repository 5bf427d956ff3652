import { Readable } from 'node:stream';

import pg from 'pg';

import { constraintCatalog } from '../../generated/constraints.js';
import { createErrorMapper, mapError, type ConstraintCatalog } from './errors.js';
import {
  RESERVED_MODULE_NAMES,
  type AgentrySession,
  type Executor,
  type IsolationLevel,
  type ModuleFactories,
  type RowStream,
  type StreamOptions,
  type TransactionOptions,
} from './executor.js';
import { contextModules, type ContextModules } from './modules.js';
import { queries as packageQueries, type QueryDefinition, type QueryRegistry } from './sql.js';
import { parseTimestamptz } from './timestamps.js';
import { assertStorableParams } from './values.js';

/**
 * Result parsing for every statement the DAL runs, set per query (never
 * through the global pg.types, which other code in the process may rely on or
 * change):
 *  - int8/bigint and numeric, and arrays of them, come back as strings: a JS
 *    number would silently round ids, token counts above 2^53 and money.
 *  - timestamptz (and its arrays) come back as Date.
 *  - everything else as node-postgres parses it by default (int4 -> number,
 *    jsonb -> object, ...).
 * The parsers for text arrays and timestamptz arrays are node-postgres'
 * defaults, captured when this module is first imported; single timestamptz
 * values take a faster parser that gives the same Date (timestamps.ts).
 */
// @types/pg's TypeId lists no array types; the registry takes any oid.
const defaultParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => (value: string) => unknown;
const parseTextArray = defaultParser(1009);
const parseTimestamptzArray = defaultParser(1185);
const keepText = (value: string): string => value;

const AGENTRY_TEXT_PARSERS: ReadonlyMap<number, (value: string) => unknown> = new Map([
  [20, keepText], // int8
  [1700, keepText], // numeric
  [1016, parseTextArray], // int8[]
  [1231, parseTextArray], // numeric[] (node-postgres' default makes floats of these)
  [1184, parseTimestamptz], // timestamptz
  [1185, parseTimestamptzArray], // timestamptz[]
]);

export const AGENTRY_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    const own = format === 'binary' ? undefined : AGENTRY_TEXT_PARSERS.get(oid);
    return own ?? defaultParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Where the connections come from: a URL (Agentry creates and owns the pool) or a pool of the caller's. */
export type AgentryConnection =
  | ({ connectionString: string; pool?: never } & Omit<pg.PoolConfig, 'connectionString' | 'types'>)
  | { pool: pg.Pool; connectionString?: never };

export interface AgentryOptions<M extends ModuleFactories = ModuleFactories> {
  /**
   * Turns constraint names into words in error messages (see errors.ts).
   * Default: the package's generated/constraints.ts (`constraintCatalog`, every
   * rule of schema agentry); `{}` gives messages with names only.
   */
  constraints?: ConstraintCatalog;
  /** The named statements. Default: the package's sql/queries. */
  queries?: QueryRegistry;
  /** Modules beyond the registered context modules (modules.ts), bound the same way. */
  modules?: M;
  /**
   * Errors of connections nobody is using (the server restarted, a network
   * drop). They never crash the process; the next query reports its own
   * ConnectionError. Default: ignored.
   */
  onError?: (error: Error) => void;
}

export type AgentryClient<M extends ModuleFactories = ContextModules> = AgentrySession<M> & {
  /** Ends the pool if createAgentry created it; a pool passed in stays open (only Agentry's error listener is removed). */
  close(): Promise<void>;
};

type EmptyModules = Readonly<Record<never, never>>;

interface Runtime {
  readonly registry: QueryRegistry;
  readonly wrap: (error: unknown, query?: string) => Error;
  readonly catalog: ConstraintCatalog | undefined;
  readonly factories: ModuleFactories;
  readonly state: { closed: boolean; savepoints: number };
}

/**
 * A transaction's (or savepoint's) lifetime. Statements on one connection run
 * in order, so only the innermost open scope may run them: its executor
 * refuses work once it is over, once an enclosing scope is over (the
 * connection may be back in the pool, serving someone else), and while a
 * nested transaction of its own is open (the statement would silently become
 * part of that savepoint).
 */
interface Scope {
  open: boolean;
  nestedOpen: boolean;
  readonly label: string;
  readonly parent: Scope | undefined;
}

function closedScope(scope: Scope): Scope | undefined {
  for (let current: Scope | undefined = scope; current; current = current.parent) {
    if (!current.open) return current;
  }
  return undefined;
}

function scopeProblem(scope: Scope): string | undefined {
  const closed = closedScope(scope);
  if (closed) return `${closed.label} is already over`;
  return scope.nestedOpen ? `${scope.label} has a nested transaction open (use the nested transaction's executor)` : undefined;
}

const ISOLATION_SQL: Readonly<Record<IsolationLevel, string>> = {
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

function beginStatement(options: TransactionOptions): string {
  let sql = 'BEGIN';
  if (options.isolationLevel !== undefined) {
    const level = Object.hasOwn(ISOLATION_SQL, options.isolationLevel) ? ISOLATION_SQL[options.isolationLevel] : undefined;
    if (!level) throw new TypeError(`unknown isolation level "${String(options.isolationLevel)}" (read committed, repeatable read, serializable)`);
    sql += ` ISOLATION LEVEL ${level}`;
  }
  if (options.readOnly) sql += ' READ ONLY';
  return sql;
}

/** Non-Error values thrown by a callback come back as they are (a sentinel stays itself); errors are typed. */
function rethrowable(runtime: Runtime, error: unknown): unknown {
  return mapError(error, runtime.catalog ? { catalog: runtime.catalog } : {});
}

function bindSession<M extends ModuleFactories>(
  runtime: Runtime,
  target: pg.Pool | pg.PoolClient,
  scope: Scope | undefined,
): AgentrySession<M> {
  const assertUsable = (what: string) => {
    if (runtime.state.closed) throw new Error(`agentry client is closed: cannot run ${what}`);
    const problem = scope && scopeProblem(scope);
    if (problem) {
      throw new Error(`${problem}: cannot run ${what} (use an executor only inside its transaction callback, and await its work there)`);
    }
  };

  const executor: Executor = {
    async query<T extends object>(name: string, params: readonly unknown[] = []): Promise<T[]> {
      assertUsable(name);
      const definition = statementFor(runtime, name, params);
      try {
        const result = await target.query({ text: definition.text, values: [...params], types: AGENTRY_TYPES });
        return result.rows as T[];
      } catch (error) {
        throw runtime.wrap(error, name);
      }
    },

    stream<T extends object>(name: string, params: readonly unknown[] = [], options: StreamOptions = {}): RowStream<T> {
      assertUsable(name);
      if (scope) {
        throw new TypeError(
          `${name}: stream() runs on a pooled connection of its own and cannot join a transaction (its connection stays busy while the stream is open); call it outside the transaction`,
        );
      }
      const definition = statementFor(runtime, name, params);
      const batchSize = options.batchSize ?? DEFAULT_STREAM_BATCH_SIZE;
      if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new TypeError(`stream batchSize must be a positive integer, got ${String(batchSize)}`);
      return openRowStream<T>(runtime, target as pg.Pool, name, definition.text, params, batchSize);
    },

    async transaction<R>(fn: (tx: Executor) => Promise<R>, options: TransactionOptions = {}): Promise<R> {
      assertUsable('a transaction');
      if (scope) return savepoint(runtime, target as pg.PoolClient, scope, fn as (tx: AgentrySession<M>) => Promise<R>, options);
      return topLevelTransaction(runtime, target as pg.Pool, fn as (tx: AgentrySession<M>) => Promise<R>, options);
    },
  };

  const session: Record<string, unknown> = { query: executor.query, stream: executor.stream, transaction: executor.transaction };
  for (const [name, factory] of Object.entries(runtime.factories)) {
    session[name] = factory(executor);
  }
  return session as AgentrySession<M>;
}

/**
 * The registered statement `name`, once params has as many values as it
 * declares and every text in them can be stored as written (ValidationError
 * for a NUL or a lone surrogate, see values.ts).
 */
function statementFor(runtime: Runtime, name: string, params: readonly unknown[]): QueryDefinition {
  const definition = runtime.registry.get(name);
  if (params.length !== definition.params.length) {
    const expected = definition.params.map((p) => `$${p.position} ${p.name}`).join(', ');
    throw new TypeError(
      `${name} takes ${definition.params.length} parameter${definition.params.length === 1 ? '' : 's'}` +
        `${expected ? ` (${expected})` : ''}, got ${params.length}`,
    );
  }
  assertStorableParams(name, params, definition.params.map((p) => p.name));
  return definition;
}

const DEFAULT_STREAM_BATCH_SIZE = 1000;

/**
 * One statement on a connection of its own, its rows pushed into a Readable
 * as they arrive: the server sends the result as one stream (as COPY does) and
 * is held back by TCP alone. When the caller is more than batchSize rows
 * behind, the socket is paused; the kernel's buffers fill, and the server
 * waits in send() until the caller catches up. A cursor fetching batch after
 * batch left the server idle while Node parsed each batch and Node idle while
 * the server produced the next: 0.56 of COPY's rate against 0.86 for rows taken
 * as they arrive (2M rows side by side; docs/performance-findings.md).
 *
 * The caller gets the stream at once (the connection comes later); errors are
 * typed by the one mapper. The connection goes back to the pool when the
 * statement ended (the server's ReadyForQuery); if the caller stops early or
 * anything fails, it is closed instead: its statement may still be sending,
 * and a cancel request could reach the next user's statement.
 */
function openRowStream<T>(runtime: Runtime, pool: pg.Pool, name: string, text: string, params: readonly unknown[], batchSize: number): RowStream<T> {
  let client: pg.PoolClient | undefined;
  let socket: { pause(): void; resume(): void } | undefined;
  let ended = false;
  let released = false;

  const release = (discard?: Error) => {
    if (!client || released) return;
    released = true;
    client.removeListener('error', onClientError);
    client.release(discard);
  };
  const fail = (error: unknown) => {
    output.destroy(runtime.wrap(error, name));
  };
  // A checked-out client has no pool listener: a dropped connection would be an unhandled 'error' event.
  const onClientError = (error: Error) => {
    fail(error);
  };

  const output = new Readable({
    objectMode: true,
    highWaterMark: batchSize,
    read() {
      socket?.resume();
    },
    destroy(error, callback) {
      // Stopped before the end (break, destroy, a failure): the connection cannot serve anyone else.
      if (!ended) release(error ?? new Error(`${name}: stream closed before its last row`));
      callback(error);
    },
  });

  pool.connect().then(
    (connected) => {
      if (output.destroyed) {
        connected.release();
        return;
      }
      client = connected;
      // node-postgres reads its socket in flowing mode; pausing it is how a reader applies backpressure.
      socket = (connected as unknown as { connection: { stream: { pause(): void; resume(): void } } }).connection.stream;
      client.on('error', onClientError);
      const query = new pg.Query({ text, values: [...params], types: AGENTRY_TYPES });
      query.on('row', (row: T) => {
        if (!output.destroyed && !output.push(row)) socket?.pause();
      });
      query.on('error', fail);
      query.on('end', () => {
        ended = true;
        socket?.resume();
        release();
        output.push(null);
      });
      client.query(query);
    },
    (error: unknown) => fail(error),
  );
  return output as unknown as RowStream<T>;
}

async function topLevelTransaction<M extends ModuleFactories, R>(
  runtime: Runtime,
  pool: pg.Pool,
  fn: (tx: AgentrySession<M>) => Promise<R>,
  options: TransactionOptions,
): Promise<R> {
  const begin = beginStatement(options);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw runtime.wrap(error);
  }
  // A checked-out client has no pool listener: a server-side disconnect while
  // fn awaits something else would be an unhandled 'error' event and end the
  // process. Record it instead; the next query on the client fails with it.
  let lostConnection: Error | undefined;
  const onClientError = (error: Error) => {
    lostConnection ??= error;
  };
  client.on('error', onClientError);
  const scope: Scope = { open: true, nestedOpen: false, label: 'this transaction', parent: undefined };
  let releaseError: Error | undefined;
  try {
    try {
      await client.query(begin);
    } catch (error) {
      releaseError = error instanceof Error ? error : new Error(String(error));
      throw runtime.wrap(error);
    }
    try {
      const result = await fn(bindSession<M>(runtime, client, scope));
      assertNoNestedOpen(scope);
      scope.open = false;
      await client.query('COMMIT');
      return result;
    } catch (error) {
      scope.open = false;
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable (it failed mid-transaction): destroy it, never pool it.
        releaseError = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw rethrowable(runtime, error);
    }
  } finally {
    scope.open = false;
    client.removeListener('error', onClientError);
    client.release(releaseError ?? lostConnection);
  }
}

/** fn resolved while a nested transaction it started was still running: it did not await it. */
function assertNoNestedOpen(scope: Scope): void {
  if (scope.nestedOpen) {
    throw new Error(`${scope.label} finished while a nested transaction was still running: await every nested transaction(...)`);
  }
}

async function savepoint<M extends ModuleFactories, R>(
  runtime: Runtime,
  client: pg.PoolClient,
  parent: Scope,
  fn: (tx: AgentrySession<M>) => Promise<R>,
  options: TransactionOptions,
): Promise<R> {
  if (options.isolationLevel !== undefined || options.readOnly !== undefined) {
    throw new TypeError('isolationLevel and readOnly apply to the outermost transaction only; a nested transaction is a savepoint of it');
  }
  runtime.state.savepoints += 1;
  const name = `agentry_savepoint_${runtime.state.savepoints}`;
  const scope: Scope = { open: true, nestedOpen: false, label: `the nested transaction (savepoint ${name})`, parent };
  parent.nestedOpen = true;
  try {
    await client.query(`SAVEPOINT ${name}`);
  } catch (error) {
    parent.nestedOpen = false;
    throw runtime.wrap(error);
  }
  try {
    const result = await fn(bindSession<M>(runtime, client, scope));
    assertNoNestedOpen(scope);
    // The enclosing transaction ended without waiting for us: the connection is not ours any more.
    const closed = closedScope(parent);
    if (closed) throw new Error(`${closed.label} finished while ${scope.label} was still running`);
    scope.open = false;
    await client.query(`RELEASE SAVEPOINT ${name}`);
    parent.nestedOpen = false;
    return result;
  } catch (error) {
    scope.open = false;
    parent.nestedOpen = false;
    // Undo the savepoint's work only; the outer transaction carries on (or
    // fails on its own if the connection is gone). Never touch a connection
    // whose transaction is already over: it may be back in the pool.
    if (!closedScope(parent)) {
      await client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      await client.query(`RELEASE SAVEPOINT ${name}`).catch(() => undefined);
    }
    throw rethrowable(runtime, error);
  }
}

/**
 * The data-access client: named statements, transactions, and every context
 * module (modules.ts, plus options.modules) bound to it and, inside
 * transaction(fn), to the transaction.
 *
 *   const agentry = createAgentry({ connectionString: process.env.DATABASE_URL });
 *   const [task] = await agentry.query<Task>('work.get_task', [id]);
 *   await agentry.transaction(async (tx) => { ... tx.query(...) ... }, { isolationLevel: 'serializable' });
 *   await agentry.close();
 */
export function createAgentry<M extends ModuleFactories = EmptyModules>(
  connection: AgentryConnection,
  options: AgentryOptions<M> = {},
): AgentryClient<ContextModules & M> {
  const factories: ModuleFactories = { ...contextModules, ...options.modules };
  for (const name of Object.keys(factories)) {
    if (RESERVED_MODULE_NAMES.has(name)) throw new TypeError(`a context module cannot be called "${name}": the client has a member of that name`);
  }

  const ownsPool = connection.pool === undefined;
  const pool =
    connection.pool ??
    new pg.Pool({ application_name: 'agentry', ...(connection as Omit<pg.PoolConfig, 'types'>) });

  const catalog: ConstraintCatalog = options.constraints ?? constraintCatalog;
  const runtime: Runtime = {
    registry: options.queries ?? packageQueries,
    wrap: createErrorMapper(catalog),
    catalog,
    factories,
    state: { closed: false, savepoints: 0 },
  };

  const onPoolError = (error: Error) => {
    try {
      options.onError?.(runtime.wrap(error));
    } catch {
      // A throwing error callback must not turn an idle-connection error into a crash either.
    }
  };
  pool.on('error', onPoolError);
  // pool.end() resolves before each socket has closed, and the pool stops
  // listening to a client it has let go: a server that terminates that
  // connection meanwhile (a dropped database, a restart) would then raise an
  // unhandled 'error' and crash the process. Every client keeps a listener.
  const onConnect = (client: pg.PoolClient) => {
    client.on('error', () => undefined);
  };
  pool.on('connect', onConnect);

  const session = bindSession<ContextModules & M>(runtime, pool, undefined);
  const close = async () => {
    if (runtime.state.closed) return;
    runtime.state.closed = true;
    if (ownsPool) await pool.end();
    // Keep listening on our own pool until it has ended: a client's late error must still not crash.
    pool.removeListener('error', onPoolError);
    pool.removeListener('connect', onConnect);
  };
  return Object.assign(session, { close });
}
