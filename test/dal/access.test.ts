import { createHash, randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ApiKeysId, UserSessionsId, UsersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConstraintViolation, NotFound, ValidationError } from '../../src/dal/errors.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();

// The DAL runs as the application role, which cannot read key_hash or token_hash: every statement is checked
// against its grants as well.
const AS_APP = '-c role=agentry_app';
const BCRYPT = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';
const ARGON2ID = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

let agentry: AgentryClient;

beforeAll(() => {
  agentry = createAgentry({ connectionString: db.url, options: AS_APP, max: 4 });
});

afterAll(async () => {
  await agentry?.close();
});

const suffix = () => randomBytes(4).toString('hex');
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

async function expectViolation(promise: Promise<unknown>, constraint: string): Promise<void> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(ConstraintViolation);
  expect(error).toMatchObject({ constraint });
}

async function auditRows(apiKeyId: string): Promise<{ event_type: string; action: string; client_id: string; user_id: string | null; metadata: Record<string, unknown> }[]> {
  const { rows } = await db.pool.query('SELECT * FROM agentry.audit_logs WHERE api_key_id = $1 ORDER BY id', [apiKeyId]);
  return rows;
}

async function newUser(): Promise<UsersId> {
  const name = `user_${suffix()}`;
  const user = await agentry.access.createUser(name, `${name}@example.com`, BCRYPT);
  return user.id;
}

/** Waits while the current UTC minute has under `seconds` left, so that a burst of hits falls in one window. */
async function awayFromMinuteEnd(seconds = 5): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe('createApiKey', () => {
  it('returns the key once, stores only its SHA-256 and public prefix, and audits the creation', async () => {
    const clientId = `client-${suffix()}`;
    const { apiKey, key } = await agentry.access.createApiKey({
      clientId,
      name: 'CI pipeline',
      scopes: ['tasks:read', 'tasks:write'],
      rateLimits: { perMinute: 5, perHour: 100 },
      description: 'deploys',
      createdBy: 'ops@example.com',
    });
    expect(key).toMatch(/^ains_[A-Za-z0-9_-]{44}$/);
    expect(apiKey.key_prefix).toBe(key.slice(0, 17));
    expect(apiKey.key_prefix).toMatch(/^ains_[A-Za-z0-9_]{12}$/);
    expect(apiKey).toMatchObject({
      client_id: clientId,
      name: 'CI pipeline',
      scopes: ['tasks:read', 'tasks:write'],
      active: true,
      rate_limit_per_minute: 5,
      rate_limit_per_hour: 100,
      description: 'deploys',
      created_by: 'ops@example.com',
      expires_at: null,
      last_used_at: null,
    });
    expect(apiKey).not.toHaveProperty('key_hash');

    const { rows } = await db.pool.query<{ hash: string; whole: string }>(
      `SELECT encode(key_hash, 'hex') AS hash, row_to_json(k)::text || encode(key_hash, 'escape') AS whole FROM agentry.api_keys k WHERE id = $1`,
      [apiKey.id],
    );
    expect(rows[0]!.hash).toBe(sha256Hex(key));
    const secretPart = key.slice(17);
    expect(rows[0]!.whole).not.toContain(secretPart);
    expect(rows[0]!.whole).not.toContain(key);

    const audit = await auditRows(apiKey.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ event_type: 'api_key_created', action: 'create_api_key', client_id: clientId });
    expect(JSON.stringify(audit)).not.toContain(secretPart);
  });

  it("gives the columns' default rate limits when none are given, and distinct, well-formed prefixes", async () => {
    const { rows: defaults } = await db.pool.query<{ column_name: string; column_default: string }>(
      `SELECT column_name, column_default FROM information_schema.columns
        WHERE table_schema = 'agentry' AND table_name = 'api_keys' AND column_name LIKE 'rate_limit_per_%'`,
    );
    const expected = Object.fromEntries(defaults.map((row) => [row.column_name, Number(row.column_default)]));
    const created = await Promise.all(Array.from({ length: 30 }, () => agentry.access.createApiKey({ clientId: 'bulk', name: 'bulk', scopes: [] })));
    for (const { apiKey, key } of created) {
      expect(apiKey).toMatchObject(expected);
      expect(key.startsWith(apiKey.key_prefix)).toBe(true);
      expect(apiKey.key_prefix).not.toContain('-');
    }
    expect(new Set(created.map(({ apiKey }) => apiKey.key_prefix)).size).toBe(30);
  });

  it("refuses bad input before SQL, lets the database's refusals through, and audits nothing then", async () => {
    const clientId = `refused-${suffix()}`;
    await expect(agentry.access.createApiKey({ clientId, name: 'x', scopes: 'tasks:read' as unknown as string[] })).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.createApiKey({ clientId, name: undefined as unknown as string, scopes: [] })).rejects.toBeInstanceOf(ValidationError);
    await expectViolation(agentry.access.createApiKey({ clientId, name: 'x', scopes: ['Tasks Read'] }), 'chk_api_keys_scopes_format');
    await expectViolation(
      agentry.access.createApiKey({ clientId, name: 'x', scopes: [], rateLimits: { perMinute: 2000 } }),
      'chk_api_keys_rate_limits_consistent',
    );
    await expectViolation(
      agentry.access.createApiKey({ clientId, name: 'x', scopes: [], rateLimits: { perMinute: 0 } }),
      'chk_api_keys_rate_limit_per_minute_positive',
    );
    await expectViolation(
      agentry.access.createApiKey({ clientId, name: 'x', scopes: [], expiresAt: new Date(Date.now() - 60_000) }),
      'chk_api_keys_expires_after_created',
    );
    const { rows } = await db.pool.query<{ keys: number; audits: number }>(
      `SELECT (SELECT count(*)::int FROM agentry.api_keys WHERE client_id = $1) AS keys,
              (SELECT count(*)::int FROM agentry.audit_logs WHERE client_id = $1) AS audits`,
      [clientId],
    );
    expect(rows[0]).toEqual({ keys: 0, audits: 0 });
  });
});

describe('verifyApiKey', () => {
  it("returns the key's client, scopes and limits, and touches last_used_at at most once a minute", async () => {
    const { apiKey, key } = await agentry.access.createApiKey({ clientId: 'verifier', name: 'v', scopes: ['tasks:read'], rateLimits: { perMinute: 7 } });
    const grant = await agentry.access.verifyApiKey(key);
    expect(grant).toEqual({
      api_key_id: apiKey.id,
      client_id: 'verifier',
      key_prefix: apiKey.key_prefix,
      scopes: ['tasks:read'],
      rate_limit_per_minute: 7,
      rate_limit_per_hour: 1000,
    });
    const first = (await agentry.access.getApiKey(apiKey.id)).last_used_at;
    expect(first).toBeInstanceOf(Date);
    await agentry.access.verifyApiKey(key);
    expect((await agentry.access.getApiKey(apiKey.id)).last_used_at).toEqual(first);
    await db.pool.query(`UPDATE agentry.api_keys SET last_used_at = now() - interval '2 minutes' WHERE id = $1`, [apiKey.id]);
    await agentry.access.verifyApiKey(key);
    const touched = (await agentry.access.getApiKey(apiKey.id)).last_used_at!;
    expect(Date.now() - touched.getTime()).toBeLessThan(60_000);
  });

  it('returns null for a wrong, altered, malformed, revoked or expired key', async () => {
    const { apiKey, key } = await agentry.access.createApiKey({ clientId: 'verifier', name: 'v', scopes: [] });
    const other = `ains_${randomBytes(33).toString('base64url')}`;
    const altered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(await agentry.access.verifyApiKey(other)).toBeNull();
    expect(await agentry.access.verifyApiKey(altered)).toBeNull();
    expect(await agentry.access.verifyApiKey(key.slice(5))).toBeNull();
    expect(await agentry.access.verifyApiKey(`${key} `)).toBeNull();
    expect(await agentry.access.verifyApiKey('')).toBeNull();
    await expect(agentry.access.verifyApiKey(42 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
    expect(await agentry.access.verifyApiKey(key)).not.toBeNull();

    await agentry.access.revokeApiKey(apiKey.id);
    expect(await agentry.access.verifyApiKey(key)).toBeNull();

    const expiring = await agentry.access.createApiKey({ clientId: 'verifier', name: 'e', scopes: [], expiresAt: new Date(Date.now() + 3_600_000) });
    expect(await agentry.access.verifyApiKey(expiring.key)).not.toBeNull();
    await db.pool.query(
      `UPDATE agentry.api_keys SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' WHERE id = $1`,
      [expiring.apiKey.id],
    );
    expect(await agentry.access.verifyApiKey(expiring.key)).toBeNull();
  });
});

describe('getApiKey and revokeApiKey', () => {
  it('revokes with an api_key_revoked audit row in the same transaction; a second revoke changes nothing', async () => {
    const user = await newUser();
    const clientId = `revoker-${suffix()}`;
    const { apiKey } = await agentry.access.createApiKey({ clientId, name: 'r', scopes: [] });
    const revoked = await agentry.access.revokeApiKey(apiKey.id, { reason: 'rotated', userId: user });
    expect(revoked).toMatchObject({ id: apiKey.id, active: false, client_id: clientId });
    expect(await agentry.access.getApiKey(apiKey.id)).toMatchObject({ active: false });
    const again = await agentry.access.revokeApiKey(apiKey.id);
    expect(again).toMatchObject({ id: apiKey.id, active: false });
    const audit = await auditRows(apiKey.id);
    expect(audit.map((row) => row.event_type)).toEqual(['api_key_created', 'api_key_revoked']);
    expect(audit[1]).toMatchObject({ action: 'revoke_api_key', client_id: clientId, user_id: user, metadata: { reason: 'rotated', key_prefix: apiKey.key_prefix } });
  });

  it("is undone with the caller's transaction, key and audit row alike", async () => {
    const { apiKey } = await agentry.access.createApiKey({ clientId: 'rollback', name: 'r', scopes: [] });
    const sentinel = new Error('roll back');
    await expect(
      agentry.transaction(async (tx) => {
        await tx.access.revokeApiKey(apiKey.id);
        throw sentinel;
      }),
    ).rejects.toBe(sentinel);
    expect(await agentry.access.getApiKey(apiKey.id)).toMatchObject({ active: true });
    expect((await auditRows(apiKey.id)).map((row) => row.event_type)).toEqual(['api_key_created']);
  });

  it('refuses malformed ids and reports unknown ones as NotFound', async () => {
    await expect(agentry.access.getApiKey('nope' as ApiKeysId)).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.revokeApiKey('nope' as ApiKeysId)).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.getApiKey(UNKNOWN_ID as ApiKeysId)).rejects.toBeInstanceOf(NotFound);
    const error = await failure(agentry.access.revokeApiKey(UNKNOWN_ID as ApiKeysId));
    expect(error).toBeInstanceOf(NotFound);
    expect(error).toMatchObject({ entity: 'api key', id: UNKNOWN_ID });
  });
});

describe('hitRateLimit', () => {
  it('counts hits in the UTC minute and hour windows and answers allowed/remaining against the limit', async () => {
    await awayFromMinuteEnd();
    const { apiKey } = await agentry.access.createApiKey({ clientId: 'limited', name: 'l', scopes: [], rateLimits: { perMinute: 2, perHour: 3 } });
    const minute = [];
    for (let i = 0; i < 3; i += 1) minute.push(await agentry.access.hitRateLimit(apiKey.id, 'minute'));
    expect(minute.map(({ allowed, remaining, request_count, request_limit }) => ({ allowed, remaining, request_count, request_limit }))).toEqual([
      { allowed: true, remaining: 1, request_count: 1, request_limit: 2 },
      { allowed: true, remaining: 0, request_count: 2, request_limit: 2 },
      { allowed: false, remaining: 0, request_count: 3, request_limit: 2 },
    ]);
    const start = minute[0]!.window_start;
    expect(start.getTime() % 60_000).toBe(0);
    expect(minute[0]!.window_end.getTime() - start.getTime()).toBe(60_000);
    expect(Date.now() - start.getTime()).toBeLessThan(60_000);

    const hour = await agentry.access.hitRateLimit(apiKey.id, 'hour');
    expect(hour).toMatchObject({ window_type: 'hour', allowed: true, remaining: 2, request_count: 1, request_limit: 3 });
    expect(hour.window_start.getTime() % 3_600_000).toBe(0);
    expect(hour.window_end.getTime() - hour.window_start.getTime()).toBe(3_600_000);

    const { rows } = await db.pool.query('SELECT window_type, request_count FROM agentry.rate_limit_windows WHERE api_key_id = $1 ORDER BY window_type', [apiKey.id]);
    expect(rows).toEqual([
      { window_type: 'hour', request_count: 1 },
      { window_type: 'minute', request_count: 3 },
    ]);
  });

  it('counts exactly under concurrency from several connections and refuses past the limit', async () => {
    await awayFromMinuteEnd();
    const { apiKey } = await agentry.access.createApiKey({ clientId: 'burst', name: 'b', scopes: [], rateLimits: { perMinute: 25, perHour: 1000 } });
    const clients = [agentry, createAgentry({ connectionString: db.url, options: AS_APP, max: 4 }), createAgentry({ connectionString: db.url, options: AS_APP, max: 4 })];
    try {
      const hits = 60;
      const decisions = await Promise.all(Array.from({ length: hits }, (_, i) => clients[i % clients.length]!.access.hitRateLimit(apiKey.id, 'minute')));
      expect(decisions.map((d) => d.request_count).sort((a, b) => a - b)).toEqual(Array.from({ length: hits }, (_, i) => i + 1));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(25);
      for (const d of decisions) {
        expect(d.allowed).toBe(d.request_count <= 25);
        expect(d.remaining).toBe(Math.max(25 - d.request_count, 0));
      }
      const { rows } = await db.pool.query('SELECT request_count FROM agentry.rate_limit_windows WHERE api_key_id = $1', [apiKey.id]);
      expect(rows).toEqual([{ request_count: hits }]);
    } finally {
      await Promise.all(clients.slice(1).map((client) => client.close()));
    }
  });

  it('refuses a malformed id or window type before SQL and reports an unknown key as NotFound', async () => {
    await expect(agentry.access.hitRateLimit('nope' as ApiKeysId, 'minute')).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.hitRateLimit(UNKNOWN_ID as ApiKeysId, 'day' as 'hour')).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.hitRateLimit(UNKNOWN_ID as ApiKeysId, 'hour')).rejects.toMatchObject({ name: 'NotFound', entity: 'api key' });
  });
});

describe('appendAudit', () => {
  it('appends an event with defaults; the log is append-only', async () => {
    const user = await newUser();
    const row = await agentry.access.appendAudit({
      event_type: 'authentication',
      user_id: user,
      action: 'login',
      ip_address: '203.0.113.7',
      user_agent: 'agentry-cli/0.1.0',
      success: false,
      error_message: 'wrong password',
    });
    expect(row).toMatchObject({ event_type: 'authentication', user_id: user, action: 'login', ip_address: '203.0.113.7', success: false, metadata: {}, api_key_id: null });
    expect(typeof row.id).toBe('string');
    expect(row.created_at).toBeInstanceOf(Date);
    const withMetadata = await agentry.access.appendAudit({ event_type: 'task_created', action: 'create_task', success: true, metadata: { task: 't-1' } });
    expect(withMetadata.metadata).toEqual({ task: 't-1' });
    // The DAL has no statement that changes a row; the app role may not (42501), and nobody else either (AG004).
    const update = 'UPDATE agentry.audit_logs SET success = true WHERE id = $1';
    expect(await failure(db.pool.query(update, [row.id]))).toMatchObject({ code: 'AG004' });
    const client = await db.pool.connect();
    try {
      await client.query('SET ROLE agentry_app');
      expect(await failure(client.query(update, [row.id]))).toMatchObject({ code: '42501' });
    } finally {
      await client.query('RESET ROLE');
      client.release();
    }
  });

  it('refuses bad input: unknown vocabulary before SQL, an invalid address or unknown references from the database', async () => {
    await expect(agentry.access.appendAudit({ event_type: 'login' as 'authentication', action: 'x', success: true })).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.appendAudit({ event_type: 'authentication', action: 'x' } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.appendAudit({ event_type: 'authentication', action: 'x', success: true, ip_address: 'localhost' })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expectViolation(
      agentry.access.appendAudit({ event_type: 'authentication', action: 'x', success: true, api_key_id: UNKNOWN_ID as ApiKeysId }),
      'fk_audit_logs_api_key_id',
    );
    await expectViolation(
      agentry.access.appendAudit({ event_type: 'authentication', action: 'x', success: true, user_id: UNKNOWN_ID as UsersId }),
      'fk_audit_logs_user_id',
    );
  });
});

describe('createUser', () => {
  it('creates users with bcrypt or argon2id hashes, returned without the hash', async () => {
    const name = `ada_${suffix()}`;
    const user = await agentry.access.createUser(name, `${name}@Example.com`, BCRYPT);
    expect(user).toMatchObject({ username: name, email: `${name}@Example.com`, last_login: null });
    expect(user).not.toHaveProperty('password_hash');
    const argon = await agentry.access.createUser(`${name}_2`, `${name}_2@example.com`, ARGON2ID);
    expect(argon.username).toBe(`${name}_2`);
  });

  it('lets the database refuse a plain password, a taken username or email (any case), and bad formats', async () => {
    const name = `bob_${suffix()}`;
    await expectViolation(agentry.access.createUser(name, `${name}@example.com`, 'hunter2'), 'chk_users_password_hash_format');
    await agentry.access.createUser(name, `${name}@example.com`, BCRYPT);
    await expectViolation(agentry.access.createUser(name, `other_${name}@example.com`, BCRYPT), 'uq_users_username');
    await expectViolation(agentry.access.createUser(`${name}_x`, `${name.toUpperCase()}@EXAMPLE.COM`, BCRYPT), 'uq_users_email');
    await expectViolation(agentry.access.createUser(`${name}_y`, 'not-an-email', BCRYPT), 'chk_users_email_format');
    await expectViolation(agentry.access.createUser('a b', `${name}_z@example.com`, BCRYPT), 'chk_users_username_format');
    await expect(agentry.access.createUser(name, undefined as unknown as string, BCRYPT)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('sessions', () => {
  it('returns the token once, stores only its SHA-256, and verifies it', async () => {
    const user = await newUser();
    const { session, token } = await agentry.access.createSession(user, 3600, { deviceInfo: { os: 'macOS' }, ipAddress: '198.51.100.23' });
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session).toMatchObject({ user_id: user, status: 'active', device_info: { os: 'macOS' }, ip_address: '198.51.100.23' });
    expect(session).not.toHaveProperty('token_hash');
    expect(session.expires_at!.getTime() - session.started_at.getTime()).toBe(3_600_000);

    const { rows } = await db.pool.query<{ hash: string; whole: string }>(
      `SELECT encode(token_hash, 'hex') AS hash, row_to_json(s)::text || encode(token_hash, 'escape') AS whole FROM agentry.user_sessions s WHERE id = $1`,
      [session.id],
    );
    expect(rows[0]!.hash).toBe(sha256Hex(token));
    expect(rows[0]!.whole).not.toContain(token);

    expect(await agentry.access.verifySession(token)).toEqual({ user_session_id: session.id, user_id: user, expires_at: session.expires_at });
    const plain = await agentry.access.createSession(user, 60);
    expect(plain.session.device_info).toEqual({});
  });

  it('touches last_activity_at at most once a minute', async () => {
    const user = await newUser();
    const { session, token } = await agentry.access.createSession(user, 3600);
    await db.pool.query(
      `UPDATE agentry.user_sessions SET started_at = now() - interval '10 minutes', last_activity_at = now() - interval '5 minutes' WHERE id = $1`,
      [session.id],
    );
    await agentry.access.verifySession(token);
    const read = async () => (await db.pool.query<{ t: Date }>('SELECT last_activity_at AS t FROM agentry.user_sessions WHERE id = $1', [session.id])).rows[0]!.t;
    const touched = await read();
    expect(Date.now() - touched.getTime()).toBeLessThan(60_000);
    await agentry.access.verifySession(token);
    expect(await read()).toEqual(touched);
  });

  it('returns null for a wrong, malformed, revoked or expired token', async () => {
    const user = await newUser();
    const { session, token } = await agentry.access.createSession(user, 3600);
    expect(await agentry.access.verifySession(randomBytes(32).toString('base64url'))).toBeNull();
    expect(await agentry.access.verifySession(token.slice(1))).toBeNull();
    expect(await agentry.access.verifySession('')).toBeNull();
    await expect(agentry.access.verifySession(null as unknown as string)).rejects.toBeInstanceOf(ValidationError);

    const revoked = await agentry.access.revokeSession(session.id);
    expect(revoked).toMatchObject({ id: session.id, status: 'revoked' });
    expect(await agentry.access.verifySession(token)).toBeNull();
    expect(await agentry.access.revokeSession(session.id)).toMatchObject({ status: 'revoked' });

    const expiring = await agentry.access.createSession(user, 3600);
    await db.pool.query(
      `UPDATE agentry.user_sessions SET started_at = now() - interval '2 hours', last_activity_at = now() - interval '2 hours',
              expires_at = now() - interval '1 second' WHERE id = $1`,
      [expiring.session.id],
    );
    expect(await agentry.access.verifySession(expiring.token)).toBeNull();
  });

  it("refuses bad input before SQL and lets the database's refusals through", async () => {
    const user = await newUser();
    await expect(agentry.access.createSession('nope' as UsersId, 60)).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.createSession(user, Number.NaN)).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.createSession(user, 60, { deviceInfo: ['phone'] as unknown as Record<string, unknown> })).rejects.toBeInstanceOf(ValidationError);
    await expectViolation(agentry.access.createSession(UNKNOWN_ID as UsersId, 60), 'fk_user_sessions_user_id');
    await expectViolation(agentry.access.createSession(user, 0), 'chk_user_sessions_expires_after_start');
    await expect(agentry.access.createSession(user, 60, { ipAddress: '999.1.1.1' })).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.revokeSession('nope' as UserSessionsId)).rejects.toBeInstanceOf(ValidationError);
    await expect(agentry.access.revokeSession(UNKNOWN_ID as UserSessionsId)).rejects.toMatchObject({ name: 'NotFound', entity: 'user session' });
  });
});
