import { createHash, randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { quoteIdent } from '../../src/db/identifiers.js';
import { useTestDatabase } from '../helpers/db.js';
import { errorOf } from '../schema/support.js';
import { recordFigures } from '../helpers/figures.js';
import { agentryRelations, loginRoles, Refusals, type Login, type Relation } from './support/roles.js';

// What each role may not do, tried by logging in as it (LOGIN roles that are
// members of agentry_app or agentry_readonly only) and, for the group roles
// themselves, by SET ROLE from a superuser session. Every refusal must be
// insufficient_privilege (42501). The tables come from the catalog, so a new
// table or partition is covered without editing this file.
// test/schema/privileges.test.ts checks the grants themselves and what the
// roles CAN do; this file is the attacker's side.
//
// The decision on secrets (migrations 1764547202000_access.sql and
// 1764547208000_integration.sql), asserted below:
//  - agentry_app cannot read api_keys.key_hash nor user_sessions.token_hash in
//    any way (select list, WHERE, ORDER BY, RETURNING, whole-row, COPY, views,
//    pg_stats, error details); it checks a presented key or token only through
//    agentry.verify_api_key(bytea) / agentry.verify_session_token(bytea)
//    (SECURITY DEFINER), which return the matching row's id and grants, never
//    a hash. It writes both columns (create, rotate) without reading them back.
//  - agentry_app reads users.password_hash (a bcrypt/argon2id hash: the
//    application verifies a password against it) and
//    webhooks.signing_secret_encrypted (AES-256-GCM ciphertext; the key never
//    enters the database; HMAC signing needs the secret at send time).
//  - agentry_readonly reads none of the four.

const db = useTestDatabase();
const roles = loginRoles(db);
const refusals = new Refusals();
let app: Login;
let ro: Login;
let relations: Relation[];
const sha256 = (text: string) => createHash('sha256').update(text).digest();
const API_KEY = `ains_${randomBytes(33).toString('base64url')}`;
const TOKEN = randomBytes(32).toString('base64url');
const fixture = { apiKeyId: '', sessionId: '', userId: '' };
let rolesTried = 0;

beforeAll(async () => {
  const { rows: user } = await db.pool.query<{ id: string }>(
    `INSERT INTO agentry.users (username, email, password_hash) VALUES ('roles_sec', 'roles_sec@example.com', $1) RETURNING id`,
    [`$2b$12$${'c'.repeat(53)}`],
  );
  fixture.userId = user[0]!.id;
  const { rows: key } = await db.pool.query<{ id: string }>(
    `INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name) VALUES ($1, $2, 'roles-sec', 'k') RETURNING id`,
    ['ains_rolessec', sha256(API_KEY)],
  );
  fixture.apiKeyId = key[0]!.id;
  const { rows: session } = await db.pool.query<{ id: string }>(
    `INSERT INTO agentry.user_sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 hour') RETURNING id`,
    [fixture.userId, sha256(TOKEN)],
  );
  fixture.sessionId = session[0]!.id;
  // More keys and sessions, so that pg_stats has values to show after ANALYZE.
  for (let i = 0; i < 20; i += 1) {
    await db.pool.query(`INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name) VALUES ($1, $2, 'roles-sec', 'k')`, [
      `ains_rs${i}`,
      randomBytes(32),
    ]);
    await db.pool.query(`INSERT INTO agentry.user_sessions (user_id, token_hash) VALUES ($1, $2)`, [fixture.userId, randomBytes(32)]);
  }
  await db.pool.query('ANALYZE agentry.api_keys, agentry.user_sessions');
  app = await roles.login('agentry_app');
  ro = await roles.login('agentry_readonly');
  rolesTried += 2;
  relations = await agentryRelations(db);
});

afterAll(async () => {
  await roles.drop();
  if (refusals.statements === 0) return;
  recordFigures('security-roles', {
    rolesTried,
    statementsRefused: refusals.statements,
    ...Object.fromEntries([...refusals.byRole].map(([who, n]) => [`refused_${who.replace(/\W+/g, '_')}`, n])),
    relationsFromCatalog: relations.length,
  });
});

const q = (name: string) => `agentry.${quoteIdent(name)}`;

describe('the catalog the roles are tried against', () => {
  it('holds the tables, partitions and views of schema agentry (a new one is tried without editing this file)', () => {
    expect(relations.filter((r) => r.kind === 'r' && !r.partition).length).toBeGreaterThan(25);
    expect(relations.filter((r) => r.kind === 'p').map((r) => r.name)).toEqual(expect.arrayContaining(['activity_logs', 'agent_metrics', 'audit_logs']));
    expect(relations.filter((r) => r.partition && r.name.startsWith('audit_logs_')).length).toBeGreaterThanOrEqual(2);
    expect(relations.some((r) => r.kind === 'v')).toBe(true);
    expect(relations.every((r) => r.column !== null)).toBe(true);
  });
});

describe('agentry_readonly can only read', () => {
  /** Every write, lock and row-lock statement on a relation. */
  function writes(r: Relation): string[] {
    const t = q(r.name);
    const c = quoteIdent(r.column);
    const statements = [
      `INSERT INTO ${t} DEFAULT VALUES`,
      `INSERT INTO ${t} (${c}) SELECT ${c} FROM ${t} WHERE false`,
      `UPDATE ${t} SET ${c} = ${c} WHERE false`,
      `DELETE FROM ${t} WHERE false`,
    ];
    if (r.kind !== 'v') {
      statements.push(
        `TRUNCATE ${t}`,
        `MERGE INTO ${t} t USING (SELECT 1 AS one) s ON false WHEN MATCHED THEN DELETE`,
        `SELECT 1 FROM ${t} LIMIT 0 FOR UPDATE`,
        `LOCK TABLE ${t} IN EXCLUSIVE MODE`,
      );
    }
    return statements;
  }

  it('every INSERT, UPDATE, DELETE, TRUNCATE, MERGE, FOR UPDATE and LOCK on every table, partition and updatable view is refused (42501), nothing written', async () => {
    const before = await fingerprint();
    for (const r of relations.filter((x) => x.updatable)) {
      for (const sql of writes(r)) await refusals.expect(ro.client, 'readonly', sql);
    }
    // A view that is not automatically updatable takes writes from nobody (55000, the owner included).
    for (const v of relations.filter((x) => !x.updatable)) {
      expect(v.kind).toBe('v');
      expect((await errorOf(db.pool, `DELETE FROM ${q(v.name)} WHERE false`)).code).toBe('55000');
    }
    // node-pg-migrate's bookkeeping too.
    for (const t of ['pgmigrations', 'pgmigrations_checksums']) {
      await refusals.expect(ro.client, 'readonly', `DELETE FROM ${q(t)}`);
      await refusals.expect(ro.client, 'readonly', `TRUNCATE ${q(t)}`);
    }
    expect(await fingerprint()).toEqual(before);
  });

  it('the same through SET ROLE agentry_readonly from a superuser session', async () => {
    const client = await db.pool.connect();
    rolesTried += 1;
    try {
      await client.query('SET ROLE agentry_readonly');
      for (const r of relations.filter((x) => x.kind !== 'v')) {
        await refusals.expect(client, 'set_role_readonly', `UPDATE ${q(r.name)} SET ${quoteIdent(r.column)} = ${quoteIdent(r.column)} WHERE false`);
        await refusals.expect(client, 'set_role_readonly', `DELETE FROM ${q(r.name)} WHERE false`);
        await refusals.expect(client, 'set_role_readonly', `TRUNCATE ${q(r.name)}`);
      }
    } finally {
      await client.query('RESET ROLE');
      client.release();
    }
  });

  it('cannot draw from any sequence, run DDL, or call the SECURITY DEFINER functions', async () => {
    for (const seq of await sequences()) {
      await refusals.expect(ro.client, 'readonly', 'SELECT nextval($1::regclass)', [seq]);
      await refusals.expect(ro.client, 'readonly', 'SELECT setval($1::regclass, 1)', [seq]);
    }
    for (const sql of [
      'CREATE TABLE agentry.ro_scratch (id int)',
      'CREATE TABLE public.ro_scratch (id int)',
      'CREATE SCHEMA ro_scratch',
      'ALTER TABLE agentry.tasks ADD COLUMN ro_note text',
      'DROP TABLE agentry.tasks',
      'SELECT * FROM agentry.verify_api_key($1)',
      'SELECT * FROM agentry.verify_session_token($1)',
    ]) {
      await refusals.expect(ro.client, 'readonly', sql, sql.includes('$1') ? [sha256(API_KEY)] : []);
    }
  });
});

describe('agentry_app cannot change the schema', () => {
  it('no DDL on any table or partition: ALTER, DROP, TRUNCATE, CREATE INDEX, DISABLE TRIGGER, COMMENT, RENAME', async () => {
    for (const r of relations.filter((x) => x.kind !== 'v')) {
      const t = q(r.name);
      for (const sql of [
        `ALTER TABLE ${t} ADD COLUMN app_note text`,
        `ALTER TABLE ${t} DROP COLUMN ${quoteIdent(r.column)}`,
        `ALTER TABLE ${t} DISABLE TRIGGER ALL`,
        `ALTER TABLE ${t} RENAME TO app_renamed`,
        `ALTER TABLE ${t} OWNER TO CURRENT_USER`,
        `CREATE INDEX app_idx ON ${t} (${quoteIdent(r.column)})`,
        `COMMENT ON TABLE ${t} IS 'mine'`,
        `TRUNCATE ${t}`,
        `DROP TABLE ${t}`,
      ]) {
        await refusals.expect(app.client, 'app', sql);
      }
    }
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'agentry'::regnamespace AND relname ~ '^app_'`);
    expect(rows[0].n).toBe(0);
  });

  it('creates nothing in schema agentry nor public, no schema, no role; no way up to the owner or a superuser', async () => {
    for (const sql of [
      'CREATE TABLE agentry.app_scratch (id int)',
      'CREATE TABLE public.app_scratch (id int)',
      'CREATE VIEW public.app_view AS SELECT 1 AS one',
      'CREATE FUNCTION public.app_fn() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'CREATE SEQUENCE agentry.app_seq',
      'CREATE TYPE agentry.app_type AS (a int)',
      'CREATE SCHEMA app_scratch',
      'ALTER SCHEMA agentry OWNER TO CURRENT_USER',
      'DROP SCHEMA agentry CASCADE',
      'CREATE ROLE app_made',
      'GRANT agentry_owner TO CURRENT_USER',
      'SET ROLE agentry_owner',
      'SET SESSION AUTHORIZATION postgres',
      'ALTER ROLE agentry_app CREATEROLE',
      `SELECT pg_read_file('/etc/hostname')`,
      `COPY agentry.tasks TO '/tmp/agentry_app_copy'`,
    ]) {
      await refusals.expect(app.client, 'app', sql);
    }
    const other = await db.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await refusals.expect(app.client, 'app', 'SELECT pg_terminate_backend($1)', [other.rows[0]!.pid]);
    await refusals.expect(app.client, 'app', 'SELECT pg_cancel_backend($1)', [other.rows[0]!.pid]);
  });

  it('the same DDL through SET ROLE agentry_app from a superuser session', async () => {
    const client = await db.pool.connect();
    rolesTried += 1;
    try {
      await client.query('SET ROLE agentry_app');
      for (const r of relations.filter((x) => x.kind !== 'v' && !x.partition)) {
        await refusals.expect(client, 'set_role_app', `ALTER TABLE ${q(r.name)} ADD COLUMN app_note text`);
        await refusals.expect(client, 'set_role_app', `DROP TABLE ${q(r.name)}`);
        await refusals.expect(client, 'set_role_app', `TRUNCATE ${q(r.name)}`);
      }
      await refusals.expect(client, 'set_role_app', 'CREATE TABLE public.app_scratch (id int)');
    } finally {
      await client.query('RESET ROLE');
      client.release();
    }
  });

  it('draws from no sequence directly (identity columns fill themselves)', async () => {
    for (const seq of await sequences()) {
      await refusals.expect(app.client, 'app', 'SELECT nextval($1::regclass)', [seq]);
      await refusals.expect(app.client, 'app', 'SELECT setval($1::regclass, 1)', [seq]);
    }
  });
});

describe('agentry_app and the audit log', () => {
  it('cannot UPDATE, DELETE or TRUNCATE audit_logs, nor touch any of its partitions directly', async () => {
    const { rows } = await app.client.query<{ id: string }>(
      `INSERT INTO agentry.audit_logs (event_type, action, success) VALUES ('authentication', 'login', false) RETURNING id`,
    );
    const id = rows[0]!.id;
    await refusals.expect(app.client, 'app', `UPDATE agentry.audit_logs SET success = true WHERE id = $1`, [id]);
    await refusals.expect(app.client, 'app', `DELETE FROM agentry.audit_logs WHERE id = $1`, [id]);
    await refusals.expect(app.client, 'app', 'TRUNCATE agentry.audit_logs');
    await refusals.expect(app.client, 'app', `MERGE INTO agentry.audit_logs a USING (SELECT $1::bigint AS id) s ON a.id = s.id WHEN MATCHED THEN DELETE`, [id]);
    const partitions = relations.filter((r) => r.partition && r.name.startsWith('audit_logs_'));
    for (const p of partitions) {
      const t = q(p.name);
      for (const sql of [
        `SELECT * FROM ${t}`,
        `INSERT INTO ${t} (event_type, action, success) VALUES ('authentication', 'x', true)`,
        `UPDATE ${t} SET success = true WHERE id = $1`,
        `DELETE FROM ${t} WHERE id = $1`,
        `TRUNCATE ${t}`,
        `ALTER TABLE agentry.audit_logs DETACH PARTITION ${t}`,
        `DROP TABLE ${t}`,
      ]) {
        await refusals.expect(app.client, 'app', sql, sql.includes('$1') ? [id] : []);
      }
    }
    // Every other partition (activity_logs, agent_metrics) is out of reach too: the app goes through the parent.
    for (const p of relations.filter((r) => r.partition && !r.name.startsWith('audit_logs_'))) {
      await refusals.expect(app.client, 'app', `DELETE FROM ${q(p.name)} WHERE false`);
    }
    const { rows: kept } = await db.pool.query('SELECT success FROM agentry.audit_logs WHERE id = $1', [id]);
    expect(kept).toEqual([{ success: false }]);
  });
});

describe('agentry_app and the stored hashes', () => {
  const HIDDEN: [table: string, column: string][] = [
    ['api_keys', 'key_hash'],
    ['user_sessions', 'token_hash'],
  ];

  it('cannot read api_keys.key_hash or user_sessions.token_hash through any query shape', async () => {
    for (const [table, column] of HIDDEN) {
      const t = q(table);
      const c = quoteIdent(column);
      for (const sql of [
        `SELECT ${c} FROM ${t}`,
        `SELECT * FROM ${t}`,
        `TABLE ${t}`,
        `SELECT x FROM ${t} x`,
        `SELECT to_jsonb(x) FROM ${t} x`,
        `SELECT row_to_json(x.*) FROM ${t} x`,
        `SELECT md5(${c}::text) FROM ${t}`,
        `SELECT length(${c}) FROM ${t}`,
        `SELECT count(DISTINCT ${c}) FROM ${t}`,
        `SELECT id FROM ${t} WHERE ${c} = $1`,
        `SELECT id FROM ${t} WHERE get_byte(${c}, 0) < 128`,
        `SELECT id FROM ${t} ORDER BY ${c}`,
        `SELECT 1 FROM ${t} GROUP BY ${c}`,
        `WITH x AS (SELECT * FROM ${t}) SELECT count(*) FROM x`,
        `SELECT id FROM ${t} WHERE EXISTS (SELECT 1 FROM ${t} y WHERE y.${c} > $1)`,
        `UPDATE ${t} SET id = id WHERE ${c} = $1`,
        `UPDATE ${t} SET id = id WHERE false RETURNING ${c}`,
        `DELETE FROM ${t} WHERE false RETURNING *`,
        `DELETE FROM ${t} WHERE ${c} = $1`,
        `COPY ${t} TO STDOUT`,
        `COPY (SELECT ${c} FROM ${t}) TO STDOUT`,
      ]) {
        await refusals.expect(app.client, 'app', sql, sql.includes('$1') ? [sha256(API_KEY)] : []);
      }
    }
  });

  it('a temporary view or function of its own runs with its own privileges: still refused', async () => {
    await app.client.query('CREATE TEMP VIEW app_keys AS SELECT id, key_hash FROM agentry.api_keys');
    await refusals.expect(app.client, 'app', 'SELECT key_hash FROM app_keys');
    await app.client.query(
      `CREATE FUNCTION pg_temp.app_hash(uuid) RETURNS bytea LANGUAGE sql SECURITY DEFINER AS $$ SELECT key_hash FROM agentry.api_keys WHERE id = $1 $$`,
    );
    await refusals.expect(app.client, 'app', 'SELECT pg_temp.app_hash($1)', [fixture.apiKeyId]);
    await app.client.query('DROP VIEW app_keys');
  });

  it('gets no hash from pg_stats, nor from the details of the errors its own writes cause', async () => {
    const stats = `SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = 'agentry' AND attname IN ('key_hash', 'token_hash')`;
    const { rows: asOwner } = await db.pool.query(stats);
    expect(asOwner[0].n).toBe(2);
    const { rows: asApp } = await app.client.query(stats);
    expect(asApp[0].n).toBe(0);

    // A duplicate hash: unique_violation, without the key's value (the app cannot SELECT the column).
    const duplicate = await errorOf(
      app.client,
      `INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name) VALUES ('ains_dup01', $1, 'roles-sec', 'dup')`,
      [sha256(API_KEY)],
    );
    expect(duplicate.code).toBe('23505');
    expect(duplicate.constraint).toBe('uq_api_keys_key_hash');
    expect(`${duplicate.message} ${duplicate.detail ?? ''}`).not.toContain(sha256(API_KEY).toString('hex'));
    // A CHECK failure: the failing row is shown without the column the app cannot read.
    const hash = randomBytes(32);
    const check = await errorOf(
      app.client,
      `INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name, rate_limit_per_minute) VALUES ('ains_chk01', $1, 'roles-sec', 'chk', 0)`,
      [hash],
    );
    expect(check.code).toBe('23514');
    expect(`${check.message} ${check.detail ?? ''}`).not.toContain(hash.toString('hex'));
    const session = await errorOf(
      app.client,
      `INSERT INTO agentry.user_sessions (user_id, token_hash, status) VALUES ($1, $2, 'bogus')`,
      [fixture.userId, hash],
    );
    expect(session.code).toBe('23514');
    expect(`${session.message} ${session.detail ?? ''}`).not.toContain(hash.toString('hex'));
  });

  it('checks a key or token only through verify_api_key / verify_session_token, which return no hash; every SECURITY DEFINER function pins its search_path', async () => {
    const { rows: key } = await app.client.query('SELECT * FROM agentry.verify_api_key($1)', [sha256(API_KEY)]);
    expect(key).toHaveLength(1);
    expect(key[0].api_key_id).toBe(fixture.apiKeyId);
    const { rows: session } = await app.client.query('SELECT * FROM agentry.verify_session_token($1)', [sha256(TOKEN)]);
    expect(session.map((s) => s.user_session_id)).toEqual([fixture.sessionId]);
    const { rows: definers } = await db.pool.query<{ fn: string; result: string; config: string[] | null; app: boolean }>(
      `SELECT p.oid::regprocedure::text AS fn, pg_get_function_result(p.oid) AS result, p.proconfig AS config,
              has_function_privilege('agentry_app', p.oid, 'EXECUTE') AS app
         FROM pg_proc p WHERE p.pronamespace = 'agentry'::regnamespace AND p.prosecdef ORDER BY 1`,
    );
    expect(definers.length).toBeGreaterThanOrEqual(5);
    for (const d of definers) {
      // What the app can call returns no bytea (no hash) ...
      if (d.app) expect(d.result, d.fn).not.toMatch(/bytea|hash|secret/i);
      // ... and no definer function can be steered by the caller's search_path (temp objects last, or absent).
      expect(d.config, d.fn).toContain('search_path=pg_catalog, pg_temp');
    }
  });

  it('reads users.password_hash and webhooks.signing_secret_encrypted (the decision above); readonly reads neither', async () => {
    const { rows } = await app.client.query('SELECT password_hash FROM agentry.users WHERE id = $1', [fixture.userId]);
    expect(rows[0].password_hash).toMatch(/^\$2b\$12\$/);
    const { rows: hooks } = await app.client.query('SELECT count(signing_secret_encrypted)::int AS n FROM agentry.webhooks');
    expect(hooks[0].n).toBeGreaterThanOrEqual(0);
    await refusals.expect(ro.client, 'readonly', 'SELECT password_hash FROM agentry.users');
    await refusals.expect(ro.client, 'readonly', 'SELECT signing_secret_encrypted FROM agentry.webhooks');
    await refusals.expect(ro.client, 'readonly', 'SELECT key_hash FROM agentry.api_keys');
    await refusals.expect(ro.client, 'readonly', 'SELECT token_hash FROM agentry.user_sessions');
  });
});

async function sequences(): Promise<string[]> {
  const { rows } = await db.pool.query<{ seq: string }>(
    `SELECT 'agentry.' || quote_ident(c.relname) AS seq FROM pg_class c WHERE c.relnamespace = 'agentry'::regnamespace AND c.relkind = 'S' ORDER BY 1`,
  );
  expect(rows.length).toBeGreaterThan(3);
  return rows.map((r) => r.seq);
}

/** A digest of every table's rows (the superuser reads them all): what a refused write must leave unchanged. */
async function fingerprint(): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const r of relations.filter((x) => x.kind === 'r')) {
    const { rows } = await db.pool.query<{ h: string | null }>(`SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h FROM ${q(r.name)} t`);
    result[r.name] = rows[0]!.h ?? 'empty';
  }
  return result;
}
