import { createDecipheriv, createHmac, randomBytes } from 'node:crypto';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { AgentsId, WebhookDeliveriesId, WebhooksId } from '../../generated/index.js';
import { createAgentry, type AgentryClient } from '../../src/dal/client.js';
import { ConflictError, ConstraintViolation, NotFound, ValidationError } from '../../src/dal/errors.js';
import {
  SECRET_KEY_ENV,
  SecretKeyError,
  WEBHOOK_HEADERS,
  createIntegrationModule,
  signPayload,
  verifySignature,
  type ClaimedDelivery,
} from '../../src/dal/integration.js';
import { useTestDatabase } from '../helpers/db.js';

const db = useTestDatabase();
// The DAL runs as the application role: every statement is checked against its grants too. Fixtures use db.pool (superuser).
const AS_APP = '-c role=agentry_app';
const key = randomBytes(32).toString('base64');
const modules = { integration: createIntegrationModule({ secretKey: key, backoff: { baseSeconds: 10, maxSeconds: 15 } }) };
let agentry: AgentryClient<typeof modules>;

const MISSING = '00000000-0000-4000-8000-000000000000' as WebhooksId;
const SECRET = 'whsec_0123456789abcdef0123';

beforeAll(() => {
  agentry = createAgentry({ connectionString: db.url, options: AS_APP, max: 6 }, { modules });
});

afterAll(async () => {
  await agentry?.close();
});

/** An event context made of letters only (the event name format), unique to the caller. */
const context = () => `ctx_${[...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const webhook = (fields: Partial<Parameters<AgentryClient<typeof modules>['integration']['registerWebhook']>[0]> = {}) =>
  agentry.integration.registerWebhook({ clientId: 'client-1', url: 'https://hooks.example.com/in', events: ['task.completed'], secret: SECRET, ...fields });

async function storedSecret(id: string): Promise<Buffer> {
  const { rows } = await db.pool.query<{ s: Buffer }>(`SELECT signing_secret_encrypted AS s FROM agentry.webhooks WHERE id = $1`, [id]);
  return rows[0]!.s;
}

/** Time passes: the deliveries are due now (a retry's wait or a lease is over). */
async function makeDue(ids: readonly string[]): Promise<void> {
  await db.pool.query(`UPDATE agentry.webhook_deliveries SET next_attempt_at = now() - interval '1 second' WHERE id = ANY ($1::bigint[])`, [ids]);
}

async function deliveryRow(id: string) {
  const { rows } = await db.pool.query(`SELECT * FROM agentry.webhook_deliveries WHERE id = $1`, [id]);
  return rows[0] as Record<string, unknown>;
}

describe('registerWebhook and the signing secret', () => {
  it('stores the secret AES-256-GCM encrypted (iv || tag || ciphertext), never plain, and returns the row without it', async () => {
    const hook = await webhook({ description: 'ci', maxAttempts: 5 });
    expect(hook).toMatchObject({ client_id: 'client-1', events: ['task.completed'], active: true, max_attempts: 5, consecutive_failures: 0 });
    expect(hook).not.toHaveProperty('signing_secret_encrypted');

    const stored = await storedSecret(hook.id);
    expect(stored.length).toBe(12 + 16 + Buffer.byteLength(SECRET));
    expect(stored.includes(Buffer.from(SECRET))).toBe(false);
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key, 'base64'), stored.subarray(0, 12));
    decipher.setAuthTag(stored.subarray(12, 28));
    expect(Buffer.concat([decipher.update(stored.subarray(28)), decipher.final()]).toString()).toBe(SECRET);
    // A fresh iv each time: the same secret never encrypts to the same bytes.
    expect((await storedSecret((await webhook()).id)).equals(stored)).toBe(false);
  });

  it('without a key refuses to register (nothing stored) with a clear SecretKeyError; reads AGENTRY_SECRET_KEY when set', async () => {
    const saved = process.env[SECRET_KEY_ENV];
    const plain = createAgentry({ connectionString: db.url, options: AS_APP, max: 2 });
    const url = `https://hooks.example.com/${context()}`;
    try {
      delete process.env[SECRET_KEY_ENV];
      const error = await rejection(plain.integration.registerWebhook({ clientId: 'c', url, events: ['task.completed'], secret: SECRET }));
      expect(error).toBeInstanceOf(SecretKeyError);
      expect((error as Error).message).toMatch(/^no key for webhook signing secrets: set AGENTRY_SECRET_KEY to 32 bytes in base64/);
      const { rowCount } = await db.pool.query(`SELECT 1 FROM agentry.webhooks WHERE url = $1`, [url]);
      expect(rowCount).toBe(0);

      process.env[SECRET_KEY_ENV] = 'c2hvcnQ=';
      await expect(plain.integration.registerWebhook({ clientId: 'c', url, events: ['task.completed'], secret: SECRET })).rejects.toThrow(
        'AGENTRY_SECRET_KEY must be 32 bytes in base64 (openssl rand -base64 32); it decodes to 5 bytes',
      );

      process.env[SECRET_KEY_ENV] = key;
      const hook = await plain.integration.registerWebhook({ clientId: 'c', url, events: ['task.completed'], secret: SECRET });
      expect(hook.url).toBe(url);
    } finally {
      if (saved === undefined) delete process.env[SECRET_KEY_ENV];
      else process.env[SECRET_KEY_ENV] = saved;
      await plain.close();
    }
    expect(() => createIntegrationModule({ secretKey: 'not base64!' })).toThrow(SecretKeyError);
    expect(() => createIntegrationModule({ secretKey: randomBytes(16) })).toThrow('the secretKey option must be 32 bytes, got 16');
  });

  it('lets the database refuse: no owner, http url, malformed events, a secret under 16 bytes, an unknown agent, max_attempts 0', async () => {
    await expect(webhook({ clientId: null })).rejects.toMatchObject({ kind: 'check', constraint: 'chk_webhooks_owner' });
    await expect(webhook({ url: 'http://hooks.example.com' })).rejects.toMatchObject({ constraint: 'chk_webhooks_url_https' });
    await expect(webhook({ events: ['Task Completed'] })).rejects.toMatchObject({ constraint: 'chk_webhooks_events_format' });
    await expect(webhook({ secret: 'short' })).rejects.toMatchObject({ constraint: 'chk_webhooks_secret_encrypted_length' });
    await expect(webhook({ agentId: 'ghost-001' as AgentsId })).rejects.toMatchObject({ kind: 'foreign_key', constraint: 'fk_webhooks_agent_id' });
    await expect(webhook({ maxAttempts: 0 })).rejects.toMatchObject({ constraint: 'chk_webhooks_max_attempts_range' });
    await expect(webhook({ events: 'task.completed' as unknown as string[] })).rejects.toThrow(ValidationError);
    await expect(webhook({ secret: undefined as unknown as string })).rejects.toThrow(ValidationError);
    await expect(agentry.integration.getWebhook(MISSING)).rejects.toThrow(NotFound);
  });
});

describe('enqueueDelivery / enqueueForEvent', () => {
  it('enqueues one delivery to one webhook, due now; NotFound for an unknown webhook; the database checks the event name', async () => {
    const hook = await webhook();
    const delivery = await agentry.integration.enqueueDelivery(hook.id, 'task.completed', { task_id: 't1' });
    expect(delivery).toMatchObject({ webhook_id: hook.id, event_type: 'task.completed', payload: { task_id: 't1' }, status: 'pending', attempt_count: 0 });
    expect(typeof delivery.id).toBe('string');
    expect(delivery.idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
    await expect(agentry.integration.enqueueDelivery(MISSING, 'task.completed', {})).rejects.toThrow(NotFound);
    await expect(agentry.integration.enqueueDelivery(hook.id, 'TaskDone', {})).rejects.toMatchObject({
      constraint: 'chk_webhook_deliveries_event_type_format',
    });
    await expect(agentry.integration.enqueueDelivery(hook.id, 'task.completed', [1] as unknown as Record<string, unknown>)).rejects.toThrow(ValidationError);
    expect((await agentry.integration.listDeliveries(hook.id)).map((d) => d.id)).toEqual([delivery.id]);
  });

  it('fans an event out to active webhooks subscribed by name or by the context wildcard', async () => {
    const ctx = context();
    const exact = await webhook({ events: [`${ctx}.completed`] });
    const wildcard = await webhook({ events: [`${ctx}.*`, 'other.thing'] });
    await webhook({ events: [`${ctx}.failed`] });
    await webhook({ events: [`${ctx}.completed`], active: false });
    const deliveries = await agentry.integration.enqueueForEvent(`${ctx}.completed`, { ok: true });
    expect(deliveries.map((d) => d.webhook_id).sort()).toEqual([exact.id, wildcard.id].sort());
    expect(deliveries.every((d) => d.status === 'pending' && d.event_type === `${ctx}.completed`)).toBe(true);
    expect(await agentry.integration.enqueueForEvent(`${context()}.completed`, {})).toEqual([]);
    await expect(agentry.integration.enqueueForEvent(`${ctx}.*`, {})).rejects.toMatchObject({ constraint: 'chk_webhook_deliveries_event_type_format' });
  });
});

describe('the outbox: claim, lease, report', () => {
  beforeEach(async () => {
    // Claims take every due delivery of the database: start each test from an empty outbox.
    await db.pool.query(`DELETE FROM agentry.webhook_deliveries`);
  });

  async function enqueue(n: number, fields: Parameters<typeof webhook>[0] = {}) {
    const hook = await webhook(fields);
    const ids: WebhookDeliveriesId[] = [];
    for (let i = 0; i < n; i += 1) ids.push((await agentry.integration.enqueueDelivery(hook.id, 'task.completed', { n: i })).id);
    return { hook, ids };
  }

  it('claims due deliveries in flight with a lease, the url and the decrypted secret', async () => {
    const { hook, ids } = await enqueue(3);
    const before = Date.now();
    const claimed = await agentry.integration.claimDueDeliveries(2, 120);
    expect(claimed.map((d) => d.id)).toEqual(ids.slice(0, 2));
    for (const delivery of claimed) {
      expect(delivery).toMatchObject({ status: 'in_flight', attempt_count: 1, url: hook.url, secret: SECRET, webhook_id: hook.id });
      expect(delivery).not.toHaveProperty('signing_secret_encrypted');
      expect(delivery.next_attempt_at.getTime() - before).toBeGreaterThan(110_000);
      expect(delivery.last_attempt_at).toBeInstanceOf(Date);
    }
    // Leased deliveries are not due; the third one is.
    expect((await agentry.integration.claimDueDeliveries(10, 120)).map((d) => d.id)).toEqual([ids[2]]);
    expect(await agentry.integration.claimDueDeliveries(10, 120)).toEqual([]);
    await expect(agentry.integration.claimDueDeliveries(0, 60)).rejects.toThrow(ValidationError);
    await expect(agentry.integration.claimDueDeliveries(1, 0)).rejects.toThrow(ValidationError);
  });

  it('gives two concurrent claimers disjoint deliveries (SKIP LOCKED)', async () => {
    const { ids } = await enqueue(10);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first: ClaimedDelivery[] | undefined;
    // The first claimer keeps its transaction (and its row locks) open while the second claims.
    const holder = agentry.transaction(async (tx) => {
      first = await tx.integration.claimDueDeliveries(4, 60);
      await held;
    });
    while (!first) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await agentry.integration.claimDueDeliveries(10, 60);
    release();
    await holder;
    const a = first.map((d) => d.id);
    const b = second.map((d) => d.id);
    expect(a).toHaveLength(4);
    expect(b).toHaveLength(6);
    expect(a.filter((id) => b.includes(id))).toEqual([]);
    expect([...a, ...b].sort()).toEqual([...ids].sort());

    // And racing outright: still disjoint.
    await db.pool.query(`DELETE FROM agentry.webhook_deliveries`);
    const more = await enqueue(12);
    const [x, y] = await Promise.all([agentry.integration.claimDueDeliveries(6, 60), agentry.integration.claimDueDeliveries(6, 60)]);
    const xs = x.map((d) => d.id);
    expect(xs.filter((id) => y.some((d) => d.id === id))).toEqual([]);
    expect(xs.length + y.length).toBeLessThanOrEqual(12);
    const rest = await agentry.integration.claimDueDeliveries(12, 60);
    expect([...xs, ...y.map((d) => d.id), ...rest.map((d) => d.id)].sort()).toEqual([...more.ids].sort());
  });

  it('makes an in-flight delivery claimable again once its lease lapsed, as the next attempt', async () => {
    const { ids } = await enqueue(1);
    const [first] = await agentry.integration.claimDueDeliveries(1, 60);
    expect(await agentry.integration.claimDueDeliveries(1, 60)).toEqual([]);
    await makeDue(ids);
    const [again] = await agentry.integration.claimDueDeliveries(1, 60);
    expect(again).toMatchObject({ id: first!.id, status: 'in_flight', attempt_count: 2 });
    // The crashed sender's late report of attempt 1 is refused; the current one's is taken.
    const stale = await rejection(agentry.integration.markDelivered(first!.id, 200, { attempt: 1 }));
    expect(stale).toBeInstanceOf(ConflictError);
    expect(stale).toMatchObject({ reason: 'version_mismatch', expectedVersion: 1 });
    expect(await agentry.integration.markDelivered(again!.id, 200, { attempt: 2 })).toMatchObject({ status: 'delivered' });
  });

  it('abandons, instead of handing out, a delivery whose last allowed attempt lapsed', async () => {
    const { ids } = await enqueue(1, { maxAttempts: 1 });
    await agentry.integration.claimDueDeliveries(1, 60);
    await makeDue(ids);
    expect(await agentry.integration.claimDueDeliveries(1, 60)).toEqual([]);
    expect(await deliveryRow(ids[0]!)).toMatchObject({ status: 'abandoned', attempt_count: 1, last_error: 'lease lapsed on the last allowed attempt' });
  });

  it('does not hand out deliveries of an inactive webhook', async () => {
    const { hook, ids } = await enqueue(1);
    await db.pool.query(`UPDATE agentry.webhooks SET active = false WHERE id = $1`, [hook.id]);
    expect(await agentry.integration.claimDueDeliveries(10, 60)).toEqual([]);
    expect(await deliveryRow(ids[0]!)).toMatchObject({ status: 'pending' });
  });

  it('with another key fails clearly and claims nothing', async () => {
    const { ids } = await enqueue(2);
    const otherKey = randomBytes(32).toString('base64');
    const other = createAgentry({ connectionString: db.url, options: AS_APP, max: 2 }, { modules: { integration: createIntegrationModule({ secretKey: otherKey }) } });
    try {
      const error = await rejection(other.integration.claimDueDeliveries(10, 60));
      expect(error).toBeInstanceOf(SecretKeyError);
      expect((error as Error).message).toMatch(/^cannot decrypt the signing secret of webhook [0-9a-f-]+: the key is not the one it was encrypted with/);
    } finally {
      await other.close();
    }
    for (const id of ids) expect(await deliveryRow(id)).toMatchObject({ status: 'pending', attempt_count: 0 });
    expect(await agentry.integration.claimDueDeliveries(10, 60)).toHaveLength(2);
  });

  it('markDelivered: delivered, the webhook streak reset; a second report, an unknown id or a bad status are refused', async () => {
    const { hook, ids } = await enqueue(1);
    await db.pool.query(`UPDATE agentry.webhooks SET consecutive_failures = 3 WHERE id = $1`, [hook.id]);
    const [claimed] = await agentry.integration.claimDueDeliveries(1, 60);
    await expect(agentry.integration.markDelivered(claimed!.id, 700)).rejects.toMatchObject({ constraint: 'chk_webhook_deliveries_response_status_range' });
    const delivered = await agentry.integration.markDelivered(claimed!.id, 204);
    expect(delivered).toMatchObject({ id: ids[0], status: 'delivered', response_status: 204, last_error: null });
    expect(delivered.delivered_at).toBeInstanceOf(Date);
    const after = await agentry.integration.getWebhook(hook.id);
    expect(after.consecutive_failures).toBe(0);
    expect(after.last_success_at).toBeInstanceOf(Date);

    const twice = await rejection(agentry.integration.markDelivered(claimed!.id, 200));
    expect(twice).toBeInstanceOf(ConflictError);
    expect((twice as Error).message).toBe(`webhook delivery ${claimed!.id} is not in flight (status delivered): claim it before reporting on it`);
    await expect(agentry.integration.markDelivered('999999999' as WebhookDeliveriesId, 200)).rejects.toThrow(NotFound);
    await expect(agentry.integration.markDelivered('abc' as WebhookDeliveriesId, 200)).rejects.toThrow(ValidationError);
    // A pending delivery was never claimed: nobody may report on it.
    const pending = await agentry.integration.enqueueDelivery(hook.id, 'task.completed', {});
    await expect(agentry.integration.markFailed(pending.id, 'x')).rejects.toThrow(ConflictError);
  });

  it('markFailed: exponential backoff capped at the maximum, abandoned at max_attempts, the webhook streak counted', async () => {
    const { hook, ids } = await enqueue(1, { maxAttempts: 3 });
    const id = ids[0]!;
    const delays: number[] = [];
    for (const attempt of [1, 2]) {
      const [claimed] = await agentry.integration.claimDueDeliveries(1, 60);
      expect(claimed).toMatchObject({ id, attempt_count: attempt });
      const failed = await agentry.integration.markFailed(id, 'HTTP 503', 503, { attempt });
      expect(failed).toMatchObject({ status: 'failed', last_error: 'HTTP 503', response_status: 503 });
      delays.push((failed.next_attempt_at.getTime() - failed.last_attempt_at!.getTime()) / 1000);
      expect(await agentry.integration.claimDueDeliveries(1, 60)).toEqual([]); // waiting for the retry
      await makeDue(ids);
    }
    // base 10 s, then 20 s capped at 15 s (now() is the transaction's start: allow the statement's own milliseconds).
    expect(delays[0]).toBeCloseTo(10, 0);
    expect(delays[1]).toBeCloseTo(15, 0);
    await agentry.integration.claimDueDeliveries(1, 60);
    const abandoned = await agentry.integration.markFailed(id, 'connection refused');
    expect(abandoned).toMatchObject({ status: 'abandoned', attempt_count: 3, last_error: 'connection refused', response_status: null });
    await makeDue(ids);
    expect(await agentry.integration.claimDueDeliveries(1, 60)).toEqual([]);
    const after = await agentry.integration.getWebhook(hook.id);
    expect(after.consecutive_failures).toBe(3);
    expect(after.last_failure_at).toBeInstanceOf(Date);
    await expect(agentry.integration.markFailed('999999999' as WebhookDeliveriesId, 'x')).rejects.toThrow(NotFound);
  });
});

describe('signatures and the delivery request', () => {
  it('signs t.body with HMAC-SHA256 and verifies it (tampering and old timestamps fail)', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const body = '{"task_id":"t1"}';
    const header = signPayload(SECRET, body, at);
    const t = Math.floor(at.getTime() / 1000);
    expect(header).toBe(`t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}`);
    expect(verifySignature(SECRET, body, header, { now: at })).toBe(true);
    expect(verifySignature(SECRET, `${body} `, header, { now: at })).toBe(false);
    expect(verifySignature('another secret 0123', body, header, { now: at })).toBe(false);
    expect(verifySignature(SECRET, body, header, { now: new Date(at.getTime() + 301_000) })).toBe(false);
    expect(verifySignature(SECRET, body, 'garbage', { now: at })).toBe(false);
  });

  it('builds the signed POST of a claimed delivery with the documented headers', async () => {
    await db.pool.query(`DELETE FROM agentry.webhook_deliveries`);
    const hook = await webhook();
    const queued = await agentry.integration.enqueueDelivery(hook.id, 'task.completed', { task_id: 't9', ok: true });
    const [claimed] = await agentry.integration.claimDueDeliveries(1, 60);
    const request = agentry.integration.deliveryRequest(claimed!);
    expect(request).toMatchObject({ url: hook.url, method: 'POST', body: JSON.stringify(claimed!.payload) });
    expect(request.headers).toMatchObject({
      'Content-Type': 'application/json',
      [WEBHOOK_HEADERS.event]: 'task.completed',
      [WEBHOOK_HEADERS.delivery]: queued.idempotency_key,
      [WEBHOOK_HEADERS.attempt]: '1',
    });
    expect(verifySignature(SECRET, request.body, request.headers[WEBHOOK_HEADERS.signature]!)).toBe(true);
  });
});
