import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { z } from 'zod';

import {
  apiKeysIdSchema,
  apiKeysInitializerSchema,
  auditLogsInitializerSchema,
  rateLimitWindowsInitializerSchema,
  userSessionsIdSchema,
  userSessionsInitializerSchema,
  usersInitializerSchema,
  type ApiKeys,
  type ApiKeysId,
  type AuditLogs,
  type AuditLogsInitializer,
  type RateLimitWindows,
  type UserSessions,
  type UserSessionsId,
  type Users,
  type UsersId,
} from '../../generated/index.js';
import { NotFound, parseInput } from './errors.js';
import type { Executor } from './executor.js';
import { jsonText, objectArg } from './values.js';

/** An API key as the application sees it: every column but the hash (which its role cannot read). */
export type ApiKeyInfo = Omit<ApiKeys, 'key_hash'>;
/** A session as the application sees it: every column but the token hash. */
export type UserSessionInfo = Omit<UserSessions, 'token_hash'>;
/** A user without the password hash. */
export type UserInfo = Omit<Users, 'password_hash'>;

export interface NewApiKey {
  clientId: string;
  name: string;
  /** Lower-case scope names such as tasks:read (the database checks their format). */
  scopes: string[];
  /** Requests per UTC minute and hour; the columns' defaults (60, 1000) where left out. */
  rateLimits?: { perMinute?: number; perHour?: number };
  expiresAt?: Date | null;
  description?: string | null;
  createdBy?: string | null;
}

export interface CreatedApiKey {
  apiKey: ApiKeyInfo;
  /** The key itself: shown to its owner now, never stored, never retrievable again. */
  key: string;
}

/** What a valid key grants (agentry.verify_api_key's row). */
export type VerifiedApiKey = { api_key_id: ApiKeysId } & Pick<
  ApiKeys,
  'client_id' | 'key_prefix' | 'scopes' | 'rate_limit_per_minute' | 'rate_limit_per_hour'
>;

/** The answer to one rate-limit hit. */
export interface RateLimitDecision {
  /** Whether this request is within the limit (the request is counted either way). */
  allowed: boolean;
  /** Requests left in this window after this one (0 once over the limit). */
  remaining: number;
  /** Requests counted in this window, this one included. */
  request_count: number;
  /** The key's limit for this window type. */
  request_limit: number;
  window_type: RateLimitWindows['window_type'];
  /** Start of the UTC minute or hour. */
  window_start: Date;
  /** When the window ends and the count starts again (e.g. for Retry-After). */
  window_end: Date;
}

/** An audit event: what audit_logs takes, without created_at (the database's clock stamps it). */
export type AuditEvent = Omit<AuditLogsInitializer, 'created_at'>;

export interface NewSessionOptions {
  deviceInfo?: Record<string, unknown>;
  ipAddress?: string | null;
}

export interface CreatedSession {
  session: UserSessionInfo;
  /** The session token: returned now, stored only as its SHA-256. */
  token: string;
}

/** What a valid session token stands for (agentry.verify_session_token's row). */
export interface VerifiedSession {
  user_session_id: UserSessionsId;
  user_id: UsersId;
  expires_at: Date | null;
}

/** Every API key starts with this, so that secret scanners and people recognise one. */
export const API_KEY_PREFIX = 'ains_';
/** 33 random bytes: exactly 44 base64url characters, no padding. */
const API_KEY_RANDOM_BYTES = 33;
/** Characters of the random part that are also the key's public handle (key_prefix): 72 bits, unique in practice. */
const KEY_PREFIX_RANDOM_CHARS = 12;
const API_KEY_FORMAT = /^ains_[A-Za-z0-9_-]{44}$/;
/** 32 random bytes: 43 base64url characters. */
const SESSION_TOKEN_BYTES = 32;
const SESSION_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

const sha256 = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/**
 * A fresh key and its public prefix. key_prefix allows [A-Za-z0-9_] only, so
 * a draw whose first 12 random characters hold base64url's '-' is drawn again
 * (about one in six): the prefix stays literally the start of the key, at a
 * cost of a fifth of a bit of the key's 264.
 */
function generateApiKey(): { key: string; prefix: string } {
  for (;;) {
    const random = randomBytes(API_KEY_RANDOM_BYTES).toString('base64url');
    const head = random.slice(0, KEY_PREFIX_RANDOM_CHARS);
    if (!head.includes('-')) return { key: `${API_KEY_PREFIX}${random}`, prefix: `${API_KEY_PREFIX}${head}` };
  }
}

const newApiKeySchema = apiKeysInitializerSchema
  .pick({
    client_id: true,
    name: true,
    scopes: true,
    rate_limit_per_minute: true,
    rate_limit_per_hour: true,
    expires_at: true,
    description: true,
    created_by: true,
  })
  .required({ scopes: true })
  .extend({
    scopes: z.array(z.string()),
  });
const hitSchema = rateLimitWindowsInitializerSchema.pick({ api_key_id: true, window_type: true });
const revocationSchema = z.object({
  reason: z.string().optional(),
  userId: auditLogsInitializerSchema.shape.user_id,
});
const auditEventSchema = auditLogsInitializerSchema.omit({ created_at: true });
const newUserSchema = usersInitializerSchema.pick({ username: true, email: true, password_hash: true });
const newSessionSchema = userSessionsInitializerSchema
  .pick({ user_id: true, device_info: true, ip_address: true })
  .extend({ ttl_seconds: z.number() });
const presentedSecretSchema = z.string();

/** Runs the audit insert on whichever executor (the pool, or a transaction that must hold it with its change). */
async function insertAudit(db: Executor, event: AuditEvent): Promise<AuditLogs> {
  const input = parseInput(auditEventSchema, event, 'audit event');
  const [row] = await db.query<AuditLogs>('access.insert_audit_log', [
    input.event_type,
    input.client_id ?? null,
    input.api_key_id ?? null,
    input.user_id ?? null,
    input.action,
    input.resource_type ?? null,
    input.resource_id ?? null,
    input.ip_address ?? null,
    input.user_agent ?? null,
    input.success,
    input.error_message ?? null,
    input.metadata === undefined ? null : jsonText(input.metadata, 'audit event', ['metadata']),
  ]);
  return row as AuditLogs;
}

/** The access context of the data-access library (see docs/dal.md). */
export const accessModule = (db: Executor) => ({
  /**
   * Creates an API key (`ains_` + 44 base64url characters) and returns it once; only its SHA-256 and public
   * prefix are stored, with an api_key_created audit row in the same transaction. Throws ValidationError for bad
   * input, ConstraintViolation for what the database refuses (scope format, rate limits, expiry in the past).
   */
  async createApiKey(given: NewApiKey): Promise<CreatedApiKey> {
    const input = objectArg(given, 'API key', { optional: false });
    const rateLimits = objectArg(input.rateLimits, 'API key', { path: ['rateLimits'] });
    const fields = parseInput(
      newApiKeySchema,
      {
        client_id: input.clientId,
        name: input.name,
        scopes: input.scopes,
        rate_limit_per_minute: rateLimits.perMinute,
        rate_limit_per_hour: rateLimits.perHour,
        expires_at: input.expiresAt,
        description: input.description,
        created_by: input.createdBy,
      },
      'API key',
    );
    const { key, prefix } = generateApiKey();
    const apiKey = await db.transaction(async (tx) => {
      const [row] = await tx.query<ApiKeyInfo>('access.insert_api_key', [
        prefix,
        sha256(key),
        fields.client_id,
        fields.name,
        fields.description ?? null,
        fields.scopes,
        fields.rate_limit_per_minute ?? null,
        fields.rate_limit_per_hour ?? null,
        fields.created_by ?? null,
        fields.expires_at ?? null,
      ]);
      const created = row as ApiKeyInfo;
      await insertAudit(tx, {
        event_type: 'api_key_created',
        client_id: created.client_id,
        api_key_id: created.id,
        action: 'create_api_key',
        resource_type: 'api_key',
        resource_id: created.id,
        success: true,
        metadata: { key_prefix: created.key_prefix, name: created.name, scopes: created.scopes, created_by: created.created_by },
      });
      return created;
    });
    return { apiKey, key };
  },

  /**
   * The grant of a presented key: its client, scopes and limits, or null when the key is malformed, unknown,
   * revoked or expired; sets last_used_at (at most once a minute). Throws ValidationError only for a non-string.
   */
  async verifyApiKey(presentedKey: string): Promise<VerifiedApiKey | null> {
    const presented = parseInput(presentedSecretSchema, presentedKey, 'API key');
    if (!API_KEY_FORMAT.test(presented)) return null;
    const [row] = await db.query<VerifiedApiKey>('access.verify_api_key', [sha256(presented)]);
    if (!row) return null;
    // The lookup matched the whole key's hash, so this cannot differ short of a
    // SHA-256 collision; checked anyway, and like every comparison of key
    // material here, in constant time.
    const stored = Buffer.from(row.key_prefix, 'utf8');
    const given = Buffer.from(presented.slice(0, row.key_prefix.length), 'utf8');
    return stored.length === given.length && timingSafeEqual(stored, given) ? row : null;
  },

  /** One API key by id, without its hash. Throws ValidationError for a malformed id, NotFound for an unknown one. */
  async getApiKey(id: ApiKeysId): Promise<ApiKeyInfo> {
    const keyId = parseInput(apiKeysIdSchema, id, 'API key id');
    const [row] = await db.query<ApiKeyInfo>('access.get_api_key', [keyId]);
    if (!row) throw new NotFound('api key', keyId);
    return row;
  },

  /**
   * Revokes a key (active = false) with an api_key_revoked audit row in the same transaction; revoking a revoked
   * key changes nothing and writes no second row. Throws ValidationError for a malformed id, NotFound for an
   * unknown one.
   */
  async revokeApiKey(id: ApiKeysId, audit: { reason?: string; userId?: UsersId | null } = {}): Promise<ApiKeyInfo> {
    const keyId = parseInput(apiKeysIdSchema, id, 'API key id');
    const { reason, userId } = parseInput(revocationSchema, audit, 'revocation');
    return db.transaction(async (tx) => {
      const [revoked] = await tx.query<ApiKeyInfo>('access.revoke_api_key', [keyId]);
      if (!revoked) {
        const [existing] = await tx.query<ApiKeyInfo>('access.get_api_key', [keyId]);
        if (!existing) throw new NotFound('api key', keyId);
        return existing;
      }
      await insertAudit(tx, {
        event_type: 'api_key_revoked',
        client_id: revoked.client_id,
        api_key_id: revoked.id,
        user_id: userId ?? null,
        action: 'revoke_api_key',
        resource_type: 'api_key',
        resource_id: revoked.id,
        success: true,
        metadata: { key_prefix: revoked.key_prefix, ...(reason === undefined ? {} : { reason }) },
      });
      return revoked;
    });
  },

  /**
   * Counts one request of the key in its current UTC minute or hour window, atomically, and says whether it is
   * within the key's limit (requests past it are counted too). Throws ValidationError for a malformed id or
   * window type, NotFound for an unknown key.
   */
  async hitRateLimit(apiKeyId: ApiKeysId, windowType: RateLimitWindows['window_type']): Promise<RateLimitDecision> {
    const input = parseInput(hitSchema, { api_key_id: apiKeyId, window_type: windowType }, 'rate-limit hit');
    const [decision] = await db.query<RateLimitDecision>('access.hit_rate_limit', [input.api_key_id, input.window_type]);
    if (!decision) throw new NotFound('api key', input.api_key_id);
    return decision;
  },

  /**
   * Appends one event to the audit log (which is append-only: nothing here updates or deletes). Throws
   * ValidationError for bad input (an invalid IP address too), ConstraintViolation for an unknown key or user.
   */
  async appendAudit(event: AuditEvent): Promise<AuditLogs> {
    return insertAudit(db, event);
  },

  /**
   * Creates a user from an already computed password hash, returned without it. Throws ValidationError for bad
   * input, ConstraintViolation when the hash is not bcrypt or argon2id (chk_users_password_hash_format), the
   * username or email (any case) is taken, or their format is refused.
   */
  async createUser(username: string, email: string, passwordHash: string): Promise<UserInfo> {
    const input = parseInput(newUserSchema, { username, email, password_hash: passwordHash }, 'user');
    const [row] = await db.query<UserInfo>('access.insert_user', [input.username, input.email, input.password_hash]);
    return row as UserInfo;
  },

  /**
   * Opens a session of `ttlSeconds` and returns its token once (only the SHA-256 is stored). Throws
   * ValidationError for bad input, ConstraintViolation for an unknown user or a ttl that is not positive
   * (chk_user_sessions_expires_after_start).
   */
  async createSession(userId: UsersId, ttlSeconds: number, sessionOptions: NewSessionOptions = {}): Promise<CreatedSession> {
    const options = objectArg(sessionOptions, 'session options');
    const input = parseInput(
      newSessionSchema,
      { user_id: userId, ttl_seconds: ttlSeconds, device_info: options.deviceInfo, ip_address: options.ipAddress },
      'session',
    );
    const token = randomBytes(SESSION_TOKEN_BYTES).toString('base64url');
    const [session] = await db.query<UserSessionInfo>('access.insert_user_session', [
      input.user_id,
      sha256(token),
      input.device_info === undefined ? null : jsonText(input.device_info, 'session', ['device_info']),
      input.ip_address ?? null,
      input.ttl_seconds,
    ]);
    return { session: session as UserSessionInfo, token };
  },

  /**
   * The session a presented token opens, or null when it is malformed, unknown, revoked or expired; sets
   * last_activity_at (at most once a minute). Throws ValidationError only for a non-string.
   */
  async verifySession(token: string): Promise<VerifiedSession | null> {
    const presented = parseInput(presentedSecretSchema, token, 'session token');
    if (!SESSION_TOKEN_FORMAT.test(presented)) return null;
    const [row] = await db.query<VerifiedSession>('access.verify_user_session', [sha256(presented)]);
    return row ?? null;
  },

  /**
   * Revokes a session; one that is already revoked or expired is returned unchanged. Throws ValidationError for
   * a malformed id, NotFound for an unknown one.
   */
  async revokeSession(sessionId: UserSessionsId): Promise<UserSessionInfo> {
    const id = parseInput(userSessionsIdSchema, sessionId, 'session id');
    const [revoked] = await db.query<UserSessionInfo>('access.revoke_user_session', [id]);
    if (revoked) return revoked;
    const [existing] = await db.query<UserSessionInfo>('access.get_user_session', [id]);
    if (!existing) throw new NotFound('user session', id);
    return existing;
  },
});
