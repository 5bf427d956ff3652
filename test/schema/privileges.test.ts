import { createHash, randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { quoteIdent } from '../../src/db/identifiers.js';
import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, SQLSTATE } from './support.js';

// Roles (migrations/1764547200000_roles.sql) and the GRANTs of every
// migration, tried by logging in: a LOGIN role per run is made a member of
// agentry_app or agentry_readonly and connects with its own pg.Client.

const db = useTestDatabase();

/** Reference data: seeded by migrations, read-only for every role but the owner. */
// Read-only for the app: reference data, and the task-graph lock row that only
// agentry.lock_task_graph() (SECURITY DEFINER) writes.
const REFERENCE_TABLES = ['agent_types', 'task_graph_lock', 'task_status_transitions', 'task_types'];
/** Append-only for the app: INSERT and SELECT only. */
const APPEND_ONLY = ['audit_logs', 'trust_records'];
/** Columns agentry_readonly must not read. */
const HIDDEN_FROM_READONLY = ['api_keys.key_hash', 'user_sessions.token_hash', 'users.password_hash', 'webhooks.signing_secret_encrypted'];
/** Columns agentry_app must not read (it checks them through verify_api_key / verify_session_token). */
const HIDDEN_FROM_APP = ['api_keys.key_hash', 'user_sessions.token_hash'];

interface Login {
  role: string;
  client: pg.Client;
}
const logins: Login[] = [];
let app: pg.Client;
let ro: pg.Client;

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();
const API_KEY = `ag_live_${randomBytes(16).toString('hex')}`;
const SESSION_TOKEN = randomBytes(32).toString('base64url');
const BCRYPT = `$2b$12$${'b'.repeat(53)}`;
const fixture = { userId: '', apiKeyId: '', sessionId: '', webhookId: '', agentId: '', taskId: '', workerId: '' };

async function login(member: 'agentry_app' | 'agentry_readonly'): Promise<pg.Client> {
  const role = `agentry_t_${member === 'agentry_app' ? 'app' : 'ro'}_${randomBytes(5).toString('hex')}`;
  const password = randomBytes(18).toString('hex');
  const [ddl] = await accepted<{ sql: string }>(db.pool, 'SELECT format($1, $2::text, $3::text, $4::text) AS sql', [
    'CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I',
    role,
    password,
    member,
  ]);
  await db.pool.query(ddl!.sql);
  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString() });
  logins.push({ role, client });
  await client.connect();
  return client;
}

/** Tables and views of schema agentry the roles work with (partitions and the migrations table excluded). */
async function relations(kinds: string[] = ['r', 'p']): Promise<string[]> {
  const rows = await accepted<{ name: string }>(
    db.pool,
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'agentry' AND c.relkind = ANY($1::"char"[]) AND NOT c.relispartition AND c.relname !~ '^pgmigrations($|_)'
      ORDER BY 1`,
    [kinds],
  );
  return rows.map((r) => r.name);
}

interface Column {
  name: string;
  generated: boolean;
  identity: boolean;
}
async function columns(table: string): Promise<Column[]> {
  return accepted<Column>(
    db.pool,
    `SELECT a.attname AS name, a.attgenerated <> '' AS generated, a.attidentity <> '' AS identity
       FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [`agentry.${table}`],
  );
}

async function expectDenied(client: pg.Client, sql: string, params: unknown[] = []): Promise<void> {
  const error = await errorOf(client, sql, params);
  expect(error.code, `${sql}: ${error.message}`).toBe(SQLSTATE.insufficientPrivilege);
}

beforeAll(async () => {
  const [user] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.users (username, email, password_hash) VALUES ('privileged', 'privileged@example.com', $1) RETURNING id`,
    [BCRYPT],
  );
  fixture.userId = user!.id;
  const [key] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name, scopes) VALUES ('ag_live_priv', $1, 'client-1', 'ci key', '{tasks:write}') RETURNING id`,
    [sha256(API_KEY)],
  );
  fixture.apiKeyId = key!.id;
  const [session] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.user_sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '1 hour') RETURNING id`,
    [fixture.userId, sha256(SESSION_TOKEN)],
  );
  fixture.sessionId = session!.id;
  fixture.agentId = `priv-${randomUUID().slice(0, 8)}`;
  await accepted(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $1)', [fixture.agentId]);
  const [webhook] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.webhooks (agent_id, url, events, signing_secret_encrypted) VALUES ($1, 'https://hooks.example.com/a', '{task.completed}', $2) RETURNING id`,
    [fixture.agentId, randomBytes(60)],
  );
  fixture.webhookId = webhook!.id;
  const [task] = await accepted<{ id: string }>(db.pool, `INSERT INTO agentry.tasks (title) VALUES ('privileges fixture') RETURNING id`);
  fixture.taskId = task!.id;
  const [worker] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.workers (machine_id, machine_name, system_info, tools) VALUES ('priv-m', 'priv-m', '{}', '[]') RETURNING id`,
  );
  fixture.workerId = worker!.id;
  await accepted(db.pool, `INSERT INTO agentry.audit_logs (event_type, action, success, api_key_id) VALUES ('authentication', 'login', true, $1)`, [
    fixture.apiKeyId,
  ]);

  app = await login('agentry_app');
  ro = await login('agentry_readonly');
});

afterAll(async () => {
  for (const { client } of logins) await client.end().catch(() => undefined);
  for (const { role } of logins) await db.pool.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
});

describe('roles and ownership', () => {
  it('the three roles exist, cannot log in themselves, and the test logins inherit from them', async () => {
    const rows = await accepted(
      db.pool,
      `SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname IN ('agentry_owner', 'agentry_app', 'agentry_readonly') ORDER BY 1`,
    );
    expect(rows).toEqual(
      ['agentry_app', 'agentry_owner', 'agentry_readonly'].map((rolname) => ({
        rolname,
        rolcanlogin: false,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolbypassrls: false,
      })),
    );
    const { rows: who } = await app.query<{ user: string; member: boolean }>(`SELECT current_user AS user, pg_has_role('agentry_app', 'USAGE') AS member`);
    expect(who[0]!.member).toBe(true);
    expect(who[0]!.user).toBe(logins[0]!.role);
  });

  it('agentry_owner owns the schema and every table, view, sequence, index, function and type in it (node-pg-migrate’s bookkeeping aside)', async () => {
    const [schema] = await accepted(db.pool, `SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'agentry'`);
    expect(schema!.owner).toBe('agentry_owner');
    const relations = await accepted<{ name: string; kind: string; owner: string }>(
      db.pool,
      `SELECT c.relname AS name, c.relkind::text AS kind, pg_get_userbyid(c.relowner) AS owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'agentry' AND c.relname !~ '^pgmigrations($|_)'`,
    );
    expect(relations.length).toBeGreaterThan(100);
    expect([...new Set(relations.map((r) => r.kind))]).toEqual(expect.arrayContaining(['r', 'p', 'v', 'S', 'i', 'I']));
    expect(relations.filter((r) => r.owner !== 'agentry_owner')).toEqual([]);
    const others = await accepted(
      db.pool,
      `SELECT 'function ' || p.oid::regprocedure AS object, pg_get_userbyid(p.proowner) AS owner FROM pg_proc p WHERE p.pronamespace = 'agentry'::regnamespace
       UNION ALL
       SELECT 'type ' || t.typname, pg_get_userbyid(t.typowner) FROM pg_type t
        WHERE t.typnamespace = 'agentry'::regnamespace AND t.typname !~ '^_?pgmigrations($|_)'`,
    );
    expect(others.length).toBeGreaterThan(20);
    expect(others.filter((o) => o.owner !== 'agentry_owner')).toEqual([]);
  });

  it('the schema: USAGE for agentry_app and agentry_readonly, CREATE for nobody but the owner, nothing for PUBLIC', async () => {
    const rows = await accepted(
      db.pool,
      `SELECT coalesce(nullif(pg_get_userbyid(a.grantee), '-'), 'PUBLIC') AS grantee, a.privilege_type AS privilege
         FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'agentry' AND a.grantee <> 0 ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { grantee: 'agentry_app', privilege: 'USAGE' },
      { grantee: 'agentry_owner', privilege: 'CREATE' },
      { grantee: 'agentry_owner', privilege: 'USAGE' },
      { grantee: 'agentry_readonly', privilege: 'USAGE' },
    ]);
    const [publicGrants] = await accepted(
      db.pool,
      `SELECT count(*)::int AS n FROM pg_namespace n, aclexplode(n.nspacl) a WHERE n.nspname = 'agentry' AND a.grantee = 0`,
    );
    expect(publicGrants!.n).toBe(0);
  });

  it('table grants: app has exactly SELECT/INSERT/UPDATE/DELETE (INSERT/SELECT on the ledgers, SELECT on reference data and views), readonly exactly SELECT, PUBLIC nothing', async () => {
    const rows = await accepted<{ name: string; grantee: string; privileges: string[] }>(
      db.pool,
      `SELECT c.relname AS name, coalesce(nullif(pg_get_userbyid(a.grantee), '-'), 'PUBLIC') AS grantee,
              array_agg(a.privilege_type ORDER BY a.privilege_type) AS privileges
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
        WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition AND a.grantee <> c.relowner
        GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const byTable = new Map<string, Record<string, string[]>>();
    for (const r of rows) byTable.set(r.name, { ...byTable.get(r.name), [r.grantee]: r.privileges });
    const views = await relations(['v']);
    for (const table of [...(await relations()), ...views]) {
      const grants = byTable.get(table) ?? {};
      expect(Object.keys(grants).sort(), table).toEqual(
        // Tables with secret columns grant SELECT column by column (checked below).
        ['api_keys', 'user_sessions', 'users', 'webhooks'].includes(table) ? ['agentry_app'] : ['agentry_app', 'agentry_readonly'],
      );
      const appExpected = REFERENCE_TABLES.includes(table) || views.includes(table)
        ? ['SELECT']
        : APPEND_ONLY.includes(table)
          ? ['INSERT', 'SELECT']
          : ['api_keys', 'user_sessions', 'users', 'webhooks'].includes(table)
            ? ['DELETE', 'INSERT', 'UPDATE']
            : ['DELETE', 'INSERT', 'SELECT', 'UPDATE'];
      expect(grants['agentry_app'], table).toEqual(appExpected);
      if (grants['agentry_readonly']) expect(grants['agentry_readonly'], table).toEqual(['SELECT']);
    }
  });

  it('column grants: readonly cannot read exactly the hashes and secrets (users.password_hash included), app exactly the two hashes', async () => {
    const hidden = async (role: string) =>
      (
        await accepted<{ col: string }>(
          db.pool,
          `SELECT c.relname || '.' || a.attname AS col
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE n.nspname = 'agentry' AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition AND c.relname !~ '^pgmigrations($|_)'
              AND a.attnum > 0 AND NOT a.attisdropped AND NOT has_column_privilege($1, c.oid, a.attnum, 'SELECT')
            ORDER BY 1`,
          [role],
        )
      ).map((r) => r.col);
    expect(await hidden('agentry_readonly')).toEqual(HIDDEN_FROM_READONLY);
    expect(await hidden('agentry_app')).toEqual(HIDDEN_FROM_APP);
  });

  it('neither role can become the owner', async () => {
    await expectDenied(app, 'SET ROLE agentry_owner');
    await expectDenied(ro, 'SET ROLE agentry_owner');
    await expectDenied(ro, 'SET ROLE agentry_app');
  });

  it('SECURITY DEFINER functions that can be called directly are not executable by PUBLIC', async () => {
    const rows = await accepted<{ fn: string; public: boolean }>(
      db.pool,
      `SELECT p.oid::regprocedure::text AS fn, has_function_privilege('public', p.oid, 'EXECUTE') AS public
         FROM pg_proc p WHERE p.pronamespace = 'agentry'::regnamespace AND p.prosecdef AND p.prorettype <> 'trigger'::regtype ORDER BY 1`,
    );
    expect(rows.map((r) => r.fn).sort()).toEqual(
      [
        'create_monthly_partitions(regclass,date,date)',
        'lock_task_graph()',
        'maintain_partitions(integer,integer,boolean,timestamp with time zone)',
        'verify_api_key(bytea)',
        'verify_session_token(bytea)',
      ].sort(),
    );
    expect(rows.filter((r) => r.public)).toEqual([]);
  });
});

describe('agentry_app', () => {
  it('can SELECT, INSERT, UPDATE and DELETE every ordinary table (statement-level check on each)', async () => {
    const tables = (await relations()).filter((t) => !REFERENCE_TABLES.includes(t) && !APPEND_ONLY.includes(t));
    expect(tables.length).toBeGreaterThan(25);
    for (const table of tables) {
      const cols = (await columns(table)).filter((c) => !HIDDEN_FROM_APP.includes(`${table}.${c.name}`));
      const writable = cols.find((c) => !c.generated && !c.identity)!;
      const q = `agentry.${quoteIdent(table)}`;
      await app.query(`SELECT ${cols.map((c) => quoteIdent(c.name)).join(', ')} FROM ${q} LIMIT 1`);
      await app.query(`INSERT INTO ${q} (${quoteIdent(writable.name)}) SELECT NULL WHERE false`);
      await app.query(`UPDATE ${q} SET ${quoteIdent(writable.name)} = ${quoteIdent(writable.name)} WHERE false`);
      await app.query(`DELETE FROM ${q} WHERE false`);
    }
  });

  it('works a task through checkpoint, correction, evaluation, metrics and logs end to end', async () => {
    const agent = `app-${randomUUID().slice(0, 8)}`;
    await app.query('INSERT INTO agentry.agents (id, name, type) VALUES ($1, $1, $2)', [agent, 'CodeAgent']);
    const { rows: t } = await app.query<{ id: string }>(
      `INSERT INTO agentry.tasks (type, input, agent_id) VALUES ('code_generation', '{"specification": "fizzbuzz"}', $1) RETURNING *`,
      [agent],
    );
    const task = t[0]!.id;
    await app.query(`UPDATE agentry.tasks SET status = 'queued' WHERE id = $1`, [task]);
    await app.query(`UPDATE agentry.tasks SET status = 'running' WHERE id = $1`, [task]);
    const { rows: cp } = await app.query<{ id: string }>('INSERT INTO agentry.checkpoints (task_id) VALUES ($1) RETURNING id', [task]);
    const { rows: decided } = await app.query(`UPDATE agentry.checkpoints SET user_decision = 'correct' WHERE id = $1 RETURNING status`, [cp[0]!.id]);
    expect(decided[0].status).toBe('corrected');
    const { rows: c } = await app.query<{ id: string }>(
      `INSERT INTO agentry.corrections (checkpoint_id, task_id, correction_type, guidance, apply_to_future) VALUES ($1, $2, 'bug', 'Off by one', true) RETURNING id`,
      [cp[0]!.id, task],
    );
    const { rows: learned } = await app.query('SELECT agent_id, lesson FROM agentry.learning_experiences WHERE correction_id = $1', [c[0]!.id]);
    expect(learned).toEqual([{ agent_id: agent, lesson: 'Off by one' }]);
    const { rows: ev } = await app.query(`INSERT INTO agentry.evaluations (task_id, security, testability) VALUES ($1, 9, 6) RETURNING overall_score`, [task]);
    expect(ev[0].overall_score).toBe('8.0');
    // Identity columns: the app inserts without any privilege on their sequences.
    for (const sql of [
      `INSERT INTO agentry.agent_metrics (agent_id, metric_type, metric_value) VALUES ($1, 'latency', 12) RETURNING id`,
      `INSERT INTO agentry.activity_logs (task_id, level, message) SELECT id, 'info', 'started' FROM agentry.tasks WHERE agent_id = $1 RETURNING id`,
      `INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta) VALUES ($1, 'task_completed', 0.05) RETURNING id`,
      `INSERT INTO agentry.audit_logs (event_type, action, success, resource_id) VALUES ('task_created', 'create', true, $1) RETURNING id`,
      `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload) SELECT id, 'task.completed', '{}' FROM agentry.webhooks WHERE agent_id = $1 RETURNING id`,
    ]) {
      const params = sql.includes('webhook_deliveries') ? [fixture.agentId] : [agent];
      const { rows } = await app.query<{ id: string }>(sql, params);
      expect(rows, sql).toHaveLength(1);
      expect(rows[0]!.id).toMatch(/^\d+$/);
    }
    const { rows: trust } = await app.query('SELECT trust_score FROM agentry.agents WHERE id = $1', [agent]);
    expect(trust[0].trust_score).toBe('0.5500');
    const { rows: deleted } = await app.query('DELETE FROM agentry.tasks WHERE id = $1 RETURNING id', [task]);
    expect(deleted).toHaveLength(1);
    await app.query('DELETE FROM agentry.agents WHERE id = $1', [agent]);
  });

  it('reads the task readiness view and the reference data, but cannot change reference data', async () => {
    const { rows } = await app.query(`SELECT count(*)::int AS n FROM agentry.task_readiness`);
    expect(rows[0].n).toBeGreaterThan(0);
    const { rows: types } = await app.query(`SELECT count(*)::int AS n FROM agentry.task_types`);
    expect(types[0].n).toBeGreaterThanOrEqual(13);
    await expectDenied(app, `INSERT INTO agentry.task_types (name, description, agent_type) VALUES ('sneaky', 'x', 'CodeAgent')`);
    await expectDenied(app, `INSERT INTO agentry.task_status_transitions (from_status, to_status) VALUES ('completed', 'running')`);
    await expectDenied(app, `UPDATE agentry.task_types SET required_input_keys = '{}' WHERE name = 'translation'`);
    await expectDenied(app, `DELETE FROM agentry.agent_types WHERE name = 'NLPAgent'`);
  });

  it('cannot run DDL in agentry', async () => {
    for (const sql of [
      'CREATE TABLE agentry.app_scratch (id int)',
      'CREATE VIEW agentry.app_view AS SELECT 1 AS one',
      'CREATE FUNCTION agentry.app_fn() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      'ALTER TABLE agentry.tasks ADD COLUMN app_note text',
      'ALTER TABLE agentry.tasks DROP CONSTRAINT chk_tasks_priority_range',
      'ALTER TABLE agentry.audit_logs DISABLE TRIGGER trg_audit_logs_append_only',
      'ALTER TABLE agentry.trust_records DISABLE TRIGGER USER',
      'CREATE INDEX app_idx ON agentry.tasks (title)',
      'DROP TABLE agentry.tasks',
      'DROP INDEX agentry.idx_tasks_created_at',
      'DROP FUNCTION agentry.set_updated_at()',
      'TRUNCATE agentry.tasks',
      'COMMENT ON TABLE agentry.tasks IS $$mine$$',
      'CREATE TRIGGER app_trg BEFORE INSERT ON agentry.tasks FOR EACH ROW EXECUTE FUNCTION agentry.set_updated_at()',
      'ALTER SCHEMA agentry RENAME TO mine',
    ]) {
      await expectDenied(app, sql);
    }
    const [found] = await accepted(db.pool, `SELECT to_regclass('agentry.app_scratch') AS t, to_regclass('agentry.idx_tasks_created_at')::text AS idx`);
    expect(found).toEqual({ t: null, idx: 'idx_tasks_created_at' });
  });

  it('inserts into audit_logs but cannot UPDATE, DELETE or TRUNCATE it, nor reach its partitions directly', async () => {
    const { rows } = await app.query<{ id: string }>(
      `INSERT INTO agentry.audit_logs (event_type, action, success) VALUES ('authentication', 'login', false) RETURNING id`,
    );
    const id = rows[0]!.id;
    await app.query(`SELECT set_config('agentry.partition_maintenance', 'on', false)`);
    await expectDenied(app, `UPDATE agentry.audit_logs SET success = true WHERE id = $1`, [id]);
    await expectDenied(app, 'DELETE FROM agentry.audit_logs WHERE id = $1', [id]);
    await expectDenied(app, 'TRUNCATE agentry.audit_logs');
    await expectDenied(app, 'DELETE FROM agentry.audit_logs_default');
    await expectDenied(app, 'TRUNCATE agentry.audit_logs_default');
    await app.query(`SELECT set_config('agentry.partition_maintenance', '', false)`);
    const [row] = await accepted(db.pool, 'SELECT success FROM agentry.audit_logs WHERE id = $1', [id]);
    expect(row!.success).toBe(false);
  });

  it('inserts trust records but cannot UPDATE or DELETE them, nor set a trust score directly', async () => {
    const { rows } = await app.query<{ id: string; trust_score_after: string }>(
      `INSERT INTO agentry.trust_records (agent_id, event_type, trust_delta) VALUES ($1, 'manual_adjustment', 0.1) RETURNING id, trust_score_after`,
      [fixture.agentId],
    );
    const id = rows[0]!.id;
    await expectDenied(app, `UPDATE agentry.trust_records SET trust_delta = 0.5 WHERE id = $1`, [id]);
    await expectDenied(app, 'DELETE FROM agentry.trust_records WHERE id = $1', [id]);
    await expectDenied(app, 'TRUNCATE agentry.trust_records');
    // The app may update agents, but trg_agents_trust_score_guard lets only the ledger move the score,
    // whatever the app puts in the session settings.
    await app.query(`SELECT set_config('agentry.trust_write', 'on', false)`);
    const error = await errorOf(app, 'UPDATE agentry.agents SET trust_score = 1 WHERE id = $1', [fixture.agentId]);
    expect([error.code, error.constraint]).toEqual([SQLSTATE.trust, 'trg_agents_trust_score_guard']);
    await app.query(`SELECT set_config('agentry.trust_write', '', false)`);
    const [agent] = await accepted(db.pool, 'SELECT trust_score FROM agentry.agents WHERE id = $1', [fixture.agentId]);
    expect(agent!.trust_score).toBe(rows[0]!.trust_score_after);
  });

  it('cannot read api_keys.key_hash or user_sessions.token_hash in any way, but can write them', async () => {
    for (const sql of [
      'SELECT key_hash FROM agentry.api_keys',
      'SELECT * FROM agentry.api_keys',
      'SELECT k FROM agentry.api_keys k',
      'SELECT count(*) FROM agentry.api_keys WHERE key_hash IS NOT NULL',
      'SELECT token_hash FROM agentry.user_sessions',
      'SELECT * FROM agentry.user_sessions',
      'SELECT id FROM agentry.user_sessions ORDER BY token_hash',
    ]) {
      await expectDenied(app, sql);
    }
    await expectDenied(app, 'DELETE FROM agentry.api_keys WHERE key_hash = $1', [sha256(API_KEY)]);
    await expectDenied(app, 'UPDATE agentry.user_sessions SET status = $2 WHERE token_hash = $1', [sha256(SESSION_TOKEN), 'revoked']);
    await expectDenied(
      app,
      `INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name) VALUES ('ag_live_ret', $1, 'client-2', 'k') RETURNING *`,
      [randomBytes(32)],
    );
    // Write-only: a key is created and rotated without reading a hash back.
    const { rows } = await app.query<{ id: string }>(
      `INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name) VALUES ('ag_live_app', $1, 'client-2', 'app key') RETURNING id, key_prefix`,
      [randomBytes(32)],
    );
    await app.query('UPDATE agentry.api_keys SET key_hash = $2, active = false WHERE id = $1', [rows[0]!.id, randomBytes(32)]);
    const { rows: sessions } = await app.query('SELECT id, user_id, status FROM agentry.user_sessions WHERE id = $1', [fixture.sessionId]);
    expect(sessions).toEqual([{ id: fixture.sessionId, user_id: fixture.userId, status: 'active' }]);
  });

  it('can read users.password_hash (to check a password) and webhooks.signing_secret_encrypted (to sign)', async () => {
    const { rows } = await app.query('SELECT password_hash FROM agentry.users WHERE id = $1', [fixture.userId]);
    expect(rows[0].password_hash).toBe(BCRYPT);
    const { rows: hooks } = await app.query('SELECT signing_secret_encrypted FROM agentry.webhooks WHERE id = $1', [fixture.webhookId]);
    expect(Buffer.isBuffer(hooks[0].signing_secret_encrypted)).toBe(true);
    expect(hooks[0].signing_secret_encrypted).toHaveLength(60);
  });

  it('checks a key and a token through verify_api_key and verify_session_token', async () => {
    const { rows: key } = await app.query('SELECT * FROM agentry.verify_api_key($1)', [sha256(API_KEY)]);
    expect(key).toEqual([
      { api_key_id: fixture.apiKeyId, client_id: 'client-1', key_prefix: 'ag_live_priv', scopes: ['tasks:write'], rate_limit_per_minute: 60, rate_limit_per_hour: 1000 },
    ]);
    expect((await app.query('SELECT * FROM agentry.verify_api_key($1)', [sha256('wrong')])).rows).toEqual([]);
    const { rows: session } = await app.query('SELECT user_session_id, user_id FROM agentry.verify_session_token($1)', [sha256(SESSION_TOKEN)]);
    expect(session).toEqual([{ user_session_id: fixture.sessionId, user_id: fixture.userId }]);
    expect((await app.query('SELECT * FROM agentry.verify_session_token($1)', [sha256('wrong')])).rows).toEqual([]);
  });

  it('cannot call maintain_partitions or create_monthly_partitions', async () => {
    await expectDenied(app, 'SELECT * FROM agentry.maintain_partitions()');
    await expectDenied(app, `SELECT * FROM agentry.maintain_partitions(1, 1, true, now())`);
    await expectDenied(app, `SELECT agentry.create_monthly_partitions('agentry.audit_logs', '2070-01-01', '2070-02-01')`);
    const [n] = await accepted(db.pool, `SELECT to_regclass('agentry.audit_logs_y2070m01') AS t`);
    expect(n!.t).toBeNull();
  });
});

describe('agentry_readonly', () => {
  it('can SELECT every column of every table and view except the hashes and secrets', async () => {
    let visibleRows = 0;
    for (const table of [...(await relations()), ...(await relations(['v']))]) {
      const cols = (await columns(table)).filter((c) => !HIDDEN_FROM_READONLY.includes(`${table}.${c.name}`));
      const { rows } = await ro.query(`SELECT ${cols.map((c) => quoteIdent(c.name)).join(', ')} FROM agentry.${quoteIdent(table)} LIMIT 1`);
      visibleRows += rows.length;
    }
    expect(visibleRows).toBeGreaterThan(10);
    const { rows } = await ro.query('SELECT id, username, email FROM agentry.users WHERE id = $1', [fixture.userId]);
    expect(rows).toEqual([{ id: fixture.userId, username: 'privileged', email: 'privileged@example.com' }]);
  });

  it('cannot read users.password_hash, api_keys.key_hash, user_sessions.token_hash or webhooks.signing_secret_encrypted', async () => {
    for (const col of HIDDEN_FROM_READONLY) {
      const [table, column] = col.split('.') as [string, string];
      await expectDenied(ro, `SELECT ${quoteIdent(column)} FROM agentry.${quoteIdent(table)}`);
      await expectDenied(ro, `SELECT * FROM agentry.${quoteIdent(table)}`);
    }
  });

  it('cannot INSERT, UPDATE, DELETE or TRUNCATE any table', async () => {
    for (const table of await relations()) {
      const cols = (await columns(table)).filter((c) => !HIDDEN_FROM_READONLY.includes(`${table}.${c.name}`));
      const writable = cols.find((c) => !c.generated && !c.identity)!;
      const q = `agentry.${quoteIdent(table)}`;
      await expectDenied(ro, `INSERT INTO ${q} (${quoteIdent(writable.name)}) SELECT NULL WHERE false`);
      await expectDenied(ro, `UPDATE ${q} SET ${quoteIdent(writable.name)} = ${quoteIdent(writable.name)} WHERE false`);
      await expectDenied(ro, `DELETE FROM ${q} WHERE false`);
      await expectDenied(ro, `TRUNCATE ${q}`);
    }
    // A real row is refused too, and nothing is written.
    await expectRefusedAs(ro, `INSERT INTO agentry.tasks (title) VALUES ('from readonly')`, 'tasks');
    await expectRefusedAs(ro, `UPDATE agentry.tasks SET title = 'changed' WHERE id = $1`, 'tasks', [fixture.taskId]);
    await expectRefusedAs(ro, 'DELETE FROM agentry.workers WHERE id = $1', 'workers', [fixture.workerId]);
  });

  it('cannot call the verify functions, the partition functions, nor run DDL', async () => {
    await expectDenied(ro, 'SELECT * FROM agentry.verify_api_key($1)', [sha256(API_KEY)]);
    await expectDenied(ro, 'SELECT * FROM agentry.verify_session_token($1)', [sha256(SESSION_TOKEN)]);
    await expectDenied(ro, 'SELECT * FROM agentry.maintain_partitions()');
    await expectDenied(ro, `SELECT agentry.create_monthly_partitions('agentry.audit_logs', '2070-01-01', '2070-02-01')`);
    await expectDenied(ro, 'CREATE TABLE agentry.ro_scratch (id int)');
    await expectDenied(ro, 'ALTER TABLE agentry.tasks ADD COLUMN ro_note text');
    // The validators used by CHECKs are callable by both roles.
    const { rows } = await ro.query(`SELECT agentry.is_valid_cron('*/5 * * * *') AS cron, agentry.is_valid_timezone('Europe/Paris') AS tz`);
    expect(rows).toEqual([{ cron: true, tz: true }]);
  });
});

/** A statement refused for lack of privilege that leaves `table` unchanged (expectRefused for privileges). */
async function expectRefusedAs(client: pg.Client, sql: string, table: string, params: unknown[] = []): Promise<void> {
  const [before] = await accepted(db.pool, `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h FROM agentry.${quoteIdent(table)} t`);
  await expectDenied(client, sql, params);
  expect(await accepted(db.pool, `SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS h FROM agentry.${quoteIdent(table)} t`)).toEqual([before]);
}
