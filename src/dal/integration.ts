import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { z } from 'zod';

import {
  webhookDeliveriesInitializerSchema,
  webhookDeliveriesSchema,
  webhooksInitializerSchema,
  webhooksSchema,
  type WebhookDeliveries,
  type WebhookDeliveriesId,
  type Webhooks,
  type WebhooksId,
} from '../../generated/index.js';
import { ConflictError, NotFound, parseInput } from './errors.js';
import type { Executor } from './executor.js';
import { jsonText, objectArg } from './values.js';

/**
 * The integration context: outgoing webhooks and their delivery outbox.
 *
 * Signing secrets. HMAC signing needs the plain secret at send time, so it is
 * stored encrypted, never hashed and never plain: AES-256-GCM in this module,
 * with a 32-byte key that never enters the database, in
 * webhooks.signing_secret_encrypted as iv (12 bytes) || auth tag (16 bytes) ||
 * ciphertext (as long as the secret). The key comes from
 * createIntegrationModule({ secretKey }) (see createAgentry's `modules`
 * option) or from the environment variable AGENTRY_SECRET_KEY, as 32 bytes in
 * base64 (`openssl rand -base64 32`). Without a key, registering a webhook
 * and claiming deliveries fail with SecretKeyError; with another key than the
 * one a secret was encrypted with, decryption fails with SecretKeyError too.
 * The database requires the secret to be at least 16 bytes
 * (chk_webhooks_secret_encrypted_length: 28 + 16 bytes stored).
 *
 * The outbox. enqueueDelivery / enqueueForEvent add pending deliveries;
 * claimDueDeliveries hands due ones to a sender (FOR UPDATE SKIP LOCKED, so
 * concurrent senders get disjoint sets) as in_flight with a lease; the sender
 * posts deliveryRequest(delivery) and reports markDelivered or markFailed.
 * A lapsed lease (a crashed sender) makes the delivery claimable again.
 * Failures are retried with exponential backoff until the webhook's
 * max_attempts, then abandoned.
 *
 * Delivery ids are bigint and travel as strings.
 */

// ---------------------------------------------------------------------------
// Secret encryption
// ---------------------------------------------------------------------------

/** The environment variable holding the key when none is passed to createIntegrationModule. */
export const SECRET_KEY_ENV = 'AGENTRY_SECRET_KEY';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** No usable key for webhook secrets, or a stored secret that this key cannot decrypt. */
export class SecretKeyError extends Error {
  override name = 'SecretKeyError';
}

/** A 32-byte key from base64 (or base64url) text or bytes; SecretKeyError when it is anything else. */
export function parseSecretKey(key: string | Uint8Array, source = 'the webhook secret key'): Buffer {
  if (typeof key !== 'string') {
    if (key.length !== KEY_BYTES) throw new SecretKeyError(`${source} must be ${KEY_BYTES} bytes, got ${key.length}`);
    return Buffer.from(key);
  }
  const text = key.trim();
  // Buffer.from(..., 'base64') skips characters it does not know; refuse them instead of using a different key.
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    throw new SecretKeyError(`${source} must be ${KEY_BYTES} bytes in base64 (openssl rand -base64 32); it has characters base64 does not use`);
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== KEY_BYTES) {
    throw new SecretKeyError(`${source} must be ${KEY_BYTES} bytes in base64 (openssl rand -base64 32); it decodes to ${bytes.length} bytes`);
  }
  return bytes;
}

/** iv || tag || ciphertext of the secret under AES-256-GCM with a fresh random iv. */
export function encryptSecret(key: Buffer, secret: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

/** The secret back from iv || tag || ciphertext; SecretKeyError when the key is not the one used, or the bytes were altered. */
export function decryptSecret(key: Buffer, stored: Buffer, what = 'a webhook signing secret'): string {
  if (stored.length < IV_BYTES + TAG_BYTES) throw new SecretKeyError(`cannot decrypt ${what}: ${stored.length} bytes is too short for iv and tag`);
  const decipher = createDecipheriv('aes-256-gcm', key, stored.subarray(0, IV_BYTES));
  decipher.setAuthTag(stored.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(stored.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new SecretKeyError(
      `cannot decrypt ${what}: the key is not the one it was encrypted with (check ${SECRET_KEY_ENV} or the secretKey option), or the stored value was altered`,
      { cause: error },
    );
  }
}

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

/**
 * Header names of a delivery request:
 *  - Agentry-Signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook's secret>`;
 *    the timestamp is signed too, so that a receiver can refuse replays of old requests.
 *  - Agentry-Event: the event type (task.completed).
 *  - Agentry-Delivery: the delivery's idempotency key (a uuid, the same on every retry): receivers dedupe on it.
 *  - Agentry-Attempt: 1 for the first attempt, 2 for the first retry, ...
 */
export const WEBHOOK_HEADERS = {
  signature: 'Agentry-Signature',
  event: 'Agentry-Event',
  delivery: 'Agentry-Delivery',
  attempt: 'Agentry-Attempt',
} as const;

const unixSeconds = (at: Date) => Math.floor(at.getTime() / 1000);

// z.date() refuses an Invalid Date, which would sign "t=NaN".
const signInputSchema = z.object({ secret: z.string(), body: z.string(), at: z.date() });

/**
 * The Agentry-Signature header value for a request body: `t=<unix seconds>,v1=<hex>`,
 * v1 being HMAC-SHA256 over `${t}.${body}` keyed with the webhook's secret.
 */
export function signPayload(secret: string, body: string, at: Date = new Date()): string {
  const input = parseInput(signInputSchema, { secret, body, at }, 'signature input');
  const t = unixSeconds(input.at);
  const v1 = createHmac('sha256', input.secret).update(`${t}.${input.body}`, 'utf8').digest('hex');
  return `t=${t},v1=${v1}`;
}

/**
 * The receiver's check of an Agentry-Signature header: true when a v1
 * signature matches the body and the timestamp is within toleranceSeconds
 * (default 300) of now. Compared in constant time.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  options: { toleranceSeconds?: number; now?: Date } = {},
): boolean {
  const parts = header.split(',').map((part) => part.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isSafeInteger(t)) return false;
  if (Math.abs(unixSeconds(options.now ?? new Date()) - t) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex'), 'utf8');
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && v.length === expected.length && timingSafeEqual(Buffer.from(v, 'utf8'), expected));
}

// ---------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------

/** A webhook as the DAL returns it: every column but the encrypted secret. */
export type Webhook = Omit<Webhooks, 'signing_secret_encrypted'>;

/** A claimed delivery with what sending it needs: the webhook's url and its decrypted signing secret. */
export type ClaimedDelivery = WebhookDeliveries & { url: string; secret: string };

export interface DeliveryRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

export interface IntegrationOptions {
  /** 32 bytes, or their base64. Default: process.env.AGENTRY_SECRET_KEY, read when a key is needed. */
  secretKey?: string | Uint8Array;
  /** Retry delays: least(maxSeconds, baseSeconds * 2^(attempt - 1)). Default 30 s doubling up to 1 h. */
  backoff?: { baseSeconds?: number; maxSeconds?: number };
}

const webhookShape = webhooksInitializerSchema.shape;
const webhookIdSchema = webhooksSchema.shape.id;
// bigint as a string; one that is not a number is refused by PostgreSQL (22P02, a ValidationError).
const deliveryIdSchema = webhookDeliveriesSchema.shape.id;
const attemptSchema = webhookDeliveriesSchema.shape.attempt_count.int().nonnegative();

const registerWebhookSchema = z.object({
  agentId: webhookShape.agent_id,
  clientId: webhookShape.client_id,
  url: webhookShape.url,
  events: z.array(webhookShape.events.element),
  /** The plain signing secret (only its encryption is stored). */
  secret: z.string(),
  description: webhookShape.description,
  active: webhookShape.active,
  maxAttempts: webhookShape.max_attempts,
});

const deliverySchema = z.object({
  eventType: webhookDeliveriesInitializerSchema.shape.event_type,
  payload: webhookDeliveriesInitializerSchema.shape.payload,
});

const claimSchema = z.object({
  batchSize: z.number().int().min(1).max(1000),
  leaseSeconds: z.number().int().min(1).max(86_400),
});

const backoffSchema = z.object({
  baseSeconds: z.number().positive().default(30),
  maxSeconds: z.number().positive().default(3600),
});

const markSchema = z.object({
  id: deliveryIdSchema,
  responseStatus: webhookDeliveriesSchema.shape.response_status,
  error: z.string().optional(),
  attempt: attemptSchema.optional(),
});

// Delivered means a response came: its status is required.
const markDeliveredSchema = markSchema.extend({ responseStatus: webhookDeliveriesSchema.shape.response_status.unwrap() });

export type RegisterWebhookInput = z.input<typeof registerWebhookSchema>;

/** What deliveryRequest reads of a claimed delivery. */
const deliveryRequestSchema = z.object({
  url: z.string(),
  secret: z.string(),
  payload: webhookDeliveriesSchema.shape.payload,
  event_type: z.string(),
  idempotency_key: z.string(),
  attempt_count: attemptSchema,
});
export interface MarkOptions {
  /** The attempt_count the delivery had when claimed: refuses the report if the delivery was reclaimed since. */
  attempt?: number;
}

/**
 * The integration module with its own key (and backoff):
 *
 *   createAgentry({ connectionString }, { modules: { integration: createIntegrationModule({ secretKey }) } })
 */
export function createIntegrationModule(options: IntegrationOptions = {}) {
  const backoff = parseInput(backoffSchema, options.backoff ?? {}, 'backoff');
  if (options.secretKey !== undefined) parseSecretKey(options.secretKey, 'the secretKey option');

  /** The key, from the options or, read now, the environment; SecretKeyError when there is none. */
  const key = (): Buffer => {
    if (options.secretKey !== undefined) return parseSecretKey(options.secretKey, 'the secretKey option');
    const fromEnv = process.env[SECRET_KEY_ENV];
    if (fromEnv === undefined || fromEnv.trim() === '') {
      throw new SecretKeyError(
        `no key for webhook signing secrets: set ${SECRET_KEY_ENV} to 32 bytes in base64 (openssl rand -base64 32) or pass createIntegrationModule({ secretKey })`,
      );
    }
    return parseSecretKey(fromEnv, SECRET_KEY_ENV);
  };

  return (db: Executor) => {
    /** Zero rows from a mark_* statement: tell a missing delivery from one that is not (or no longer) this sender's. */
    const explainUnmarked = async (tx: Executor, id: string, attempt: number | undefined): Promise<never> => {
      const [delivery] = await tx.query<WebhookDeliveries>('integration.get_delivery', [id]);
      if (!delivery) throw new NotFound('webhook delivery', id);
      if (delivery.status === 'in_flight' && attempt !== undefined) throw ConflictError.versionMismatch('webhook delivery', id, attempt);
      throw new ConflictError(`webhook delivery ${id} is not in flight (status ${delivery.status}): claim it before reporting on it`, {
        reason: 'version_mismatch',
        entity: 'webhook delivery',
        id,
      });
    };

    return {
      /**
       * Registers a webhook of an agent or API client; the secret is stored
       * AES-256-GCM encrypted, and the row comes back without it. Throws
       * SecretKeyError (no key configured: nothing is stored),
       * ConstraintViolation (no owner, url not https, malformed event names,
       * secret under 16 bytes, unknown agent, max_attempts outside 1..50),
       * ValidationError (shape).
       */
      async registerWebhook(input: RegisterWebhookInput): Promise<Webhook> {
        const v = parseInput(registerWebhookSchema, input, 'webhook');
        const encrypted = encryptSecret(key(), v.secret);
        const [webhook] = await db.query<Webhook>('integration.insert_webhook', [
          v.agentId ?? null,
          v.clientId ?? null,
          v.url,
          v.events,
          encrypted,
          v.description ?? null,
          v.active ?? null,
          v.maxAttempts ?? null,
        ]);
        return webhook!;
      },

      /** One webhook, without its secret. Throws NotFound, ValidationError. */
      async getWebhook(webhookId: WebhooksId): Promise<Webhook> {
        const id = parseInput(webhookIdSchema, webhookId, 'webhook id');
        const [webhook] = await db.query<Webhook>('integration.get_webhook', [id]);
        if (!webhook) throw new NotFound('webhook', id);
        return webhook;
      },

      /**
       * Puts one delivery of an event to one webhook in the outbox, due now,
       * whatever the webhook subscribes to. Throws NotFound (no such webhook),
       * ConstraintViolation (event type not context.event), ValidationError
       * (payload not a JSON object).
       */
      async enqueueDelivery(webhookId: WebhooksId, eventType: string, payload: Record<string, unknown>): Promise<WebhookDeliveries> {
        const id = parseInput(webhookIdSchema, webhookId, 'webhook id');
        const v = parseInput(deliverySchema, { eventType, payload }, 'delivery');
        const [delivery] = await db.query<WebhookDeliveries>('integration.enqueue_delivery', [id, v.eventType, jsonText(v.payload, 'delivery', ['payload'])]);
        if (!delivery) throw new NotFound('webhook', id);
        return delivery;
      },

      /**
       * Fans an event out: one pending delivery per active webhook subscribed
       * to its name or to its context's wildcard (task.* for task.completed).
       * Returns them ([] when nobody listens). Throws ConstraintViolation
       * (event type not context.event), ValidationError.
       */
      async enqueueForEvent(eventType: string, payload: Record<string, unknown>): Promise<WebhookDeliveries[]> {
        const v = parseInput(deliverySchema, { eventType, payload }, 'delivery');
        return db.query<WebhookDeliveries>('integration.enqueue_for_event', [v.eventType, jsonText(v.payload, 'delivery', ['payload'])]);
      },

      /**
       * Claims up to batchSize due deliveries (FOR UPDATE SKIP LOCKED: a
       * concurrent claimer gets others) as in_flight for leaseSeconds, each
       * with its webhook's url and decrypted secret. Runs in a transaction, so
       * a SecretKeyError (no key, or not the key the secrets were encrypted
       * with) claims nothing. Throws ValidationError for a bad batch or lease.
       */
      async claimDueDeliveries(batchSize: number, leaseSeconds: number): Promise<ClaimedDelivery[]> {
        const v = parseInput(claimSchema, { batchSize, leaseSeconds }, 'claim');
        // Before any SQL: a sender without a key should fail at once, not only once something is due.
        const secretKey = key();
        return db.transaction(async (tx) => {
          const rows = await tx.query<WebhookDeliveries & { url: string; signing_secret_encrypted: Buffer }>(
            'integration.claim_due_deliveries',
            [v.batchSize, v.leaseSeconds],
          );
          return rows.map(({ signing_secret_encrypted: encrypted, ...delivery }) => ({
            ...delivery,
            secret: decryptSecret(secretKey, encrypted, `the signing secret of webhook ${delivery.webhook_id}`),
          }));
        });
      },

      /**
       * Records that an in-flight delivery was accepted (responseStatus, e.g.
       * 200) and resets the webhook's failure streak. Throws NotFound,
       * ConflictError (not in flight, e.g. already reported, or options.attempt
       * is not the current attempt: the lease lapsed and it was reclaimed),
       * ConstraintViolation (status outside 100..599), ValidationError.
       */
      async markDelivered(deliveryId: WebhookDeliveriesId, responseStatus: number, options: MarkOptions = {}): Promise<WebhookDeliveries> {
        const v = parseInput(markDeliveredSchema, { id: deliveryId, responseStatus, attempt: objectArg(options, 'delivery report options').attempt }, 'delivery report');
        return db.transaction(async (tx) => {
          const [delivery] = await tx.query<WebhookDeliveries>('integration.mark_delivered', [v.id, v.responseStatus, v.attempt ?? null]);
          return delivery ?? explainUnmarked(tx, v.id, v.attempt);
        });
      },

      /**
       * Records a failed attempt of an in-flight delivery: failed and due
       * again after the backoff, or abandoned once the webhook's max_attempts
       * are spent; the webhook's failure streak grows. Throws NotFound,
       * ConflictError (as markDelivered), ConstraintViolation, ValidationError.
       */
      async markFailed(
        deliveryId: WebhookDeliveriesId,
        error: string,
        responseStatus: number | null = null,
        options: MarkOptions = {},
      ): Promise<WebhookDeliveries> {
        const v = parseInput(markSchema, { id: deliveryId, responseStatus, error, attempt: objectArg(options, 'delivery report options').attempt }, 'delivery report');
        return db.transaction(async (tx) => {
          const [delivery] = await tx.query<WebhookDeliveries>('integration.mark_failed', [
            v.id,
            v.error,
            v.responseStatus,
            backoff.baseSeconds,
            backoff.maxSeconds,
            v.attempt ?? null,
          ]);
          return delivery ?? explainUnmarked(tx, v.id, v.attempt);
        });
      },

      /** A webhook's deliveries, newest first, at most limit (1..1000, default 50). Throws ValidationError. */
      async listDeliveries(webhookId: WebhooksId, limit = 50): Promise<WebhookDeliveries[]> {
        const id = parseInput(webhookIdSchema, webhookId, 'webhook id');
        const max = parseInput(z.number().int().min(1).max(1000), limit, 'limit');
        return db.query<WebhookDeliveries>('integration.list_deliveries', [id, max]);
      },

      /** The signature header value for a body (see signPayload). */
      signPayload,

      /** The POST a sender makes for a claimed delivery: JSON body, signed, with the headers of WEBHOOK_HEADERS. */
      deliveryRequest(claimed: ClaimedDelivery, at: Date = new Date()): DeliveryRequest {
        const delivery = parseInput(deliveryRequestSchema, claimed, 'claimed delivery');
        const body = jsonText(delivery.payload, 'claimed delivery', ['payload']);
        return {
          url: delivery.url,
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            [WEBHOOK_HEADERS.signature]: signPayload(delivery.secret, body, at),
            [WEBHOOK_HEADERS.event]: delivery.event_type,
            [WEBHOOK_HEADERS.delivery]: delivery.idempotency_key,
            [WEBHOOK_HEADERS.attempt]: String(delivery.attempt_count),
          },
          body,
        };
      },
    };
  };
}

/** The registered integration module: its key is AGENTRY_SECRET_KEY, read when needed. */
export const integrationModule = createIntegrationModule();
