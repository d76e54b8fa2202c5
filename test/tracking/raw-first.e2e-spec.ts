import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SubscriptionManager } from '../../src/event-store';
import type { CallbackFormat, ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import { ParkedCallbackExpiry } from '../../src/whatsapp/tracking/parking/parked-callback-expiry';
import { TRANSLATOR_SUBSCRIPTION } from '../../src/whatsapp/tracking/translating/callback-translator.subscription';
import { Retranslation } from '../../src/whatsapp/tracking/translating/retranslate.command';
import { buildCallbackBody, type CallbackMessageContext } from '../../tools/simulator/callback-payloads';
import { callbackFixtureBody } from '../fixtures/gupshup';
import { snapshotViews } from '../projections/whatsapp-test-data';
import type { TestApp } from '../support/test-app';
import {
  adminAuth,
  catchUp,
  catchUpTracking,
  createTenant,
  deliveryEvents,
  metricValue,
  parkedRows,
  postCallback,
  postRawCallback,
  queueMessage,
  recordSent,
  startTrackingApp,
  type TestMessage,
  type TrackingTenant,
} from './tracking-kit';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const DAY_MS = 24 * 60 * 60 * 1000;

function context(message: TestMessage, gupshupId: string): CallbackMessageContext {
  return {
    gupshupMessageId: gupshupId,
    whatsappMessageId: `wamid.${gupshupId}`,
    destination: message.phoneNumber.slice(1),
    appName: 'DemoAPI',
    appSource: '917834811114',
    appId: 'gupshup-app-1',
    kind: 'session',
  };
}

function callback(ctx: CallbackMessageContext, format: CallbackFormat, status: ProviderStatus, offsetMs: number, omitGsId = false) {
  return buildCallbackBody(format, ctx, {
    status,
    occurredAtMs: T0 + offsetMs,
    omitGsId,
    v3FailedStyle: 'errors',
    ...(status === 'failed' && { failure: { code: 131026, reason: 'Message undeliverable <b>now</b>', stage: 'async' as const } }),
  });
}

async function rawCallbacks(t: TestApp, appId: string) {
  return t.db.query<{ stream_id: string; data: { appId: string; authenticated: boolean; receivedAt: string; body?: unknown; bodyText?: string } }>(
    `SELECT stream_id, data FROM es_events WHERE event_type = 'GupshupCallbackReceived' AND data->>'appId' = $1 ORDER BY global_position`,
    [appId],
  );
}

describe('callbacks recorded raw, translated in one ordered place', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTrackingApp({ env: { INVALID_CALLBACKS_PER_HOUR: '3' } })));
  afterAll(() => t.close());

  it('acknowledges a callback with no translator running: recorded as it came, nothing derived until the translator reads it', async () => {
    const tenant = await createTenant(t);
    const gupshupId = randomUUID();
    const message = await queueMessage(t, tenant.id, { gupshupId });
    await catchUp(t);
    const body = callback(context(message, gupshupId), 'v2', 'delivered', 5000);

    await postRawCallback(t, tenant.apiKey, body).expect(200);
    const [raw] = await rawCallbacks(t, tenant.id);
    expect(raw.stream_id).toMatch(/^gupshup_callback-[0-9a-f-]{36}$/);
    expect(raw.data).toEqual({ appId: tenant.id, authenticated: true, receivedAt: expect.any(String), body });
    expect(await t.db.query(`SELECT 1 FROM es_events WHERE stream_id = $1 AND event_type = 'DeliveryStatusChanged'`, [`whatsapp_message-${message.messageId}`])).toEqual([]);

    await catchUpTracking(t);
    expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);
  });

  it('keeps a body jsonb cannot hold as its text, and still reads it', async () => {
    const tenant = await createTenant(t);
    const gupshupId = randomUUID();
    const message = await queueMessage(t, tenant.id, { gupshupId });
    await catchUp(t);
    const body = callback(context(message, gupshupId), 'v2', 'failed', 5000) as { payload: { payload: Record<string, unknown> } };
    body.payload.payload.reason = 'bad \u0000 byte';
    await postCallback(t, tenant.apiKey, body).expect(200);
    const [raw] = await rawCallbacks(t, tenant.id);
    expect(raw.data.body).toBeUndefined();
    expect(JSON.parse(raw.data.bodyText!)).toEqual(body);
    expect((await deliveryEvents(t, message.messageId)).map((event) => [event.data.providerStatus, event.data.reason])).toEqual([['failed', 'bad  byte']]);
  });

  it('re-deriving from the raw callbacks after a reset gives views identical to the live ones', async () => {
    const tenant = await createTenant(t);
    const messages: { message: TestMessage; ctx: CallbackMessageContext }[] = [];
    for (let i = 0; i < 6; i++) {
      const gupshupId = randomUUID();
      // Four are sent before their callbacks arrive; two only after (their callbacks park first).
      const message = await queueMessage(t, tenant.id, { gupshupId: i < 4 ? gupshupId : undefined, phoneNumber: `+91987650${String(i).padStart(4, '0')}` });
      messages.push({ message, ctx: context(message, gupshupId) });
    }
    await catchUp(t);
    const post = (body: unknown) => postCallback(t, tenant.apiKey, body).expect(200);
    const [a, b, c, d, late1, late2] = messages;
    // v2 and v3 copies of the same events, out of order, and retried.
    await post(callback(a.ctx, 'v2', 'delivered', 6000));
    await post(callback(a.ctx, 'v3', 'enqueued', 1000));
    await post(callback(a.ctx, 'v2', 'enqueued', 1000));
    await post(callback(a.ctx, 'v3', 'sent', 3000));
    await post(callback(a.ctx, 'v2', 'read', 9000));
    await post(callback(a.ctx, 'v2', 'read', 9000));
    // A late read without gsId, found by the WhatsApp id the enqueued taught.
    await post(callback(b.ctx, 'v2', 'enqueued', 1000));
    await post(callback(b.ctx, 'v2', 'read', 30 * 60_000, true));
    // A failure whose reason holds markup, then a delivered with a later time (it wins).
    await post(callback(c.ctx, 'v3', 'failed', 2000));
    await post(callback(c.ctx, 'v2', 'delivered', 4000));
    // A read without gsId that arrives before the enqueued teaching its WhatsApp id.
    await post(callback(d.ctx, 'v3', 'read', 7000, true));
    await post(callback(d.ctx, 'v3', 'enqueued', 1000));
    // Callbacks before their send result: parked, applied when it is recorded.
    await post(callback(late1.ctx, 'v2', 'enqueued', 1000));
    await post(callback(late1.ctx, 'v3', 'delivered', 5000));
    await post(callback(late2.ctx, 'v3', 'sent', 2000));
    // For ids no message has: parked for good. Junk: kept as invalid.
    await post(callback(context(a.message, randomUUID()), 'v2', 'delivered', 5000));
    await post({ hello: 'not a callback' });
    await recordSent(t, late1.message, late1.ctx.gupshupMessageId);
    await recordSent(t, late2.message, late2.ctx.gupshupMessageId);
    await post(callback(late2.ctx, 'v2', 'read', 8000));
    await catchUp(t);

    const derivedEvents = () =>
      t.db.query<{ event_id: string; stream_id: string; data: unknown }>(
        `SELECT event_id, stream_id, data FROM es_events WHERE event_type IN ('DeliveryStatusChanged', 'DeliveryFailureOvertaken') AND data->>'appId' = $1 ORDER BY event_id`,
        [tenant.id],
      );
    const liveEvents = await derivedEvents();
    const liveViews = await snapshotViews(t.db);
    const liveParked = await parkedRows(t, tenant.id);
    const shown = async () =>
      Promise.all(messages.map(async ({ message }) => (await request(t.url).get(`/v3/messages/${message.messageId}`).set(tenant.headers).expect(200)).body));
    const liveShown = await shown();
    expect(liveEvents.length).toBeGreaterThan(10);
    expect(liveShown.map((view: { status: string }) => view.status)).toEqual(['seen', 'seen', 'delivered', 'seen', 'delivered', 'seen']);
    expect(liveParked).toEqual([
      expect.objectContaining({ state: 'waiting', provider_status: 'delivered' }),
      expect.objectContaining({ state: 'invalid' }),
    ]);

    // Everything derived goes: the delivery events and the failures their receipts overtook (at
    // the end of their streams, after the sends), the translator's tables and checkpoint, and the views.
    await t.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM es_events WHERE event_type IN ('DeliveryStatusChanged', 'DeliveryFailureOvertaken') AND data->>'appId' = $1`, [tenant.id]);
      await tx.query(
        `UPDATE es_streams s SET version = (SELECT max(stream_position) FROM es_events e WHERE e.stream_id = s.stream_id)
          WHERE s.stream_id = ANY ($1::text[])`,
        [messages.map(({ message }) => `whatsapp_message-${message.messageId}`)],
      );
    });
    const manager = t.app.get(SubscriptionManager);
    await manager.runner('whatsapp_message_views').reset();
    expect(await snapshotViews(t.db)).not.toEqual(liveViews);

    await t.app.get(Retranslation).run();
    await catchUp(t);
    expect(await derivedEvents()).toEqual(liveEvents);
    expect(await snapshotViews(t.db)).toEqual(liveViews);
    expect(await parkedRows(t, tenant.id)).toEqual(liveParked);
    expect(await shown()).toEqual(liveShown);

    // Rewound to a time instead: the same callbacks once more, and nothing is stored twice.
    const [{ count: eventsBefore }] = await t.db.query<{ count: string }>('SELECT count(*) FROM es_events');
    await t.app.get(Retranslation).run(new Date(Date.now() - 60 * 60 * 1000));
    await catchUp(t);
    expect((await t.db.query<{ count: string }>('SELECT count(*) FROM es_events'))[0].count).toBe(eventsBefore);
    expect(await derivedEvents()).toEqual(liveEvents);
    expect(await parkedRows(t, tenant.id)).toEqual(liveParked);
    expect(await snapshotViews(t.db)).toEqual(liveViews);
  });

  it('answers junk past the hourly budget with 200, counts it, and stores none of it', async () => {
    const tenant = await createTenant(t);
    const droppedBefore = await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'dropped' });
    // A `type` alone does not make a Gupshup callback: v2 has an object `payload` too.
    for (let i = 0; i < 5; i++) await postCallback(t, tenant.apiKey, i % 2 ? { type: 'message-event', junk: 'x'.repeat(1000), i } : { junk: 'x'.repeat(1000), i }).expect(200);
    expect(await rawCallbacks(t, tenant.id)).toHaveLength(3);
    expect((await parkedRows(t, tenant.id)).map((row) => row.state)).toEqual(['invalid', 'invalid', 'invalid']);
    expect(await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'dropped' })).toBe(droppedBefore + 2);
    // Callbacks with a Gupshup shape are never dropped.
    const other = randomUUID();
    await postCallback(t, tenant.apiKey, callback(context({ appId: tenant.id, messageId: 'none', phoneNumber: '+919876500999' }, other), 'v2', 'sent', 1000)).expect(200);
    expect(await rawCallbacks(t, tenant.id)).toHaveLength(4);
  });

  it('lists stored bodies as JSON data that is never sniffed into markup', async () => {
    const tenant = await createTenant(t);
    const body = { html: '<script>alert(1)</script>' };
    await postCallback(t, tenant.apiKey, body).expect(200);
    const res = await request(t.url).get('/admin/parked-callbacks').query({ appId: tenant.id }).set(adminAuth).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body.data[0].body).toEqual(body);
  });

  it('derives the same event for a report naming only a WhatsApp id, live and when translated again, whatever Gupshup ids its message has', async () => {
    const tenant = await createTenant(t);
    // Two sends of one message; the one a WhatsApp id is learnt from is not the first in order.
    const taughtBy = `ffff${randomUUID().slice(4)}`;
    const message = await queueMessage(t, tenant.id, { gupshupId: taughtBy });
    await recordSent(t, message, `0000${randomUUID().slice(4)}`);
    await catchUp(t);
    const from = new Date(Date.now() - 1000);
    const ctx = context(message, taughtBy);
    // The read names only the WhatsApp id, not known yet: it waits, and is applied when the
    // enqueued report teaches that id.
    await postCallback(t, tenant.apiKey, callback(ctx, 'v2', 'read', 9000, true)).expect(200);
    await postCallback(t, tenant.apiKey, callback(ctx, 'v2', 'enqueued', 1000)).expect(200);
    const live = (await deliveryEvents(t, message.messageId)).map((event) => event.eventId).sort();
    expect(live).toHaveLength(2);

    await t.app.get(Retranslation).run(from);
    await catchUp(t);
    expect((await deliveryEvents(t, message.messageId)).map((event) => event.eventId).sort()).toEqual(live);
  });

  it('keeps, when translating from the start, the WhatsApp ids learnt before callbacks were recorded raw', async () => {
    const tenant = await createTenant(t);
    const gupshupId = randomUUID();
    const message = await queueMessage(t, tenant.id, { gupshupId });
    await catchUp(t);
    const ctx = context(message, gupshupId);
    // As a database upgraded from before raw recording has it: the WhatsApp id known, what taught it not in the log.
    await t.db.query(
      `INSERT INTO tracking_correlations (app_id, provider_id_kind, provider_id, message_id, gupshup_id, derived_from_log) VALUES ($1, 'whatsapp', $2, $3, $4, false)`,
      [tenant.id, ctx.whatsappMessageId, message.messageId, gupshupId],
    );
    await t.app.get(Retranslation).run();
    await postCallback(t, tenant.apiKey, callback(ctx, 'v2', 'read', 9000, true)).expect(200);
    expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['read']);
  });

  describe('expiry after RAW_CALLBACK_RETENTION_DAYS', () => {
    it('removes unmatched and unreadable callbacks, raw events included, and keeps the raw callbacks something was applied from', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      const gupshupId = randomUUID();
      const message = await queueMessage(t, tenant.id, { gupshupId });
      await catchUp(t);
      const unknown = context(message, randomUUID());
      await postCallback(t, tenant.apiKey, callback(unknown, 'v2', 'delivered', 5000)).expect(200);
      await postCallback(t, tenant.apiKey, { not: 'a callback' }).expect(200);
      // One status applied, one unreadable: half of it took effect.
      const recipient = message.phoneNumber.slice(1);
      const timestamp = String(Math.floor(T0 / 1000));
      const statuses = [
        { gs_id: gupshupId, id: `wamid.${gupshupId}`, recipient_id: recipient, status: 'delivered', timestamp },
        { recipient_id: recipient, status: 'read', timestamp },
      ];
      const mixed = { object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { statuses } }] }] };
      await postCallback(t, tenant.apiKey, mixed).expect(200);
      // A kind not tracked is kept for the retention period too, then goes.
      await postCallback(t, tenant.apiKey, callbackFixtureBody('v2-user-event-opted-in')).expect(200);
      await catchUp(t);
      expect(await parkedRows(t, tenant.id)).toHaveLength(3);
      const ignored = () => t.db.query(`SELECT problem FROM parked_callbacks WHERE app_id = $1 AND state = 'ignored'`, [tenant.id]);
      expect(await ignored()).toHaveLength(1);
      expect(await rawCallbacks(t, tenant.id)).toHaveLength(4);
      const expiredBefore = await metricValue(t, 'whatsapp_parked_callbacks_expired_total');

      const expiry = t.app.get(ParkedCallbackExpiry);
      expect(await expiry.expire(new Date(Date.now() + 29 * DAY_MS))).toEqual({ rows: 0, rawCallbacks: 0 });
      const expired = await expiry.expire(new Date(Date.now() + 31 * DAY_MS));
      expect(expired.rows).toBeGreaterThanOrEqual(4);
      expect(await parkedRows(t, tenant.id)).toEqual([]);
      expect(await ignored()).toEqual([]);
      const left = await rawCallbacks(t, tenant.id);
      expect(left.map((row) => row.data.body)).toEqual([mixed]);
      expect(await metricValue(t, 'whatsapp_parked_callbacks_expired_total')).toBeGreaterThanOrEqual(expiredBefore + 3);
      expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);
      // Translating again from the start finds what is left, and no more.
      await t.app.get(Retranslation).run();
      expect(await parkedRows(t, tenant.id)).toEqual([expect.objectContaining({ state: 'invalid' })]);
      expect((await t.app.get(SubscriptionManager).lag())[TRANSLATOR_SUBSCRIPTION].eventsBehind).toBe(0);
    });
  });
});
