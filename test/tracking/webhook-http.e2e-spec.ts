import { Client } from 'pg';
import request from 'supertest';
import { callbackFixtureBody } from '../../test/fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import {
  adminAuth,
  catchUp,
  catchUpTracking,
  createTenant,
  deliveryEvents,
  expectErrorBody,
  messageView,
  metricValue,
  parkedRows,
  postCallback,
  postRawCallback,
  queueMessage,
  startTrackingApp,
  webhookPath,
  type TrackingTenant,
} from './tracking-kit';

const V2_ENQUEUED_GUPSHUP_ID = '59f8db90-c37e-4408-90ab-cc54ef8246ad';

describe('POST /api/v1/apps/:apiKey/webhook/gupshup_whatsapp: the HTTP contract', () => {
  let t: TestApp;
  let tenant: TrackingTenant;

  beforeAll(async () => {
    t = await startTrackingApp({ env: { WEBHOOK_BODY_LIMIT_BYTES: '4096' } });
    tenant = await createTenant(t);
  });
  afterAll(() => t.close());

  const countRows = async () => {
    const [row] = await t.db.query<{ events: number; parked: number }>(
      'SELECT (SELECT count(*)::int FROM es_events) AS events, (SELECT count(*)::int FROM parked_callbacks) AS parked',
    );
    return row;
  };

  it('answers 404 with the JSON error shape for an unknown app key, and stores nothing', async () => {
    const before = await countRows();
    const res = await postCallback(t, 'no-such-key', callbackFixtureBody('v2-enqueued')).expect(404);
    expectErrorBody(res.body, 404);
    expect(res.body.message).toMatch(/No app has this API key/);
    expect(await countRows()).toEqual(before);
  });

  it.each([
    ['malformed JSON', 'application/json', '{"app": "DemoAPI", "type": ', /not valid JSON/],
    ['an empty body', 'application/json', '', /empty/],
    ['a form-encoded body (Gupshup v1)', 'application/x-www-form-urlencoded', 'app=DemoAPI&type=message-event', /not valid JSON/],
    ['plain text that is not JSON', 'text/plain', 'delivered', /not valid JSON/],
  ])('answers 400 for %s, saying what to send, and stores nothing', async (_what, contentType, body, message) => {
    const before = await countRows();
    const res = await request(t.url).post(webhookPath(tenant.apiKey)).set('Content-Type', contentType).send(body).expect(400);
    expectErrorBody(res.body, 400);
    expect(res.body.message).toMatch(message);
    expect(await countRows()).toEqual(before);
  });

  it('answers 413 past the webhook body limit, naming the limit, and stores nothing', async () => {
    const before = await countRows();
    const body = { ...(callbackFixtureBody('v2-enqueued') as object), padding: 'x'.repeat(5000) };
    const res = await postCallback(t, tenant.apiKey, body).expect(413);
    expectErrorBody(res.body, 413);
    expect(res.body.message).toMatch(/at most 4096 bytes \(WEBHOOK_BODY_LIMIT_BYTES/);
    expect(await countRows()).toEqual(before);
  });

  it.each([
    ['application/json'],
    ['application/json; charset=utf-8'],
    ['application/json; charset=UTF-8'],
    ['text/plain'],
    ['text/plain; charset=utf-8'],
  ])('accepts a JSON callback sent as %s', async (contentType) => {
    const own = await createTenant(t);
    const message = await queueMessage(t, own.id, { gupshupId: V2_ENQUEUED_GUPSHUP_ID });
    await catchUp(t);
    const res = await postCallback(t, own.apiKey, callbackFixtureBody('v2-enqueued'), contentType).expect(200);
    expect(res.text).toBe('');
    expect(await deliveryEvents(t, message.messageId)).toHaveLength(1);
  });

  it('accepts a JSON callback without any Content-Type header', async () => {
    const own = await createTenant(t);
    const message = await queueMessage(t, own.id, { gupshupId: V2_ENQUEUED_GUPSHUP_ID });
    await catchUp(t);
    const body = Buffer.from(JSON.stringify(callbackFixtureBody('v2-enqueued')));
    await request(t.url).post(webhookPath(own.apiKey)).unset('Content-Type').send(body).expect(200);
    await catchUpTracking(t);
    expect(await deliveryEvents(t, message.messageId)).toHaveLength(1);
  });

  it('answers 200 for the sandbox-start check Gupshup sends when the callback URL is set', async () => {
    const res = await postCallback(t, tenant.apiKey, { app: 'DemoAPI', timestamp: Date.now(), version: 2, type: 'user-event', payload: { phone: 'callbackSetPhone', type: 'sandbox-start' } }).expect(200);
    expect(res.text).toBe('');
  });

  it.each([
    ['a JSON object that is no Gupshup callback', { hello: 'world' }, /neither a v2 callback/],
    ['a JSON array', [1, 2, 3], /not a JSON object/],
    ['a message-event without any id', { app: 'DemoAPI', timestamp: 1, version: 2, type: 'message-event', payload: { type: 'delivered', payload: { ts: 1700000000 } } }, /without id or gsId/],
    ['an id too long to be real', { app: 'DemoAPI', timestamp: 1700000000000, version: 2, type: 'message-event', payload: { id: 'x'.repeat(300), type: 'enqueued' } }, /longer than 200/],
    ['a timestamp no event can have', { app: 'DemoAPI', timestamp: 1, version: 2, type: 'message-event', payload: { id: 'g-1', type: 'enqueued', destination: '91' } }, /not a plausible event time/],
    ['text PostgreSQL cannot store', { app: 'DemoAPI', timestamp: 1700000000000, version: 2, type: 'message-event', payload: { id: '\u0000', type: 'failed', payload: { code: 1, reason: '\ud800' } } }, /without id or gsId|no usable message id/],
  ])('keeps %s as "invalid", visible to operators, and answers 200 (Gupshup would only retry it)', async (_what, body, problem) => {
    const own = await createTenant(t);
    const before = await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'invalid' });
    await postCallback(t, own.apiKey, body).expect(200);
    const listed = await request(t.url).get('/admin/parked-callbacks').query({ appId: own.id }).set(adminAuth).expect(200);
    expect(listed.body.data).toEqual([expect.objectContaining({ appId: own.id, state: 'invalid', problem: expect.stringMatching(problem), body })]);
    expect(await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'invalid' })).toBe(before + 1);
    expect(await metricValue(t, 'whatsapp_parked_callbacks', { state: 'invalid' })).toBeGreaterThanOrEqual(1);
  });

  it('reads on past callbacks holding text PostgreSQL cannot store in what they are read into: a NUL for a type, a lone surrogate in a billing-event', async () => {
    const own = await createTenant(t);
    const message = await queueMessage(t, own.id, { gupshupId: 'f6a7c1d2-0000-4000-8000-00000000aa01' });
    await catchUp(t);
    // An unknown type is kept as ignored with its type as the problem; the billing model is stored with the message's pricing.
    await postCallback(t, own.apiKey, { app: 'DemoAPI', timestamp: Date.now(), version: 2, type: 'x\u0000y', payload: {} }).expect(200);
    const billing = {
      app: 'DemoAPI',
      timestamp: Date.now(),
      version: 2,
      type: 'billing-event',
      payload: {
        deductions: { type: 'regular', model: 'CBP\ud800', source: 'whatsapp', billable: true, category: 'marketing' },
        references: { id: 'wamid.surrogate', gsId: 'f6a7c1d2-0000-4000-8000-00000000aa01', destination: '919876543210' },
      },
    };
    await postCallback(t, own.apiKey, billing).expect(200);
    await postCallback(t, own.apiKey, {
      app: 'DemoAPI',
      timestamp: Date.now(),
      version: 2,
      type: 'message-event',
      payload: { id: 'wamid.surrogate', gsId: 'f6a7c1d2-0000-4000-8000-00000000aa01', type: 'delivered', destination: '919876543210', payload: { ts: Math.floor(Date.now() / 1000) } },
    }).expect(200);
    // Every subscription catches up: none is held by a batch PostgreSQL refuses.
    await catchUp(t);
    expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);
    expect((await messageView(t, message.messageId)).pricing).toMatchObject({ category: 'marketing', billable: true, model: 'CBP\ufffd' });
    const listed = await request(t.url).get('/admin/parked-callbacks').query({ appId: own.id, state: 'ignored' }).set(adminAuth).expect(200);
    expect(listed.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ state: 'ignored', problem: expect.stringContaining('xy') })]));
  });

  it('applies the readable statuses of a v3 batch and keeps the unreadable part as invalid', async () => {
    const own = await createTenant(t);
    const message = await queueMessage(t, own.id, { gupshupId: 'gs-batch-1' });
    await catchUp(t);
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        {
          changes: [
            {
              field: 'messages',
              value: {
                statuses: [
                  { gs_id: 'gs-batch-1', id: 'wamid.batch1', recipient_id: '919876543210', status: 'delivered', timestamp: '1710930470' },
                  { recipient_id: '919876543210', status: 'read', timestamp: '1710930480' },
                ],
              },
            },
          ],
        },
      ],
    };
    await postCallback(t, own.apiKey, body).expect(200);
    expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);
    expect(await parkedRows(t, own.id)).toEqual([expect.objectContaining({ state: 'invalid' })]);
  });

  it('counts unknown app keys, ignored kinds and billing-events waiting for their message in /metrics', async () => {
    const unknownBefore = await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'unknown_app' });
    const ignoredBefore = await metricValue(t, 'whatsapp_callbacks_received_total', { kind: 'user-event', outcome: 'ignored' });
    const billingBefore = await metricValue(t, 'whatsapp_callbacks_received_total', { kind: 'billing-event', outcome: 'parked' });
    await postCallback(t, 'unknown-key-for-metrics', callbackFixtureBody('v2-sent')).expect(404);
    await postCallback(t, tenant.apiKey, callbackFixtureBody('v2-sandbox-start')).expect(200);
    // Billing-events name messages this service never sent: kept until their message is known.
    await postCallback(t, tenant.apiKey, callbackFixtureBody('v2-billing-event')).expect(200);
    await postCallback(t, tenant.apiKey, callbackFixtureBody('v3-billing-event')).expect(200);
    expect(await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'unknown_app' })).toBe(unknownBefore + 1);
    expect(await metricValue(t, 'whatsapp_callbacks_received_total', { kind: 'user-event', outcome: 'ignored' })).toBe(ignoredBefore + 1);
    expect(await metricValue(t, 'whatsapp_callbacks_received_total', { kind: 'billing-event', outcome: 'parked' })).toBe(billingBefore + 2);
  });

  describe('GET /admin/parked-callbacks', () => {
    it('needs the admin token', async () => {
      const res = await request(t.url).get('/admin/parked-callbacks').expect(401);
      expectErrorBody(res.body, 401);
      await request(t.url).get('/admin/parked-callbacks').set('Authorization', 'Bearer wrong-token-0123456789').expect(401);
    });

    it('filters by app and state, newest first, with a cursor', async () => {
      const own = await createTenant(t);
      for (let i = 0; i < 3; i++) {
        await postCallback(t, own.apiKey, { ...(callbackFixtureBody('v2-read') as object), payload: { id: `wa-${i}`, gsId: `never-sent-${i}`, type: 'read', destination: '918598002134', payload: { ts: 1700000000 + i } } }).expect(200);
      }
      await postCallback(t, own.apiKey, { not: 'a callback' }).expect(200);
      const first = await request(t.url).get('/admin/parked-callbacks').query({ appId: own.id, state: 'waiting', limit: 2 }).set(adminAuth).expect(200);
      expect(first.body.data.map((row: { gupshupMessageId: string }) => row.gupshupMessageId)).toEqual(['never-sent-2', 'never-sent-1']);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await request(t.url)
        .get('/admin/parked-callbacks')
        .query({ appId: own.id, state: 'waiting', limit: 2, cursor: first.body.nextCursor })
        .set(adminAuth)
        .expect(200);
      expect(second.body.data.map((row: { gupshupMessageId: string }) => row.gupshupMessageId)).toEqual(['never-sent-0']);
      expect(second.body.nextCursor).toBeNull();
      expect(second.body.data[0]).toMatchObject({ state: 'waiting', providerStatus: 'read', format: 'v2', whatsappMessageId: 'wa-0', destination: '918598002134' });
    });

    it.each([
      [{ state: 'lost' }, /state must be one of waiting, invalid, ignored/],
      [{ limit: '0' }, /limit must be a whole number from 1 to 500/],
      [{ cursor: 'abc' }, /cursor must be the nextCursor/],
      [{ colour: 'red' }, /colour is not a known parameter: allowed parameters are appId, state, limit, cursor/],
    ])('answers 400 for the query %j', async (query, message) => {
      const res = await request(t.url).get('/admin/parked-callbacks').query(query).set(adminAuth).expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(message);
    });
  });

  it('answers 503 while the database is unreachable, then 200 again once it is back', async () => {
    const own = await createTenant(t);
    await postCallback(t, own.apiKey, callbackFixtureBody('v2-sandbox-start')).expect(200); // the app key is now cached
    const name = new URL(t.database.url).pathname.slice(1);
    const admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      const res = await postRawCallback(t, own.apiKey, callbackFixtureBody('v2-enqueued')).expect(503);
      expectErrorBody(res.body, 503);
      expect(res.body.message).toMatch(/send it again later/);
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await postCallback(t, own.apiKey, callbackFixtureBody('v2-enqueued')).expect(200);
    expect(await parkedRows(t, own.id)).toEqual([expect.objectContaining({ state: 'waiting', gupshup_message_id: V2_ENQUEUED_GUPSHUP_ID })]);
  });
});
