import type pg from 'pg';
import { expect } from 'vitest';

/** A PostgreSQL error as node-postgres reports it. */
export interface PgError extends Error {
  code: string;
  constraint?: string;
  table?: string;
  column?: string;
  detail?: string;
  hint?: string;
}

/** Agentry's own SQLSTATEs, raised by its triggers (see migrations/). */
export const SQLSTATE = {
  checkViolation: '23514',
  foreignKeyViolation: '23503',
  uniqueViolation: '23505',
  notNullViolation: '23502',
  restrictViolation: '23001',
  insufficientPrivilege: '42501',
  illegalTransition: 'AG001',
  missingInput: 'AG002',
  cycle: 'AG003',
  appendOnly: 'AG004',
  decisionFinal: 'AG005',
  trust: 'AG006',
} as const;

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** The error a statement fails with; fails the test when it succeeds. */
export async function errorOf(db: Queryable, sql: string, params: unknown[] = []): Promise<PgError> {
  try {
    await db.query(sql, params);
  } catch (error) {
    return error as PgError;
  }
  throw new Error(`expected the statement to be refused, but it succeeded:\n${sql}`);
}

export interface Refusal {
  /** Constraint or trigger name the error must carry. */
  constraint: string;
  /** SQLSTATE (or the accepted set); defaults to what the constraint's prefix implies. */
  code?: string | readonly string[];
  /** Table (schema agentry) whose row count must not change. */
  table: string;
  /** Substring the message must contain (e.g. both states of a transition). */
  message?: string | RegExp;
}

/**
 * A refused delete of a parent under ON DELETE RESTRICT is 23503 up to
 * PostgreSQL 17 and restrict_violation (23001) from 18 on; both are the same rule.
 */
export const FOREIGN_KEY_REFUSALS = [SQLSTATE.foreignKeyViolation, SQLSTATE.restrictViolation] as const;

function defaultCode(constraint: string): string | readonly string[] | undefined {
  if (constraint.startsWith('chk_')) return SQLSTATE.checkViolation;
  if (constraint.startsWith('fk_')) return FOREIGN_KEY_REFUSALS;
  if (constraint.startsWith('uq_') || constraint.startsWith('pk_')) return SQLSTATE.uniqueViolation;
  return undefined;
}

async function countRows(db: Queryable, table: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM agentry.${table}`);
  return Number(rows[0]!.n);
}

/**
 * Runs a statement that must be refused by the named constraint or trigger,
 * and shows that it left nothing behind in `table`.
 */
export async function expectRefused(db: Queryable, sql: string, params: unknown[], refusal: Refusal): Promise<PgError> {
  const before = await countRows(db, refusal.table);
  const error = await errorOf(db, sql, params);
  expect(error.constraint, `${error.message}`).toBe(refusal.constraint);
  const code = refusal.code ?? defaultCode(refusal.constraint);
  if (typeof code === 'string') expect(error.code, error.message).toBe(code);
  else if (code) expect(code, error.message).toContain(error.code);
  if (refusal.message) expect(error.message).toMatch(refusal.message);
  expect(await countRows(db, refusal.table)).toBe(before);
  return error;
}

/** Runs a statement that must succeed and returns its rows. */
export async function accepted<T extends pg.QueryResultRow = pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const { rows } = await db.query<T>(sql, params);
  return rows;
}
