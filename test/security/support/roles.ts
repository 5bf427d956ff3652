import { randomBytes } from 'node:crypto';

import pg from 'pg';
import { expect } from 'vitest';

import { quoteIdent } from '../../../src/db/identifiers.js';
import type { TestDatabase } from '../../helpers/db.js';
import { errorOf, SQLSTATE } from '../../schema/support.js';

export type GroupRole = 'agentry_app' | 'agentry_readonly';

export interface Login {
  /** The LOGIN role created for the test, member of `member` only. */
  role: string;
  member: GroupRole;
  password: string;
  /** Its URL (same server and database as the test database). */
  url: string;
  client: pg.Client;
}

/**
 * LOGIN roles that are members of agentry_app or agentry_readonly only, each
 * with its own connection; drop() ends the connections and drops the roles.
 */
export function loginRoles(db: TestDatabase) {
  const logins: Login[] = [];
  return {
    logins,
    async login(member: GroupRole): Promise<Login> {
      const role = `agentry_sec_${member === 'agentry_app' ? 'app' : 'ro'}_${randomBytes(5).toString('hex')}`;
      const password = randomBytes(18).toString('base64url');
      const { rows } = await db.pool.query<{ sql: string }>('SELECT format($1, $2::text, $3::text, $4::text) AS sql', [
        'CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I',
        role,
        password,
        member,
      ]);
      await db.pool.query(rows[0]!.sql);
      const url = new URL(db.url);
      url.username = role;
      url.password = password;
      const client = new pg.Client({ connectionString: url.toString() });
      client.on('error', () => undefined);
      const login: Login = { role, member, password, url: url.toString(), client };
      logins.push(login);
      await client.connect();
      return login;
    },
    async drop(): Promise<void> {
      for (const { client } of logins) await client.end().catch(() => undefined);
      for (const { role } of logins) await db.pool.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
    },
  };
}

/** Counts what a suite tried: every refusal is one statement run and answered 42501. */
export class Refusals {
  statements = 0;
  readonly byRole = new Map<string, number>();

  /** Runs `sql` as `client` and expects insufficient_privilege (42501); counts it. */
  async expect(client: pg.ClientBase, who: string, sql: string, params: unknown[] = []): Promise<void> {
    // LOCK TABLE runs only inside a transaction block.
    const inTransaction = /^LOCK /.test(sql);
    if (inTransaction) await client.query('BEGIN');
    const error = await errorOf(client as pg.Client, sql, params).finally(async () => {
      if (inTransaction) await client.query('ROLLBACK');
    });
    expect(error.code, `${who}: ${sql}\n${error.message}`).toBe(SQLSTATE.insufficientPrivilege);
    this.statements += 1;
    this.byRole.set(who, (this.byRole.get(who) ?? 0) + 1);
  }
}

export interface Relation {
  name: string;
  /** r table, p partitioned table, v view. */
  kind: 'r' | 'p' | 'v';
  partition: boolean;
  /** A column that can be named in UPDATE ... SET c = c (not generated, not identity ALWAYS). */
  column: string;
  /** INSERT, UPDATE or DELETE can reach its rows (false for a view that is not automatically updatable). */
  updatable: boolean;
}

/** Every table, partition and view of schema agentry, from the catalog (so a new one is covered without editing a list). */
export async function agentryRelations(db: TestDatabase): Promise<Relation[]> {
  const { rows } = await db.pool.query<Relation>(
    `SELECT c.relname AS name, c.relkind::text AS kind, c.relispartition AS partition,
            (SELECT a.attname FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity <> 'a'
              ORDER BY a.attnum LIMIT 1) AS column,
            pg_relation_is_updatable(c.oid, false) <> 0 AS updatable
       FROM pg_class c
      WHERE c.relnamespace = 'agentry'::regnamespace AND c.relkind IN ('r', 'p', 'v')
      ORDER BY c.relname`,
  );
  return rows;
}
