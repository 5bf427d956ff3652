// Integration context (migrations/1764547208000_integration.sql): webhooks
// with trg_webhooks_updated_at, and the webhook_deliveries outbox.
import { randomBytes, randomUUID } from 'node:crypto';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { useTestDatabase } from '../helpers/db.js';
import { accepted, errorOf, expectRefused, SQLSTATE } from './support.js';

const db = useTestDatabase();

const unique = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;
/** What the DAL stores: AES-256-GCM iv (12) || tag (16) || ciphertext (>= 16). */
const encryptedSecret = (ciphertextBytes = 32): Buffer => randomBytes(12 + 16 + ciphertextBytes);

async function newAgent(): Promise<string> {
  const [row] = await accepted<{ id: string }>(db.pool, 'INSERT INTO agentry.agents (id, name) VALUES ($1, $2) RETURNING id', [unique('agent'), unique('Agent')]);
  return row!.id;
}

const insertWebhook = `INSERT INTO agentry.webhooks (agent_id, client_id, url, events, signing_secret_encrypted, max_attempts, consecutive_failures)
                       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`;
const webhookRow = (
  overrides: Partial<Record<'agent_id' | 'client_id' | 'url' | 'events' | 'secret' | 'max_attempts' | 'consecutive_failures', unknown>> = {},
): unknown[] => [
  'agent_id' in overrides ? overrides.agent_id : null,
  'client_id' in overrides ? overrides.client_id : 'client_a',
  overrides.url ?? 'https://hooks.example.com/agentry',
  overrides.events ?? ['task.completed', 'checkpoint.created', 'task.*'],
  overrides.secret ?? encryptedSecret(),
  overrides.max_attempts ?? 8,
  overrides.consecutive_failures ?? 0,
];

async function newWebhook(overrides: Parameters<typeof webhookRow>[0] = {}): Promise<string> {
  const [row] = await accepted<{ id: string }>(db.pool, insertWebhook, webhookRow(overrides));
  return row!.id;
}

describe('webhooks', () => {
  it('accepts https URLs owned by an agent or a client', async () => {
    const agentId = await newAgent();
    for (const url of [
      'https://hooks.example.com',
      'https://hooks.example.com/agentry',
      'https://hooks.example.com:8443/a/b?x=1&y=2#frag',
      'https://192.0.2.7/hook',
    ]) {
      await newWebhook({ url });
    }
    await newWebhook({ agent_id: agentId, client_id: null });
  });

  it('refuses anything but https (chk_webhooks_url_https)', async () => {
    for (const url of [
      'http://hooks.example.com/agentry',
      'ftp://hooks.example.com/agentry',
      'javascript:alert(1)',
      'https:///agentry', // no host
      'https://',
      'https://?x=1',
      'https://hooks.example.com/a b', // space
      'https://hooks example.com/',
      ' https://hooks.example.com/',
      'https://hooks.example.com/\n',
      'https://user:secret@hooks.example.com/', // credentials in the URL
      'hooks.example.com/agentry',
    ]) {
      await expectRefused(db.pool, insertWebhook, webhookRow({ url }), { constraint: 'chk_webhooks_url_https', table: 'webhooks' });
    }
  });

  it('checks the event names (chk_webhooks_events_format)', async () => {
    await newWebhook({ events: ['task.completed'] });
    for (const events of [[], [null], ['TaskCompleted'], ['task'], ['Task.Completed'], ['task.*.x'], ['task.completed task.failed'], ['task.completed', ''], ['task.completed,task.failed'], ['task.created', 'task.completed,agent.*']]) {
      await expectRefused(db.pool, insertWebhook, webhookRow({ events }), { constraint: 'chk_webhooks_events_format', table: 'webhooks' });
    }
  });

  it('has an owner, an encrypted secret of at least iv + tag + one block, and bounded attempts', async () => {
    await newWebhook({ secret: encryptedSecret(16) });
    await expectRefused(db.pool, insertWebhook, webhookRow({ agent_id: null, client_id: null }), { constraint: 'chk_webhooks_owner', table: 'webhooks' });
    await expectRefused(db.pool, insertWebhook, webhookRow({ secret: encryptedSecret(15) }), {
      constraint: 'chk_webhooks_secret_encrypted_length',
      table: 'webhooks',
    });
    // A plain 32-character secret is not what is stored.
    await expectRefused(db.pool, insertWebhook, webhookRow({ secret: Buffer.from('whsec_0123456789abcdef0123456789') }), {
      constraint: 'chk_webhooks_secret_encrypted_length',
      table: 'webhooks',
    });
    for (const max of [0, 51]) {
      await expectRefused(db.pool, insertWebhook, webhookRow({ max_attempts: max }), { constraint: 'chk_webhooks_max_attempts_range', table: 'webhooks' });
    }
    await newWebhook({ max_attempts: 1 });
    await newWebhook({ max_attempts: 50 });
    await expectRefused(db.pool, insertWebhook, webhookRow({ consecutive_failures: -1 }), {
      constraint: 'chk_webhooks_consecutive_failures_nonnegative',
      table: 'webhooks',
    });
  });

  it('belongs to its agent (fk_webhooks_agent_id): unknown refused, rename followed, agent deletion cascades to webhooks and deliveries', async () => {
    await expectRefused(db.pool, insertWebhook, webhookRow({ agent_id: unique('ghost') }), { constraint: 'fk_webhooks_agent_id', table: 'webhooks' });
    const agentId = await newAgent();
    const webhookId = await newWebhook({ agent_id: agentId, client_id: null });
    await accepted(db.pool, `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload) VALUES ($1, 'task.completed', '{}')`, [webhookId]);
    const renamed = unique('renamed');
    await db.pool.query('UPDATE agentry.agents SET id = $2 WHERE id = $1', [agentId, renamed]);
    expect(await accepted(db.pool, 'SELECT agent_id FROM agentry.webhooks WHERE id = $1', [webhookId])).toEqual([{ agent_id: renamed }]);
    await db.pool.query('DELETE FROM agentry.agents WHERE id = $1', [renamed]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.webhooks WHERE id = $1', [webhookId])).toHaveLength(0);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.webhook_deliveries WHERE webhook_id = $1', [webhookId])).toHaveLength(0);
  });

  it('has a primary key (pk_webhooks) and stamps updated_at (trg_webhooks_updated_at)', async () => {
    const [row] = await accepted<{ id: string }>(
      db.pool,
      `INSERT INTO agentry.webhooks (client_id, url, events, signing_secret_encrypted, created_at, updated_at)
       VALUES ('client_a', 'https://hooks.example.com/', '{task.completed}', $1, '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z') RETURNING id`,
      [encryptedSecret()],
    );
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.webhooks (id, client_id, url, events, signing_secret_encrypted) VALUES ($1, 'c', 'https://h.example.com/', '{task.failed}', $2)`,
      [row!.id, encryptedSecret()],
      { constraint: 'pk_webhooks', table: 'webhooks' },
    );
    await db.pool.query(`UPDATE agentry.webhooks SET active = false, updated_at = '1999-01-01' WHERE id = $1`, [row!.id]);
    expect(await accepted(db.pool, `SELECT active, updated_at > now() - interval '1 minute' AS stamped FROM agentry.webhooks WHERE id = $1`, [row!.id])).toEqual([
      { active: false, stamped: true },
    ]);
  });

  it('shows the encrypted secret to agentry_app, which signs deliveries, but not to agentry_readonly', async () => {
    const webhookId = await newWebhook();
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE agentry_app');
      const { rows } = await client.query<{ signing_secret_encrypted: Buffer }>('SELECT signing_secret_encrypted FROM agentry.webhooks WHERE id = $1', [webhookId]);
      expect(rows[0]?.signing_secret_encrypted.length).toBe(60);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE agentry_readonly');
      const error = await errorOf(client, 'SELECT signing_secret_encrypted FROM agentry.webhooks WHERE id = $1', [webhookId]);
      expect(error.code).toBe(SQLSTATE.insufficientPrivilege);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('webhook_deliveries', () => {
  const insert = `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload, status, attempt_count, response_status, delivered_at)
                  VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`;
  const row = (
    webhookId: string,
    overrides: Partial<Record<'event_type' | 'payload' | 'status' | 'attempt_count' | 'response_status' | 'delivered_at', unknown>> = {},
  ): unknown[] => [
    webhookId,
    overrides.event_type ?? 'task.completed',
    overrides.payload ?? JSON.stringify({ task_id: randomUUID(), status: 'completed' }),
    overrides.status ?? 'pending',
    overrides.attempt_count ?? 0,
    'response_status' in overrides ? overrides.response_status : null,
    'delivered_at' in overrides ? overrides.delivered_at : null,
  ];

  it('queues a delivery with its defaults: pending, no attempt yet, due now, its own idempotency key', async () => {
    const webhookId = await newWebhook();
    const [delivery] = await accepted<{ id: string }>(db.pool, insert, row(webhookId));
    const [stored] = await accepted<{ status: string; attempt_count: number; idempotency_key: string; due: boolean }>(
      db.pool,
      'SELECT status, attempt_count, idempotency_key, next_attempt_at <= now() AS due FROM agentry.webhook_deliveries WHERE id = $1',
      [delivery!.id],
    );
    expect(stored).toMatchObject({ status: 'pending', attempt_count: 0, due: true });
    expect(stored?.idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps status and delivered_at consistent (chk_webhook_deliveries_delivered_consistent)', async () => {
    const webhookId = await newWebhook();
    await accepted(db.pool, insert, row(webhookId, { status: 'delivered', attempt_count: 1, response_status: 204, delivered_at: new Date() }));
    await expectRefused(db.pool, insert, row(webhookId, { status: 'delivered', attempt_count: 1, response_status: 200 }), {
      constraint: 'chk_webhook_deliveries_delivered_consistent',
      table: 'webhook_deliveries',
    });
    await expectRefused(db.pool, insert, row(webhookId, { status: 'pending', delivered_at: new Date() }), {
      constraint: 'chk_webhook_deliveries_delivered_consistent',
      table: 'webhook_deliveries',
    });
    const [pending] = await accepted<{ id: string }>(db.pool, insert, row(webhookId));
    await expectRefused(db.pool, `UPDATE agentry.webhook_deliveries SET status = 'delivered' WHERE id = $1`, [pending!.id], {
      constraint: 'chk_webhook_deliveries_delivered_consistent',
      table: 'webhook_deliveries',
    });
    await db.pool.query(`UPDATE agentry.webhook_deliveries SET status = 'delivered', delivered_at = now(), response_status = 200 WHERE id = $1`, [pending!.id]);
  });

  it('checks response_status, event_type, payload, status and attempt_count', async () => {
    const webhookId = await newWebhook();
    for (const code of [100, 599]) await accepted(db.pool, insert, row(webhookId, { status: 'failed', attempt_count: 1, response_status: code }));
    const refuse = (overrides: Parameters<typeof row>[1], constraint: string) =>
      expectRefused(db.pool, insert, row(webhookId, overrides), { constraint, table: 'webhook_deliveries' });
    await refuse({ status: 'failed', response_status: 99 }, 'chk_webhook_deliveries_response_status_range');
    await refuse({ status: 'failed', response_status: 600 }, 'chk_webhook_deliveries_response_status_range');
    for (const eventType of ['task.*', 'task', 'Task.Completed', 'task.completed.now', 'task completed']) {
      await refuse({ event_type: eventType }, 'chk_webhook_deliveries_event_type_format');
    }
    await refuse({ payload: '[]' }, 'chk_webhook_deliveries_payload_object');
    await refuse({ status: 'sent' }, 'chk_webhook_deliveries_status');
    await refuse({ attempt_count: -1 }, 'chk_webhook_deliveries_attempt_count_nonnegative');
    for (const status of ['pending', 'in_flight', 'failed', 'abandoned']) await accepted(db.pool, insert, row(webhookId, { status }));
  });

  it('has a unique idempotency key (uq_webhook_deliveries_idempotency_key) and a primary key (pk_webhook_deliveries)', async () => {
    const webhookId = await newWebhook();
    const key = randomUUID();
    const [first] = await accepted<{ id: string }>(
      db.pool,
      `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload, idempotency_key) VALUES ($1, 'task.completed', '{}', $2) RETURNING id`,
      [webhookId, key],
    );
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload, idempotency_key) VALUES ($1, 'task.failed', '{}', $2)`,
      [webhookId, key],
      { constraint: 'uq_webhook_deliveries_idempotency_key', table: 'webhook_deliveries' },
    );
    await expectRefused(
      db.pool,
      `INSERT INTO agentry.webhook_deliveries (id, webhook_id, event_type, payload) OVERRIDING SYSTEM VALUE VALUES ($1, $2, 'task.failed', '{}')`,
      [first!.id, webhookId],
      { constraint: 'pk_webhook_deliveries', table: 'webhook_deliveries' },
    );
  });

  it('belongs to a webhook (fk_webhook_deliveries_webhook_id): unknown refused, id change followed, webhook deletion cascades', async () => {
    await expectRefused(db.pool, insert, row(randomUUID()), { constraint: 'fk_webhook_deliveries_webhook_id', table: 'webhook_deliveries' });
    const webhookId = await newWebhook();
    const [delivery] = await accepted<{ id: string }>(db.pool, insert, row(webhookId));
    const newId = randomUUID();
    await db.pool.query('UPDATE agentry.webhooks SET id = $2 WHERE id = $1', [webhookId, newId]);
    expect(await accepted(db.pool, 'SELECT webhook_id FROM agentry.webhook_deliveries WHERE id = $1', [delivery!.id])).toEqual([{ webhook_id: newId }]);
    await db.pool.query('DELETE FROM agentry.webhooks WHERE id = $1', [newId]);
    expect(await accepted(db.pool, 'SELECT 1 FROM agentry.webhook_deliveries WHERE id = $1', [delivery!.id])).toHaveLength(0);
  });

  it('is claimed with FOR UPDATE SKIP LOCKED: two connections claim disjoint due rows, nothing is claimed twice', async () => {
    const webhookId = await newWebhook();
    const due: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const [d] = await accepted<{ id: string }>(
        db.pool,
        `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload, next_attempt_at)
         VALUES ($1, 'task.completed', $2, now() - $3 * interval '1 second') RETURNING id`,
        [webhookId, { n: i }, 100 - i],
      );
      due.push(d!.id);
    }
    // Neither a delivery that is not due yet nor a delivered one is claimed.
    const [later] = await accepted<{ id: string }>(
      db.pool,
      `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload, next_attempt_at) VALUES ($1, 'task.failed', '{}', now() + interval '1 hour') RETURNING id`,
      [webhookId],
    );
    await accepted(
      db.pool,
      `INSERT INTO agentry.webhook_deliveries (webhook_id, event_type, payload, status, delivered_at, next_attempt_at)
       VALUES ($1, 'task.failed', '{}', 'delivered', now(), now() - interval '1 hour')`,
      [webhookId],
    );

    const claim = `UPDATE agentry.webhook_deliveries d
                      SET status = 'in_flight', attempt_count = d.attempt_count + 1, last_attempt_at = now(),
                          next_attempt_at = now() + interval '5 minutes'
                    WHERE d.id IN (SELECT id FROM agentry.webhook_deliveries
                                    WHERE webhook_id = $1 AND status IN ('pending', 'failed', 'in_flight') AND next_attempt_at <= now()
                                    ORDER BY next_attempt_at, id
                                    LIMIT $2
                                    FOR UPDATE SKIP LOCKED)
                RETURNING d.id`;
    const a = new pg.Client({ connectionString: db.url });
    const b = new pg.Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      // a holds its rows locked while b claims: b must skip them, not wait for them.
      const claimedByA = (await a.query<{ id: string }>(claim, [webhookId, 4])).rows.map((r) => r.id);
      const claimedByB = (await b.query<{ id: string }>(claim, [webhookId, 4])).rows.map((r) => r.id);
      expect(claimedByA).toHaveLength(4);
      expect(claimedByB).toHaveLength(4);
      expect(claimedByA.filter((id) => claimedByB.includes(id))).toEqual([]);
      // The oldest due rows go first.
      expect([...claimedByA].sort()).toEqual(due.slice(0, 4).sort());
      await Promise.all([a.query('COMMIT'), b.query('COMMIT')]);

      const rest = (await a.query<{ id: string }>(claim, [webhookId, 10])).rows.map((r) => r.id);
      expect(rest).toHaveLength(2);
      expect([...claimedByA, ...claimedByB, ...rest].sort()).toEqual([...due].sort());
      expect(rest).not.toContain(later!.id);
      expect((await b.query(claim, [webhookId, 10])).rowCount).toBe(0);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
    const attempts = await accepted<{ status: string; attempt_count: number; n: string }>(
      db.pool,
      'SELECT status, attempt_count, count(*) AS n FROM agentry.webhook_deliveries WHERE webhook_id = $1 GROUP BY 1, 2 ORDER BY 1, 2',
      [webhookId],
    );
    expect(attempts).toEqual([
      { status: 'delivered', attempt_count: 0, n: '1' },
      { status: 'in_flight', attempt_count: 1, n: '10' },
      { status: 'pending', attempt_count: 0, n: '1' },
    ]);
  });
});
