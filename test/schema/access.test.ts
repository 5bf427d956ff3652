// Access context (migrations/1764547202000_access.sql): users, user_sessions,
// api_keys, rate_limit_windows, audit_logs, verify_api_key and
// verify_session_token.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';

const db = useTestDatabase();

/** SHA-256 as the 32-byte bytea the schema stores. */
const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();
const unique = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

// A real bcrypt hash (libxcrypt, cost 12) of 'correct horse battery staple': $2b$12$ + 53 characters.
const BCRYPT = '$2b$12$aWCwNR76JUd8kdNXvi00VO85teFzVa16CJ.1gGJmnPrzyDVKBbjRS';
// The argon2id reference string of phc-winner-argon2 (src/test.c): 'password', salt 'somesalt'.
const ARGON2ID = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';

async function newUser(overrides: { username?: string; email?: string } = {}): Promise<string> {
  const username = overrides.username ?? unique('user');
  const [row] = await accepted<{ id: string }>(
    db.pool,
    'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3) RETURNING id',
    [username, overrides.email ?? `${username}@example.com`, BCRYPT],
  );
  return row!.id;
}

interface NewKey {
  id: string;
  key: string;
  prefix: string;
}

async function newApiKey(columns: Record<string, unknown> = {}): Promise<NewKey> {
  const prefix = unique('ak');
  const key = `${prefix}_${randomBytes(24).toString('base64url')}`;
  const all: Record<string, unknown> = { key_prefix: prefix, key_hash: sha256(key), client_id: 'client_a', name: 'test key', ...columns };
  const names = Object.keys(all);
  const [row] = await accepted<{ id: string }>(
    db.pool,
    `INSERT INTO agentry.api_keys (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
    Object.values(all),
  );
  return { id: row!.id, key, prefix };
}

/** Runs one statement as another role inside a transaction that is rolled back. */
async function asRole<T>(role: string, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${role}`);
    return await run(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

describe('users', () => {
  it('accepts bcrypt ($2a, $2b, $2y) and argon2id password hashes', async () => {
    for (const hash of [BCRYPT, BCRYPT.replace('$2b$', '$2a$'), BCRYPT.replace('$2b$', '$2y$'), ARGON2ID]) {
      const username = unique('hash');
      const rows = await accepted<{ password_hash: string }>(
        db.pool,
        'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3) RETURNING password_hash',
        [username, `${username}@example.com`, hash],
      );
      expect(rows[0]?.password_hash).toBe(hash);
    }
  });

  it('refuses a password_hash that is not bcrypt or argon2id (chk_users_password_hash_format)', async () => {
    const refused = [
      'correct horse battery staple', // plain text
      createHash('md5').update('password').digest('hex'),
      createHash('sha256').update('password').digest('hex'),
      BCRYPT.slice(0, -1), // truncated bcrypt
      `${BCRYPT}x`, // one character too many
      BCRYPT.replace('$2b$', '$2x$'), // not a bcrypt variant
      ARGON2ID.replace('$argon2id$', '$argon2i$'), // argon2i, not argon2id
      '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$', // no hash part
    ];
    for (const hash of refused) {
      const username = unique('badhash');
      await expectRefused(
        db.pool,
        'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3)',
        [username, `${username}@example.com`, hash],
        { constraint: 'chk_users_password_hash_format', table: 'users' },
      );
    }
  });

  it('checks the username format (chk_users_username_format)', async () => {
    await newUser({ username: 'alice.o-k_1' });
    for (const username of ['ab', 'has space', 'bad/name', 'ünïcode', '']) {
      await expectRefused(
        db.pool,
        'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3)',
        [username, `${unique('u')}@example.com`, BCRYPT],
        { constraint: 'chk_users_username_format', table: 'users' },
      );
    }
  });

  it('checks the email format (chk_users_email_format)', async () => {
    for (const email of ['no-at-sign', 'a@b', 'a b@example.com', 'a@@example.com', '@example.com', 'a@example.']) {
      await expectRefused(
        db.pool,
        'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3)',
        [unique('mail'), email, BCRYPT],
        { constraint: 'chk_users_email_format', table: 'users' },
      );
    }
  });

  it('keeps usernames unique (uq_users_username) and emails unique whatever their case (uq_users_email)', async () => {
    const username = unique('Dup');
    await newUser({ username, email: `${username}@Example.COM` });
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3)',
      [username, `${unique('other')}@example.com`, BCRYPT],
      { constraint: 'uq_users_username', table: 'users' },
    );
    // uq_users_email is a unique expression index on lower(email): the error names the index.
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3)',
      [unique('other'), `${username.toLowerCase()}@example.com`, BCRYPT],
      { constraint: 'uq_users_email', table: 'users' },
    );
  });

  it('has a primary key on id (pk_users)', async () => {
    const id = await newUser();
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.users (id, username, email, password_hash) VALUES ($1, $2, $3, $4)',
      [id, unique('pk'), `${unique('pk')}@example.com`, BCRYPT],
      { constraint: 'pk_users', table: 'users' },
    );
  });
});

describe('user_sessions', () => {
  const insertSession = 'INSERT INTO agentry.user_sessions (user_id, token_hash) VALUES ($1, $2) RETURNING id';

  it('stores the SHA-256 of the token as 32 bytes (chk_user_sessions_token_hash_sha256)', async () => {
    const userId = await newUser();
    const rows = await accepted<{ id: string }>(db.pool, insertSession, [userId, sha256(randomBytes(32))]);
    expect(rows).toHaveLength(1);
    const token = randomBytes(32).toString('hex');
    for (const bad of [randomBytes(16), Buffer.from(createHash('sha256').update(token).digest('hex')), Buffer.from(token)]) {
      await expectRefused(db.pool, insertSession, [userId, bad], { constraint: 'chk_user_sessions_token_hash_sha256', table: 'user_sessions' });
    }
  });

  it('keeps token hashes unique (uq_user_sessions_token_hash) and has a primary key (pk_user_sessions)', async () => {
    const userId = await newUser();
    const hash = sha256(randomBytes(32));
    const [row] = await accepted<{ id: string }>(db.pool, insertSession, [userId, hash]);
    await expectRefused(db.pool, insertSession, [userId, hash], { constraint: 'uq_user_sessions_token_hash', table: 'user_sessions' });
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.user_sessions (id, user_id, token_hash) VALUES ($1, $2, $3)',
      [row!.id, userId, sha256(randomBytes(32))],
      { constraint: 'pk_user_sessions', table: 'user_sessions' },
    );
  });

  it('checks device_info, status and the time order', async () => {
    const userId = await newUser();
    const good = await accepted(
      db.pool,
      `INSERT INTO agentry.user_sessions (user_id, token_hash, device_info, ip_address, status, started_at, last_activity_at, expires_at)
       VALUES ($1, $2, $3, $4, 'revoked', now() - interval '1 hour', now(), now() + interval '1 day') RETURNING id`,
      [userId, sha256(randomBytes(32)), { os: 'android' }, '192.0.2.10'],
    );
    expect(good).toHaveLength(1);
    const insert = (columns: string, values: string) =>
      `INSERT INTO agentry.user_sessions (user_id, token_hash, ${columns}) VALUES ($1, $2, ${values})`;
    await expectRefused(db.pool, insert('device_info', `'["phone"]'`), [userId, sha256(randomBytes(32))], {
      constraint: 'chk_user_sessions_device_info_object',
      table: 'user_sessions',
    });
    await expectRefused(db.pool, insert('status', `'logged_out'`), [userId, sha256(randomBytes(32))], {
      constraint: 'chk_user_sessions_status',
      table: 'user_sessions',
    });
    await expectRefused(
      db.pool,
      insert('started_at, last_activity_at', `now(), now() - interval '1 second'`),
      [userId, sha256(randomBytes(32))],
      { constraint: 'chk_user_sessions_activity_after_start', table: 'user_sessions' },
    );
    await expectRefused(db.pool, insert('started_at, expires_at', `now(), now()`), [userId, sha256(randomBytes(32))], {
      constraint: 'chk_user_sessions_expires_after_start',
      table: 'user_sessions',
    });
  });

  it('belongs to a user (fk_user_sessions_user_id): unknown user refused, id change followed, user deletion cascades', async () => {
    await expectRefused(db.pool, insertSession, [randomUUID(), sha256(randomBytes(32))], {
      constraint: 'fk_user_sessions_user_id',
      table: 'user_sessions',
    });
    const userId = await newUser();
    const [session] = await accepted<{ id: string }>(db.pool, insertSession, [userId, sha256(randomBytes(32))]);
    const newId = randomUUID();
    await db.pool.query('UPDATE agentry.users SET id = $2 WHERE id = $1', [userId, newId]);
    const moved = await accepted<{ user_id: string }>(db.pool, 'SELECT user_id FROM agentry.user_sessions WHERE id = $1', [session!.id]);
    expect(moved[0]?.user_id).toBe(newId);
    await db.pool.query('DELETE FROM agentry.users WHERE id = $1', [newId]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.user_sessions WHERE id = $1', [session!.id])).toHaveLength(0);
  });
});

describe('verify_session_token', () => {
  it('returns the active, unexpired session for the right hash and nothing otherwise', async () => {
    const userId = await newUser();
    const tokens = {
      active: randomBytes(32).toString('base64url'),
      noExpiry: randomBytes(32).toString('base64url'),
      expiredStatus: randomBytes(32).toString('base64url'),
      revoked: randomBytes(32).toString('base64url'),
      pastExpiry: randomBytes(32).toString('base64url'),
    };
    const insert = `INSERT INTO agentry.user_sessions (user_id, token_hash, status, started_at, last_activity_at, expires_at)
                    VALUES ($1, $2, $3, now() - interval '2 days', now() - interval '2 days', $4) RETURNING id`;
    const inADay = new Date(Date.now() + 86_400_000);
    const [active] = await accepted<{ id: string }>(db.pool, insert, [userId, sha256(tokens.active), 'active', inADay]);
    await accepted(db.pool, insert, [userId, sha256(tokens.noExpiry), 'active', null]);
    await accepted(db.pool, insert, [userId, sha256(tokens.expiredStatus), 'expired', inADay]);
    await accepted(db.pool, insert, [userId, sha256(tokens.revoked), 'revoked', inADay]);
    await accepted(db.pool, insert, [userId, sha256(tokens.pastExpiry), 'active', new Date(Date.now() - 86_400_000)]);

    const verify = (hash: Buffer) =>
      accepted<{ user_session_id: string; user_id: string; expires_at: Date | null }>(
        db.pool,
        'SELECT * FROM agentry.verify_session_token($1)',
        [hash],
      );
    const found = await verify(sha256(tokens.active));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ user_session_id: active!.id, user_id: userId });
    expect(found[0]?.expires_at?.getTime()).toBe(inADay.getTime());
    expect(await verify(sha256(tokens.noExpiry))).toHaveLength(1);
    expect(await verify(sha256(tokens.expiredStatus))).toHaveLength(0);
    expect(await verify(sha256(tokens.revoked))).toHaveLength(0);
    expect(await verify(sha256(tokens.pastExpiry))).toHaveLength(0);
    expect(await verify(sha256(`${tokens.active}x`))).toHaveLength(0);
    // The plain token is never what is stored.
    expect(await verify(Buffer.from(tokens.active))).toHaveLength(0);
  });
});

describe('api_keys', () => {
  const insertKey = 'INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name, scopes) VALUES ($1, $2, $3, $4, $5)';

  it('stores a prefix, a 32-byte SHA-256 and the defaults', async () => {
    const { id, key, prefix } = await newApiKey({ scopes: ['tasks:read', 'tasks:write', 'admin:*', 'metrics.read-only'] });
    const rows = await accepted<{ key_prefix: string; key_hash: Buffer; active: boolean; rate_limit_per_minute: number; rate_limit_per_hour: number }>(
      db.pool,
      'SELECT key_prefix, key_hash, active, rate_limit_per_minute, rate_limit_per_hour FROM agentry.api_keys WHERE id = $1',
      [id],
    );
    expect(rows[0]).toMatchObject({ key_prefix: prefix, active: true, rate_limit_per_minute: 60, rate_limit_per_hour: 1000 });
    expect(rows[0]?.key_hash.equals(sha256(key))).toBe(true);
  });

  it('checks key_prefix and key_hash (chk_api_keys_key_prefix_format, chk_api_keys_key_hash_sha256)', async () => {
    for (const prefix of ['ak', 'ak-live', 'ak live', 'ak.live']) {
      await expectRefused(db.pool, insertKey, [prefix, sha256(randomBytes(8)), 'c', 'n', []], {
        constraint: 'chk_api_keys_key_prefix_format',
        table: 'api_keys',
      });
    }
    for (const hash of [randomBytes(31), randomBytes(33), Buffer.from(createHash('sha256').update('k').digest('hex'))]) {
      await expectRefused(db.pool, insertKey, [unique('ak'), hash, 'c', 'n', []], {
        constraint: 'chk_api_keys_key_hash_sha256',
        table: 'api_keys',
      });
    }
  });

  it('keeps prefixes and hashes unique (uq_api_keys_key_prefix, uq_api_keys_key_hash, pk_api_keys)', async () => {
    const { id, key, prefix } = await newApiKey();
    await expectRefused(db.pool, insertKey, [prefix, sha256(randomBytes(8)), 'c', 'n', []], {
      constraint: 'uq_api_keys_key_prefix',
      table: 'api_keys',
    });
    await expectRefused(db.pool, insertKey, [unique('ak'), sha256(key), 'c', 'n', []], {
      constraint: 'uq_api_keys_key_hash',
      table: 'api_keys',
    });
    await expectRefused(
      db.pool,
      'INSERT INTO agentry.api_keys (id, key_prefix, key_hash, client_id, name) VALUES ($1, $2, $3, $4, $5)',
      [id, unique('ak'), sha256(randomBytes(8)), 'c', 'n'],
      { constraint: 'pk_api_keys', table: 'api_keys' },
    );
  });

  it('checks every scope (chk_api_keys_scopes_format)', async () => {
    await accepted(db.pool, insertKey, [unique('ak'), sha256(randomBytes(8)), 'c', 'n', []]);
    for (const scopes of [['Tasks:Read'], ['tasks:read', null], ['tasks:read tasks:write'], ['tasks:read', ''], [''], ['tasks;drop'], ['tasks:read,admin'], ['tasks:read', 'tasks:write,admin:*']]) {
      await expectRefused(db.pool, insertKey, [unique('ak'), sha256(randomBytes(8)), 'c', 'n', scopes], {
        constraint: 'chk_api_keys_scopes_format',
        table: 'api_keys',
      });
    }
  });

  it('checks the rate limits and the expiry', async () => {
    const insert = (columns: string, values: string) =>
      `INSERT INTO agentry.api_keys (key_prefix, key_hash, client_id, name, ${columns}) VALUES ($1, $2, 'c', 'n', ${values})`;
    const fresh = () => [unique('ak'), sha256(randomBytes(8))];
    await accepted(db.pool, insert('rate_limit_per_minute, rate_limit_per_hour, expires_at', `10, 10, now() + interval '1 day'`), fresh());
    await expectRefused(db.pool, insert('rate_limit_per_minute', '0'), fresh(), {
      constraint: 'chk_api_keys_rate_limit_per_minute_positive',
      table: 'api_keys',
    });
    await expectRefused(db.pool, insert('rate_limit_per_minute, rate_limit_per_hour', '1, 0'), fresh(), {
      constraint: 'chk_api_keys_rate_limit_per_hour_positive',
      table: 'api_keys',
    });
    await expectRefused(db.pool, insert('rate_limit_per_minute, rate_limit_per_hour', '100, 50'), fresh(), {
      constraint: 'chk_api_keys_rate_limits_consistent',
      table: 'api_keys',
    });
    await expectRefused(db.pool, insert('created_at, expires_at', `now(), now() - interval '1 second'`), fresh(), {
      constraint: 'chk_api_keys_expires_after_created',
      table: 'api_keys',
    });
  });
});

describe('verify_api_key', () => {
  it('returns the active, unexpired key for the right hash and nothing otherwise', async () => {
    const good = await newApiKey({ scopes: ['tasks:read'], rate_limit_per_minute: 5, rate_limit_per_hour: 50, expires_at: new Date(Date.now() + 86_400_000) });
    const noExpiry = await newApiKey();
    const inactive = await newApiKey({ active: false });
    const expired = await newApiKey({ created_at: new Date(Date.now() - 2 * 86_400_000), expires_at: new Date(Date.now() - 86_400_000) });

    const verify = (hash: Buffer) =>
      accepted<{ api_key_id: string; client_id: string; key_prefix: string; scopes: string[]; rate_limit_per_minute: number; rate_limit_per_hour: number }>(
        db.pool,
        'SELECT * FROM agentry.verify_api_key($1)',
        [hash],
      );
    expect(await verify(sha256(good.key))).toEqual([
      { api_key_id: good.id, client_id: 'client_a', key_prefix: good.prefix, scopes: ['tasks:read'], rate_limit_per_minute: 5, rate_limit_per_hour: 50 },
    ]);
    expect(await verify(sha256(noExpiry.key))).toHaveLength(1);
    expect(await verify(sha256(inactive.key))).toHaveLength(0);
    expect(await verify(sha256(expired.key))).toHaveLength(0);
    expect(await verify(sha256(`${good.key}x`))).toHaveLength(0);
    expect(await verify(Buffer.from(good.key))).toHaveLength(0);

    // Revoking a key makes it fail from then on.
    await db.pool.query('UPDATE agentry.api_keys SET active = false WHERE id = $1', [good.id]);
    expect(await verify(sha256(good.key))).toHaveLength(0);
  });

  it('lets agentry_app verify a key without ever reading a stored hash', async () => {
    const { id, key } = await newApiKey();
    const rows = await asRole('agentry_app', (c) => c.query<{ api_key_id: string }>('SELECT api_key_id FROM agentry.verify_api_key($1)', [sha256(key)]));
    expect(rows.rows.map((r) => r.api_key_id)).toEqual([id]);
    const denied = await asRole('agentry_app', (c) => errorOf(c, 'SELECT key_hash FROM agentry.api_keys WHERE id = $1', [id]));
    expect(denied.code).toBe(SQLSTATE.insufficientPrivilege);
    const deniedToken = await asRole('agentry_app', (c) => errorOf(c, 'SELECT token_hash FROM agentry.user_sessions'));
    expect(deniedToken.code).toBe(SQLSTATE.insufficientPrivilege);
  });
});

describe('rate_limit_windows', () => {
  const insertWindow = 'INSERT INTO agentry.rate_limit_windows (api_key_id, window_type, window_start, request_count) VALUES ($1, $2, $3, $4)';

  it('accepts windows aligned to their minute or hour in UTC (chk_rate_limit_windows_window_aligned)', async () => {
    const { id } = await newApiKey();
    await accepted(db.pool, insertWindow, [id, 'minute', '2026-01-01T10:07:00Z', 1]);
    await accepted(db.pool, insertWindow, [id, 'hour', '2026-01-01T10:00:00Z', 1]);
    // 10:00 at +05:30 is 04:30 UTC: the start of a minute, not of an hour.
    await accepted(db.pool, insertWindow, [id, 'minute', '2026-01-01T10:00:00+05:30', 1]);
    for (const [type, start] of [
      ['minute', '2026-01-01T10:07:30Z'],
      ['minute', '2026-01-01T10:07:00.5Z'],
      ['hour', '2026-01-01T10:30:00Z'],
      ['hour', '2026-01-01T10:00:00+05:30'],
    ] as const) {
      await expectRefused(db.pool, insertWindow, [id, type, start, 1], { constraint: 'chk_rate_limit_windows_window_aligned', table: 'rate_limit_windows' });
    }
  });

  it('checks window_type and request_count, and has one row per key, type and start (pk_rate_limit_windows)', async () => {
    const { id } = await newApiKey();
    await expectRefused(db.pool, insertWindow, [id, 'day', '2026-01-01T00:00:00Z', 1], {
      constraint: 'chk_rate_limit_windows_window_type',
      table: 'rate_limit_windows',
    });
    await expectRefused(db.pool, insertWindow, [id, 'minute', '2026-01-01T00:00:00Z', -1], {
      constraint: 'chk_rate_limit_windows_request_count_nonnegative',
      table: 'rate_limit_windows',
    });
    await accepted(db.pool, insertWindow, [id, 'minute', '2026-01-01T00:00:00Z', 0]);
    await expectRefused(db.pool, insertWindow, [id, 'minute', '2026-01-01T00:00:00Z', 3], {
      constraint: 'pk_rate_limit_windows',
      table: 'rate_limit_windows',
    });
  });

  it('belongs to a key (fk_rate_limit_windows_api_key_id): unknown key refused, key deletion cascades', async () => {
    await expectRefused(db.pool, insertWindow, [randomUUID(), 'minute', '2026-01-01T00:00:00Z', 1], {
      constraint: 'fk_rate_limit_windows_api_key_id',
      table: 'rate_limit_windows',
    });
    const { id } = await newApiKey();
    await accepted(db.pool, insertWindow, [id, 'minute', '2026-01-01T00:00:00Z', 1]);
    await accepted(db.pool, insertWindow, [id, 'hour', '2026-01-01T00:00:00Z', 1]);
    await db.pool.query('DELETE FROM agentry.api_keys WHERE id = $1', [id]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.rate_limit_windows WHERE api_key_id = $1', [id])).toHaveLength(0);
  });

  it('counts hits atomically with INSERT ... ON CONFLICT DO UPDATE ... RETURNING from concurrent connections', async () => {
    const { id } = await newApiKey();
    const hit = `INSERT INTO agentry.rate_limit_windows (api_key_id, window_type, window_start, request_count)
                 VALUES ($1, 'minute', $2, 1)
                 ON CONFLICT (api_key_id, window_type, window_start)
                 DO UPDATE SET request_count = agentry.rate_limit_windows.request_count + 1
                 RETURNING request_count`;
    const windowStart = '2026-03-01T12:34:00Z';
    const connections = 4;
    const hitsEach = 25;
    const clients = Array.from({ length: connections }, () => new pg.Client({ connectionString: db.url }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const seen = await Promise.all(
        clients.map(async (client) => {
          const counts: number[] = [];
          for (let i = 0; i < hitsEach; i += 1) {
            const { rows } = await client.query<{ request_count: number }>(hit, [id, windowStart]);
            counts.push(rows[0]!.request_count);
          }
          return counts;
        }),
      );
      // Each connection sees its own counts increase...
      for (const counts of seen) expect([...counts].sort((a, b) => a - b)).toEqual(counts);
      // ...and across connections every count from 1 to N is handed out exactly once: no lost or doubled hit.
      const all = seen.flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: connections * hitsEach }, (_, i) => i + 1));
      const final = await accepted<{ request_count: number; n: string }>(
        db.pool,
        'SELECT max(request_count) AS request_count, count(*) AS n FROM agentry.rate_limit_windows WHERE api_key_id = $1',
        [id],
      );
      expect(final[0]).toEqual({ request_count: connections * hitsEach, n: '1' });
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });
});

describe('audit_logs', () => {
  const insertLog = `INSERT INTO agentry.audit_logs (event_type, client_id, api_key_id, user_id, action, success, metadata)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`;

  async function logFor(apiKeyId: string | null, userId: string | null): Promise<string> {
    const [row] = await accepted<{ id: string }>(db.pool, insertLog, ['authentication', 'client_a', apiKeyId, userId, 'login', true, { via: 'test' }]);
    return row!.id;
  }

  it('routes a row into the partition of its UTC month, and a row beyond them into audit_logs_default', async () => {
    const { id: keyId } = await newApiKey();
    const id = await logFor(keyId, null);
    const [now] = await accepted<{ part: string; expected: string }>(
      db.pool,
      `SELECT c.relname AS part, to_char(l.created_at AT TIME ZONE 'UTC', '"audit_logs_y"YYYY"m"MM') AS expected
         FROM agentry.audit_logs l JOIN pg_class c ON c.oid = l.tableoid WHERE l.id = $1`,
      [id],
    );
    const today = new Date();
    expect(now?.part).toBe(`audit_logs_y${today.getUTCFullYear()}m${String(today.getUTCMonth() + 1).padStart(2, '0')}`);
    expect(now?.part).toBe(now?.expected);

    const [future] = await accepted<{ part: string }>(
      db.pool,
      `WITH ins AS (
         INSERT INTO agentry.audit_logs (event_type, action, success, created_at)
         VALUES ('task_created', 'create', true, '2100-01-15T00:00:00Z') RETURNING tableoid
       ) SELECT c.relname AS part FROM ins JOIN pg_class c ON c.oid = ins.tableoid`,
    );
    expect(future?.part).toBe('audit_logs_default');
  });

  it('checks event_type and metadata (chk_audit_logs_event_type, chk_audit_logs_metadata_object)', async () => {
    await expectRefused(db.pool, insertLog, ['login', 'c', null, null, 'login', true, {}], { constraint: 'chk_audit_logs_event_type', table: 'audit_logs' });
    await expectRefused(db.pool, insertLog, ['authentication', 'c', null, null, 'login', false, JSON.stringify(['x'])], {
      constraint: 'chk_audit_logs_metadata_object',
      table: 'audit_logs',
    });
    for (const event of ['authentication', 'api_key_created', 'api_key_revoked', 'rate_limit_exceeded', 'task_created', 'agent_registered']) {
      await accepted(db.pool, insertLog, [event, 'c', null, null, 'act', true, {}]);
    }
  });

  it('has a primary key on (id, created_at) (pk_audit_logs)', async () => {
    const id = await logFor(null, null);
    const error = await errorOf(
      db.pool,
      `INSERT INTO agentry.audit_logs (id, event_type, action, success, created_at)
       OVERRIDING SYSTEM VALUE SELECT id, event_type, action, success, created_at FROM agentry.audit_logs WHERE id = $1`,
      [id],
    );
    expect(error.code).toBe(SQLSTATE.uniqueViolation);
    // The duplicate is caught by the partition's copy of pk_audit_logs.
    const [index] = await accepted<{ parent: string }>(
      db.pool,
      `SELECT p.relname AS parent FROM pg_class i JOIN pg_inherits h ON h.inhrelid = i.oid JOIN pg_class p ON p.oid = h.inhparent
        WHERE i.relname = $1`,
      [error.constraint],
    );
    expect(index?.parent).toBe('pk_audit_logs');
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.audit_logs WHERE id = $1', [id])).toHaveLength(1);
  });

  it('refers to existing keys and users (fk_audit_logs_api_key_id, fk_audit_logs_user_id)', async () => {
    await expectRefused(db.pool, insertLog, ['authentication', 'c', randomUUID(), null, 'login', true, {}], {
      constraint: 'fk_audit_logs_api_key_id',
      table: 'audit_logs',
    });
    await expectRefused(db.pool, insertLog, ['authentication', 'c', null, randomUUID(), 'login', true, {}], {
      constraint: 'fk_audit_logs_user_id',
      table: 'audit_logs',
    });
  });

  it('outlives nothing it refers to: deleting or re-keying a key or user with audit rows is refused (ON DELETE/UPDATE RESTRICT)', async () => {
    const { id: keyId } = await newApiKey();
    const userId = await newUser();
    await logFor(keyId, userId);
    await expectRefused(db.pool, 'DELETE FROM agentry.api_keys WHERE id = $1', [keyId], { constraint: 'fk_audit_logs_api_key_id', table: 'api_keys' });
    await expectRefused(db.pool, 'UPDATE agentry.api_keys SET id = $2 WHERE id = $1', [keyId, randomUUID()], {
      constraint: 'fk_audit_logs_api_key_id',
      table: 'api_keys',
    });
    await expectRefused(db.pool, 'DELETE FROM agentry.users WHERE id = $1', [userId], { constraint: 'fk_audit_logs_user_id', table: 'users' });
    await expectRefused(db.pool, 'UPDATE agentry.users SET id = $2 WHERE id = $1', [userId, randomUUID()], {
      constraint: 'fk_audit_logs_user_id',
      table: 'users',
    });
    // Revoking instead of deleting works.
    await db.pool.query('UPDATE agentry.api_keys SET active = false WHERE id = $1', [keyId]);
    // A key without audit rows can go.
    const { id: unused } = await newApiKey();
    await db.pool.query('DELETE FROM agentry.api_keys WHERE id = $1', [unused]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.api_keys WHERE id = $1', [unused])).toHaveLength(0);
  });

  it('is append-only: UPDATE and DELETE are refused by trg_audit_logs_append_only (AG004), even for the superuser', async () => {
    const id = await logFor(null, null);
    await expectRefused(db.pool, `UPDATE agentry.audit_logs SET action = 'forged' WHERE id = $1`, [id], {
      constraint: 'trg_audit_logs_append_only',
      code: SQLSTATE.appendOnly,
      table: 'audit_logs',
      message: /UPDATE is not allowed/,
    });
    await expectRefused(db.pool, 'DELETE FROM agentry.audit_logs WHERE id = $1', [id], {
      constraint: 'trg_audit_logs_append_only',
      code: SQLSTATE.appendOnly,
      table: 'audit_logs',
      message: /DELETE is not allowed/,
    });
    // Addressing the partition directly does not get around it.
    const [{ part } = { part: '' }] = await accepted<{ part: string }>(
      db.pool,
      'SELECT c.relname AS part FROM agentry.audit_logs l JOIN pg_class c ON c.oid = l.tableoid WHERE l.id = $1',
      [id],
    );
    await expectRefused(db.pool, `DELETE FROM agentry.${part} WHERE id = $1`, [id], {
      constraint: 'trg_audit_logs_append_only',
      code: SQLSTATE.appendOnly,
      table: 'audit_logs',
    });
    const rows = await accepted<{ action: string }>(db.pool, 'SELECT action FROM agentry.audit_logs WHERE id = $1', [id]);
    expect(rows).toEqual([{ action: 'login' }]);
  });

  it('refuses TRUNCATE, also when cascaded from api_keys (trg_audit_logs_no_truncate, AG004)', async () => {
    const { id: keyId } = await newApiKey();
    await logFor(keyId, null);
    await expectRefused(db.pool, 'TRUNCATE agentry.audit_logs', [], {
      constraint: 'trg_audit_logs_no_truncate',
      code: SQLSTATE.appendOnly,
      table: 'audit_logs',
      message: /TRUNCATE is not allowed/,
    });
    await expectRefused(db.pool, 'TRUNCATE agentry.api_keys CASCADE', [], {
      constraint: 'trg_audit_logs_no_truncate',
      code: SQLSTATE.appendOnly,
      table: 'api_keys',
    });
  });

  it('lets agentry_app insert but not update or delete', async () => {
    const inserted = await asRole('agentry_app', (c) =>
      c.query(`INSERT INTO agentry.audit_logs (event_type, action, success) VALUES ('authentication', 'login', false)`),
    );
    expect(inserted.rowCount).toBe(1);
    const id = await logFor(null, null);
    for (const sql of [`UPDATE agentry.audit_logs SET action = 'x' WHERE id = $1`, 'DELETE FROM agentry.audit_logs WHERE id = $1']) {
      const error = await asRole('agentry_app', (c) => errorOf(c, sql, [id]));
      expect(error.code).toBe(SQLSTATE.insufficientPrivilege);
    }
  });
});
