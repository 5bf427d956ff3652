import type { Readable } from 'node:stream';

/**
 * What context modules are written against. A module is a plain factory
 * (executor) => ({ ...functions }); the client calls it once with its pool
 * executor and once per transaction with that transaction's executor, so the
 * same functions run inside or outside a transaction without knowing which.
 */

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export interface TransactionOptions {
  /** Only on the outermost transaction (a nested one is a savepoint of it). Default: the server's (read committed). */
  isolationLevel?: IsolationLevel;
  /** BEGIN ... READ ONLY. Only on the outermost transaction. */
  readOnly?: boolean;
}

export interface StreamOptions {
  /** Rows buffered ahead of the reader before the connection's socket is paused (the server then waits). Default 1000. */
  batchSize?: number;
}

/**
 * Rows of a statement as an object-mode Readable: `for await (const row of
 * stream)` or `pipeline(stream, ...)`. Errors are typed like query()'s.
 */
export interface RowStream<T> extends Readable {
  [Symbol.asyncIterator](): AsyncIterableIterator<T>;
}

export interface Executor {
  /**
   * Runs the registered statement `name` (sql/queries/<context>/<name>.sql)
   * with $1..$n = params and returns its rows. Errors are typed (see
   * errors.ts). int8 and numeric come back as strings, timestamptz as Date.
   */
  query<T extends object = Record<string, unknown>>(name: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Streams the rows of the registered statement `name` as the server sends
   * them, in constant memory (about batchSize rows ahead of the reader, then
   * TCP backpressure), on a pooled connection of its own: back to the pool
   * when the stream ends, closed when it fails or is destroyed before its
   * end (a `break` out of `for await` destroys it). Parsing and errors as query().
   * Not inside a transaction (its connection is busy while the stream is
   * open, so the transaction could not go on): refused there with a TypeError.
   */
  stream<T extends object = Record<string, unknown>>(name: string, params?: readonly unknown[], options?: StreamOptions): RowStream<T>;
  /**
   * Runs fn in a transaction: BEGIN, COMMIT when fn resolves, ROLLBACK when it
   * throws (the typed error is rethrown). Inside a transaction it opens a
   * SAVEPOINT instead, rolled back alone when fn throws.
   */
  transaction<R>(fn: (tx: Executor) => Promise<R>, options?: TransactionOptions): Promise<R>;
}

export type ModuleFactory<T = unknown> = (executor: Executor) => T;
export type ModuleFactories = Readonly<Record<string, ModuleFactory>>;
export type BoundModules<M extends ModuleFactories> = { readonly [K in keyof M]: ReturnType<M[K]> };

/** An executor with every context module bound to it: agentry.work, tx.work, ... */
export type AgentrySession<M extends ModuleFactories> = BoundModules<M> & {
  query<T extends object = Record<string, unknown>>(name: string, params?: readonly unknown[]): Promise<T[]>;
  stream<T extends object = Record<string, unknown>>(name: string, params?: readonly unknown[], options?: StreamOptions): RowStream<T>;
  transaction<R>(fn: (tx: AgentrySession<M>) => Promise<R>, options?: TransactionOptions): Promise<R>;
};

/** Names a context module cannot take: they are the session's own members. */
export const RESERVED_MODULE_NAMES: ReadonlySet<string> = new Set(['query', 'stream', 'transaction', 'close', 'then']);
