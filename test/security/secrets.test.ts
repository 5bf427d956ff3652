import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { UsersId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConstraintViolation } from '../../src/dal/errors.js';
import type { ContextModules } from '../../src/dal/modules.js';
import { createIntegrationModule, decryptSecret, parseSecretKey, SecretKeyError, signPayload, verifySignature } from '../../src/dal/integration.js';
import { quoteIdent } from '../../src/db/identifiers.js';
import { repoRoot } from '../helpers/cli.js';
import { inRolledBackTransaction, useTestDatabase } from '../helpers/db.js';
import { findComparisons } from './support/compare-checker.js';
import { recordFigures } from '../helpers/figures.js';
import { withSnippets, withSourceFiles } from './support/sql-checker.js';

// Secrets at rest: API keys, session tokens and webhook signing secrets made
// through the DAL (as agentry_app) must not be found in any column of any
// table, in any encoding; comparisons of secrets in src/ are constant-time;
// users.password_hash takes bcrypt and argon2id hashes only.

const db = useTestDatabase();
const SECRET_KEY = randomBytes(32).toString('base64');
const modules = { integration: createIntegrationModule({ secretKey: SECRET_KEY }) };
let agentry: AgentryClient<ContextModules & typeof modules>;
const BCRYPT = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW';

const figures = { secretsCreated: 0, secretNeedles: 0, secretColumnsScanned: 0, secretsScanned: 0, badPasswordHashesTried: 0, goodPasswordHashesTried: 0 };

beforeAll(() => {
  agentry = createAgentry({ connectionString: db.url, options: '-c role=agentry_app', max: 4 }, { modules });
});

afterAll(async () => {
  await agentry?.close();
  if (figures.secretsScanned === 0 && figures.badPasswordHashesTried === 0) return;
  recordFigures('security-secrets', figures);
});

// ---------------------------------------------------------------- scanning

interface Secret {
  kind: 'api key' | 'session token' | 'webhook secret';
  value: string;
}

/** The secret and the encodings it could be stored in by mistake. */
function needles(secret: Secret, publicPrefix = ''): { text: string[]; bytes: Buffer[] } {
  const utf8 = Buffer.from(secret.value, 'utf8');
  const text = [secret.value, utf8.toString('hex'), utf8.toString('base64'), utf8.toString('base64url')];
  const bytes = [utf8];
  // Keys and tokens are base64url of random bytes: those bytes too, raw, in hex and base64.
  const random = secret.value.slice(secret.kind === 'api key' ? 'ains_'.length : 0);
  if (/^[A-Za-z0-9_-]+$/.test(random) && secret.kind !== 'webhook secret') {
    const raw = Buffer.from(random, 'base64url');
    text.push(raw.toString('hex'), raw.toString('base64'));
    bytes.push(raw);
  }
  // The part of an API key after its public handle (key_prefix, stored and shown by design).
  if (publicPrefix) text.push(secret.value.slice(publicPrefix.length));
  return { text: [...new Set(text)], bytes };
}

interface Column {
  schema: string;
  table: string;
  column: string;
  bytea: boolean;
}

/** Every text-like, bytea, json and jsonb column (arrays of them too) of every table in the database. */
async function scannableColumns(client: pg.Pool | pg.PoolClient): Promise<Column[]> {
  const { rows } = await client.query<Column>(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, t.typname = 'bytea' AS bytea
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
      WHERE c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
        AND (t.typcategory = 'S' OR t.typname IN ('bytea', 'json', 'jsonb') OR e.typcategory = 'S' OR e.typname IN ('bytea', 'json', 'jsonb'))
      ORDER BY 1, 2, 3`,
  );
  return rows;
}

interface ScanResult {
  columns: number;
  /** Sum over the columns of the rows of their table. */
  cells: number;
  hits: string[];
}

async function scan(client: pg.Pool | pg.PoolClient, text: string[], bytes: Buffer[]): Promise<ScanResult> {
  const columns = await scannableColumns(client);
  const result: ScanResult = { columns: columns.length, cells: 0, hits: [] };
  for (const c of columns) {
    const col = `t.${quoteIdent(c.column)}`;
    const { rows } = await client.query<{ n: number; hits: number }>(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) s WHERE strpos(${col}::text, s) > 0)
                                ${c.bytea ? `OR EXISTS (SELECT 1 FROM unnest($2::bytea[]) b WHERE position(b IN ${col}) > 0)` : ''})::int AS hits
         FROM ${quoteIdent(c.schema)}.${quoteIdent(c.table)} t`,
      c.bytea ? [text, bytes] : [text],
    );
    result.cells += rows[0]!.n;
    if (rows[0]!.hits > 0) result.hits.push(`${c.schema}.${c.table}.${c.column}: ${rows[0]!.hits} rows`);
  }
  return result;
}

describe('secrets at rest', () => {
  const secrets: { secret: Secret; prefix?: string }[] = [];
  const sessions: string[] = [];

  it('API keys, session tokens and webhook secrets made through the DAL are nowhere in the database, in plain text, hex or base64', { timeout: 60_000 }, async () => {
    // Made the way a service makes them, as agentry_app, with the side effects that store other columns.
    for (let i = 0; i < 12; i += 1) {
      const { apiKey, key } = await agentry.access.createApiKey({ clientId: `sec-client-${i % 3}`, name: `key ${i}`, scopes: ['tasks:read'], description: `key number ${i}` });
      secrets.push({ secret: { kind: 'api key', value: key }, prefix: apiKey.key_prefix });
      expect(await agentry.access.verifyApiKey(key)).toMatchObject({ api_key_id: apiKey.id });
      await agentry.access.hitRateLimit(apiKey.id, 'minute');
      if (i % 4 === 0) await agentry.access.revokeApiKey(apiKey.id, { reason: 'rotated' });
    }
    for (let i = 0; i < 4; i += 1) {
      const user = await agentry.access.createUser(`sec_user_${i}_${randomBytes(3).toString('hex')}`, `sec${i}_${randomBytes(3).toString('hex')}@example.com`, BCRYPT);
      for (let j = 0; j < 3; j += 1) {
        const { session, token } = await agentry.access.createSession(user.id as UsersId, 3600, { deviceInfo: { agent: 'test', j }, ipAddress: '192.0.2.1' });
        secrets.push({ secret: { kind: 'session token', value: token } });
        sessions.push(session.id);
        expect(await agentry.access.verifySession(token)).toMatchObject({ user_session_id: session.id });
      }
    }
    await agentry.access.revokeSession(sessions[0]! as never);
    const webhookSecrets = [
      `whsec_${randomBytes(24).toString('base64url')}`,
      randomBytes(20).toString('hex'),
      randomBytes(32).toString('base64'),
      `sécret-ünïcode-🔑-${randomBytes(8).toString('hex')}`,
      `${randomBytes(12).toString('hex')} with spaces and 'quotes' "and" \\backslashes`,
    ];
    for (const [i, secret] of webhookSecrets.entries()) {
      const hook = await agentry.integration.registerWebhook({ clientId: `sec-client-${i}`, url: `https://hooks.example.com/sec/${i}`, events: ['task.completed'], secret });
      secrets.push({ secret: { kind: 'webhook secret', value: secret } });
      await agentry.integration.enqueueDelivery(hook.id, 'task.completed', { task: `t-${i}` });
    }
    // A sender claims the deliveries (decrypting the secrets), signs and reports: nothing of it may be stored.
    const claimed = await agentry.integration.claimDueDeliveries(50, 60);
    expect(claimed.map((d) => d.secret).sort()).toEqual([...webhookSecrets].sort());
    for (const delivery of claimed) {
      const request = agentry.integration.deliveryRequest(delivery);
      expect(verifySignature(delivery.secret, request.body, request.headers['Agentry-Signature']!)).toBe(true);
      await agentry.integration.markDelivered(delivery.id, 200, { attempt: delivery.attempt_count });
    }
    figures.secretsCreated = secrets.length;

    const text: string[] = [];
    const bytes: Buffer[] = [];
    for (const { secret, prefix } of secrets) {
      const n = needles(secret, prefix);
      text.push(...n.text);
      bytes.push(...n.bytes);
    }
    figures.secretNeedles = text.length + bytes.length;
    const result = await scan(db.pool, text, bytes);
    expect(result.hits).toEqual([]);
    expect(result.columns).toBeGreaterThan(80);
    expect(result.cells).toBeGreaterThan(300);
    figures.secretColumnsScanned = result.columns;
    figures.secretsScanned = result.cells;
  });

  it('the scan finds a secret where one is put (text, jsonb and bytea columns), so finding nothing above means something', async () => {
    await inRolledBackTransaction(db.pool, async (client) => {
      const token = randomBytes(32).toString('base64url');
      const key = `ains_${randomBytes(33).toString('base64url')}`;
      const hookSecret = `whsec_${randomBytes(40).toString('hex')}`;
      await client.query(`INSERT INTO agentry.agents (id, name, backstory) VALUES ('sec-planted', 'planted', $1)`, [`token ${token}`]);
      await client.query(`UPDATE agentry.agents SET metadata = jsonb_build_object('k', $2::text) WHERE id = $1`, ['sec-planted', Buffer.from(key).toString('base64')]);
      await client.query(
        `INSERT INTO agentry.webhooks (client_id, url, events, signing_secret_encrypted) VALUES ('planted', 'https://hooks.example.com/p', '{task.completed}', $1)`,
        [Buffer.from(hookSecret, 'utf8')],
      );
      for (const [secret, column] of [
        [{ kind: 'session token', value: token }, 'agentry.agents.backstory'],
        [{ kind: 'api key', value: key }, 'agentry.agents.metadata'],
        [{ kind: 'webhook secret', value: hookSecret }, 'agentry.webhooks.signing_secret_encrypted'],
      ] as const) {
        const n = needles(secret);
        const result = await scan(client, n.text, n.bytes);
        expect(result.hits.map((h) => h.split(':')[0])).toEqual([column]);
      }
    });
  });

  it('what is stored instead: the SHA-256 of a key or token (32 bytes), and AES-256-GCM ciphertext of a webhook secret that only the key opens', async () => {
    const { apiKey, key } = await agentry.access.createApiKey({ clientId: 'sec-stored', name: 'stored', scopes: [] });
    const { rows } = await db.pool.query<{ key_hash: Buffer }>('SELECT key_hash FROM agentry.api_keys WHERE id = $1', [apiKey.id]);
    expect(rows[0]!.key_hash.equals(createHash('sha256').update(key).digest())).toBe(true);
    const secret = `whsec_${randomBytes(16).toString('hex')}`;
    const hook = await agentry.integration.registerWebhook({ clientId: 'sec-stored', url: 'https://hooks.example.com/s', events: ['task.*'], secret });
    const { rows: stored } = await db.pool.query<{ s: Buffer }>('SELECT signing_secret_encrypted AS s FROM agentry.webhooks WHERE id = $1', [hook.id]);
    expect(stored[0]!.s).toHaveLength(12 + 16 + Buffer.byteLength(secret));
    expect(decryptSecret(parseSecretKey(SECRET_KEY), stored[0]!.s)).toBe(secret);
    expect(() => decryptSecret(randomBytes(32), stored[0]!.s)).toThrow(SecretKeyError);
    // The same secret twice: two different ciphertexts (a fresh IV each time).
    const again = await agentry.integration.registerWebhook({ clientId: 'sec-stored', url: 'https://hooks.example.com/s2', events: ['task.*'], secret });
    const { rows: second } = await db.pool.query<{ s: Buffer }>('SELECT signing_secret_encrypted AS s FROM agentry.webhooks WHERE id = $1', [again.id]);
    expect(second[0]!.s.equals(stored[0]!.s)).toBe(false);
  });
});

// ---------------------------------------------------------------- comparisons

describe('constant-time comparison of secrets', () => {
  // How keys and tokens are checked: the DAL hashes the presented value with
  // SHA-256 and agentry.verify_api_key / verify_session_token look the digest
  // up through the unique index on key_hash / token_hash. The only
  // comparisons are of digests of what the caller sent; their timing can tell
  // at most how many leading bytes of that digest match a stored digest,
  // which does not help find a key or token (that needs a SHA-256 preimage
  // of a 264- or 256-bit random value). No stored secret is ever compared in
  // JavaScript: the prefix check after the lookup and the webhook signature
  // check use crypto.timingSafeEqual.

  it('src/ compares no secret with ===, ==, Buffer.equals or compare: the files handling secrets use timingSafeEqual', { timeout: 60_000 }, () => {
    const result = withSourceFiles(resolve(repoRoot, 'tsconfig.json'), { root: repoRoot, under: 'src' }, (files) => findComparisons(files, repoRoot));
    expect(result.cryptoFiles).toEqual(expect.arrayContaining(['src/dal/access.ts', 'src/dal/integration.ts']));
    expect(result.comparisons).toEqual([]);
    expect(result.constantTime.map((c) => c.file).sort()).toEqual(['src/dal/access.ts', 'src/dal/integration.ts']);
  });

  it('the comparison check finds a planted === / equals / Buffer.compare on secrets, and not the harmless ones', { timeout: 60_000 }, () => {
    const found = withSnippets(
      {
        'auth.ts': `
          import { createHash, timingSafeEqual } from 'node:crypto';
          export function check(presentedToken: string, storedHash: Buffer, apiKey: string, expectedKey: string, secret?: string) {
            const digest = createHash('sha256').update(presentedToken).digest();
            if (digest.equals(storedHash)) return 1;
            if (Buffer.compare(digest, storedHash) === 0) return 2;
            if (apiKey === expectedKey) return 3;
            if (createHash('sha256').update(apiKey).digest('hex') == expectedKey) return 4;
            if (secret === undefined || apiKey.length !== 32 || typeof secret !== 'string' || apiKey === '') return 5;
            return timingSafeEqual(digest, storedHash) ? 6 : 0;
          }`,
        'lexer.ts': `export const isSpace = (token: { kind: string }, other: { kind: string }) => token.kind === other.kind;`,
      },
      (files, root) => findComparisons(files, root),
    );
    expect(found.cryptoFiles).toEqual(['src/auth.ts']);
    expect(found.comparisons.map((c) => c.text)).toEqual([
      'digest.equals(storedHash)',
      'Buffer.compare(digest, storedHash)',
      'apiKey === expectedKey',
      "createHash('sha256').update(apiKey).digest('hex') == expectedKey",
    ]);
    expect(found.constantTime).toHaveLength(1);
  });

  it('a signature or key one character off is refused, and one of another length is refused without an error', async () => {
    const secret = `whsec_${randomBytes(16).toString('hex')}`;
    const body = JSON.stringify({ task: 't-1' });
    const now = new Date();
    const header = signPayload(secret, body, now);
    expect(verifySignature(secret, body, header, { now })).toBe(true);
    const v1 = header.split('v1=')[1]!;
    for (let i = 0; i < v1.length; i += 1) {
      const flipped = `${v1.slice(0, i)}${v1[i] === '0' ? '1' : '0'}${v1.slice(i + 1)}`;
      expect(verifySignature(secret, body, header.replace(v1, flipped), { now })).toBe(false);
    }
    expect(verifySignature(secret, body, header.replace(v1, v1.slice(1)), { now })).toBe(false);
    expect(verifySignature(secret, body, header.replace(v1, `${v1}00`), { now })).toBe(false);

    const { key } = await agentry.access.createApiKey({ clientId: 'sec-ct', name: 'ct', scopes: [] });
    expect(await agentry.access.verifyApiKey(key)).not.toBeNull();
    for (const i of [5, 20, key.length - 1]) {
      const altered = `${key.slice(0, i)}${key[i] === 'A' ? 'B' : 'A'}${key.slice(i + 1)}`;
      expect(await agentry.access.verifyApiKey(altered)).toBeNull();
    }
    expect(await agentry.access.verifyApiKey(key.slice(0, -1))).toBeNull();
  });

  it('verify_api_key and verify_session_token look the digest up by equality on the uniquely indexed hash column', async () => {
    const { rows } = await db.pool.query<{ fn: string; def: string }>(
      `SELECT p.proname AS fn, pg_get_functiondef(p.oid) AS def FROM pg_proc p
        WHERE p.pronamespace = 'agentry'::regnamespace AND p.proname IN ('verify_api_key', 'verify_session_token') ORDER BY 1`,
    );
    expect(rows.map((r) => r.fn)).toEqual(['verify_api_key', 'verify_session_token']);
    expect(rows[0]!.def).toMatch(/k\.key_hash = presented_key_hash/);
    expect(rows[1]!.def).toMatch(/s\.token_hash = presented_token_hash/);
    const { rows: indexes } = await db.pool.query<{ name: string }>(
      `SELECT i.relname AS name FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indisunique AND x.indrelid IN ('agentry.api_keys'::regclass, 'agentry.user_sessions'::regclass)
          AND pg_get_indexdef(x.indexrelid) ~ '\\((key_hash|token_hash)\\)$' ORDER BY 1`,
    );
    expect(indexes.map((i) => i.name)).toEqual(['uq_api_keys_key_hash', 'uq_user_sessions_token_hash']);
  });
});

// ---------------------------------------------------------------- password hashes

describe('users.password_hash takes bcrypt and argon2id only (chk_users_password_hash_format)', () => {
  // The format as specified (the migration's comment): bcrypt $2a/$2b/$2y with a
  // two-digit cost and 53 characters of salt and hash in bcrypt's alphabet, or
  // an argon2id PHC string. The database must agree with this on every input.
  const BCRYPT_FORMAT = /^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/;
  const ARGON2ID_FORMAT = /^\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;
  const wellFormed = (s: string) => BCRYPT_FORMAT.test(s) || ARGON2ID_FORMAT.test(s);

  // Published examples: OpenWall crypt_blowfish's test vector, PHP's password_hash
  // documentation, argon2-cffi's README.
  const REAL = [
    '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW',
    '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a',
    BCRYPT,
    '$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg',
    '$argon2id$v=19$m=102400,t=2,p=8$tSm+JOWigOgPZx/g44K5fQ$WDyus6py50bVFIPkjA28lQ',
  ];
  const NEAR_MISSES = [
    `$2b$10$${'a'.repeat(52)}`, // one short
    `$2b$10$${'a'.repeat(54)}`, // one long
    `$2c$10$${'a'.repeat(53)}`, // no such version
    `$2x$10$${'a'.repeat(53)}`,
    `$2$10$${'a'.repeat(53)}`,
    `$2b$1$${'a'.repeat(54)}`, // one-digit cost
    `$2b$100$${'a'.repeat(52)}`,
    `$2b$10$${'a'.repeat(52)}!`, // not bcrypt's alphabet
    `$2b$10$${'a'.repeat(52)}-`,
    `$2b$10$${'a'.repeat(52)}=`,
    `$2b$10$${'a'.repeat(53)}\n`, // a trailing newline
    ` $2b$10$${'a'.repeat(53)}`,
    `$2B$10$${'a'.repeat(53)}`,
    '$argon2i$v=19$m=512,t=2,p=2$5VtWOO3cGWYQHEMaYGbsfQ$AcmqasQgW/wI6wAHAMk4aQ', // argon2i, not id
    '$argon2d$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg',
    '$argon2$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg',
    '$ARGON2ID$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg',
    '$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA', // no hash
    '$argon2id$v=19$m=65536,t=3$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg', // no p
    '$argon2id$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg', // no version
    '$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg=', // padding
    '$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV_P3S9nnQ-USre2wvJMjfCIjrTQbg', // base64url
    '$argon2id$v=19$m=65536,t=3,p=4$$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg', // empty salt
    // Plain passwords and other schemes.
    'password',
    'hunter2',
    'correct horse battery staple',
    'Tr0ub4dor&3',
    '',
    '$2b$10$',
    'md5e10adc3949ba59abbe56e057f20f883e',
    'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy',
    '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/',
    `$5$rounds=5000$salt$${'a'.repeat(43)}`,
    `$6$salt$${'a'.repeat(86)}`,
    '$pbkdf2-sha256$29000$c2FsdA$aGFzaA',
    '$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA',
    '{SSHA}aGFzaHNhbHQ=',
    createHash('sha256').update('password').digest('hex'),
  ];

  /** One INSERT per candidate in a savepoint of one transaction; true when the database took it. */
  async function accepts(client: pg.PoolClient, candidate: string, n: number): Promise<boolean> {
    await client.query('SAVEPOINT candidate');
    try {
      await client.query('INSERT INTO agentry.users (username, email, password_hash) VALUES ($1, $2, $3)', [`pw_${n}`, `pw_${n}@example.com`, candidate]);
      await client.query('RELEASE SAVEPOINT candidate');
      return true;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT candidate');
      const e = error as { code?: string; constraint?: string };
      expect([e.code, e.constraint], `${JSON.stringify(candidate)}: ${String(error)}`).toEqual(['23514', 'chk_users_password_hash_format']);
      return false;
    }
  }

  let counter = 0;
  const inTransaction = (fn: (client: pg.PoolClient) => Promise<void>) => inRolledBackTransaction(db.pool, fn);

  it('accepts real bcrypt and argon2id hashes and refuses every near miss and plain password', async () => {
    await inTransaction(async (client) => {
      for (const hash of REAL) {
        expect(wellFormed(hash), hash).toBe(true);
        expect(await accepts(client, hash, (counter += 1)), hash).toBe(true);
        figures.goodPasswordHashesTried += 1;
      }
      for (const miss of NEAR_MISSES) {
        expect(wellFormed(miss), JSON.stringify(miss)).toBe(false);
        expect(await accepts(client, miss, (counter += 1)), JSON.stringify(miss)).toBe(false);
        figures.badPasswordHashesTried += 1;
      }
    });
  });

  it('property: the database takes exactly the well-formed hashes (random strings, mutations of valid hashes, generated valid ones)', { timeout: 60_000 }, async () => {
    const bcrypt = fc.stringMatching(/^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/);
    const b64 = (max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9+/]{1,${max}}$`));
    const argon2id = fc
      .tuple(fc.nat(100), fc.nat(1 << 22), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 16 }), b64(32), b64(86))
      .map(([v, m, t, p, salt, hash]) => `$argon2id$v=${v}$m=${m},t=${t},p=${p}$${salt}$${hash}`);
    const valid = fc.oneof(bcrypt, argon2id);
    // A valid hash with one edit: a character removed, inserted, replaced, or the scheme changed.
    const mutated = fc
      .tuple(valid, fc.nat(), fc.constantFrom('delete', 'insert', 'replace', 'scheme', 'space', 'newline'), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }))
      .map(([hash, at, edit, ch]) => {
        const i = at % hash.length;
        const c = ch === '\0' ? '!' : ch;
        switch (edit) {
          case 'delete':
            return hash.slice(0, i) + hash.slice(i + 1);
          case 'insert':
            return hash.slice(0, i) + c + hash.slice(i);
          case 'replace':
            return hash.slice(0, i) + c + hash.slice(i + 1);
          case 'scheme':
            return hash.replace(/^\$(2[aby]|argon2id)\$/, ['$2c$', '$2$', '$argon2i$', '$argon2d$', '$3b$'][at % 5]!);
          case 'space':
            return ` ${hash}`;
          default:
            return `${hash}\n`;
        }
      });
    const randomText = fc.string({ unit: 'grapheme', maxLength: 100 }).filter((s) => !s.includes('\0'));
    const passwords = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 });
    const candidates = fc.oneof(
      { arbitrary: valid, weight: 2 },
      { arbitrary: mutated, weight: 4 },
      { arbitrary: randomText, weight: 2 },
      { arbitrary: passwords, weight: 1 },
    );
    await inTransaction(async (client) => {
      await fc.assert(
        fc.asyncProperty(candidates, async (candidate) => {
          const expected = wellFormed(candidate);
          if (expected) figures.goodPasswordHashesTried += 1;
          else figures.badPasswordHashesTried += 1;
          expect(await accepts(client, candidate, (counter += 1))).toBe(expected);
        }),
        { numRuns: 600, seed: 20260601 },
      );
    });
    expect(figures.badPasswordHashesTried).toBeGreaterThan(300);
  });

  it('the DAL (as agentry_app) reports a refused hash as the ConstraintViolation naming the rule', async () => {
    for (const bad of ['hunter2', NEAR_MISSES[0]!, NEAR_MISSES[13]!]) {
      const error = await agentry.access.createUser(`dal_pw_${randomBytes(3).toString('hex')}`, `dal_${randomBytes(3).toString('hex')}@example.com`, bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConstraintViolation);
      expect(error).toMatchObject({ constraint: 'chk_users_password_hash_format' });
      figures.badPasswordHashesTried += 1;
    }
  });
});
