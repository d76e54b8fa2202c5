import request from 'supertest';
import { buildCallbackBody, type CallbackMessageContext } from '../../tools/simulator/callback-payloads';
import type { CallbackFormat, ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import type { TestApp } from '../support/test-app';
import {
  adminAuth,
  catchUp,
  createTenant,
  deliveryEvents,
  messageView,
  metricValue,
  parkedRows,
  postCallback,
  queueMessage,
  recordSent,
  startTrackingApp,
  type TestMessage,
} from './tracking-kit';

let sequence = 0;

/** Ids and numbers of one message as Gupshup would report them. */
function context(overrides: Partial<CallbackMessageContext> = {}): CallbackMessageContext {
  sequence += 1;
  return {
    gupshupMessageId: `gs-${sequence}-${Date.now()}`,
    whatsappMessageId: `wamid.hard-${sequence}-${Date.now()}`,
    destination: '919876543210',
    appName: 'DemoAPI',
    appSource: '917834811114',
    appId: 'gupshup-app-1',
    kind: 'session',
    ...overrides,
  };
}

function callback(
  format: CallbackFormat,
  ctx: CallbackMessageContext,
  status: ProviderStatus,
  occurredAtMs: number,
  options: { omitGsId?: boolean; failure?: { code: number; reason: string; stage: 'sync' | 'async' } } = {},
) {
  return buildCallbackBody(format, ctx, { status, occurredAtMs, omitGsId: options.omitGsId ?? false, failure: options.failure, v3FailedStyle: 'errors' });
}

const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

describe('delivery tracking: the hard cases', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTrackingApp()));
  afterAll(() => t.close());

  async function messageWith(appId: string, ctx: CallbackMessageContext, options: { sent?: boolean } = {}): Promise<TestMessage> {
    const message = await queueMessage(t, appId, { gupshupId: options.sent === false ? undefined : ctx.gupshupMessageId, phoneNumber: `+${ctx.destination}` });
    await catchUp(t);
    return message;
  }

  describe('a callback that arrives before the send result is recorded', () => {
    it('is parked (200, visible to operators), then applied once WhatsAppMessageSent is processed', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx, { sent: false });
      const parkedBefore = await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'parked' });
      const appliedBefore = await metricValue(t, 'whatsapp_parked_callbacks_applied_total');

      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'enqueued', T0)).expect(200);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'delivered', T0 + 5000)).expect(200);
      expect(await deliveryEvents(t, message.messageId)).toEqual([]);
      expect(await parkedRows(t, tenant.id)).toEqual([
        expect.objectContaining({ state: 'waiting', provider_status: 'enqueued', gupshup_message_id: ctx.gupshupMessageId }),
        expect.objectContaining({ state: 'waiting', provider_status: 'delivered', gupshup_message_id: ctx.gupshupMessageId }),
      ]);
      expect(await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'parked' })).toBe(parkedBefore + 2);
      expect(await metricValue(t, 'whatsapp_parked_callbacks', { state: 'waiting' })).toBeGreaterThanOrEqual(2);

      // The send result, then one more callback: the translator reads them in that order, so the
      // parked reports are applied with the send, and the new one at once.
      await recordSent(t, message, ctx.gupshupMessageId);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'read', T0 + 9000)).expect(200);
      expect((await deliveryEvents(t, message.messageId)).map((e) => e.data.providerStatus).sort()).toEqual(['delivered', 'enqueued', 'read']);
      expect(await parkedRows(t, tenant.id)).toEqual([]);
      expect(await messageView(t, message.messageId)).toMatchObject({ status: 'seen', whatsappMessageId: ctx.whatsappMessageId });
      expect(await metricValue(t, 'whatsapp_parked_callbacks_applied_total')).toBe(appliedBefore + 2);

      // The WhatsApp id the parked enqueued carried is now a key of the message.
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'read', T0 + 60_000, { omitGsId: true })).expect(200);
      expect(await deliveryEvents(t, message.messageId)).toHaveLength(4);
    });

    it('a late receipt without gsId that waits for a WhatsApp id is applied when a parked report teaching it is applied', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx, { sent: false });
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'read', T0 + 9000, { omitGsId: true })).expect(200);
      await postCallback(t, tenant.apiKey, callback('v3', ctx, 'enqueued', T0)).expect(200);
      expect(await parkedRows(t, tenant.id)).toHaveLength(2);
      await recordSent(t, message, ctx.gupshupMessageId);
      await catchUp(t);
      expect(await parkedRows(t, tenant.id)).toEqual([]);
      const events = await deliveryEvents(t, message.messageId);
      expect(events.map((e) => e.data.providerStatus).sort()).toEqual(['enqueued', 'read']);
      // The receipt without gsId is stored under the message's Gupshup id, like any copy that had it.
      expect(events.every((e) => e.data.providerMessageId === ctx.gupshupMessageId)).toBe(true);
    });
  });

  describe('late receipts without gsId', () => {
    it('find their message by the WhatsApp id learnt from enqueued', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'enqueued', T0)).expect(200);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'delivered', T0 + 3000, { omitGsId: true })).expect(200);
      await postCallback(t, tenant.apiKey, callback('v3', ctx, 'read', T0 + 6000, { omitGsId: true })).expect(200);
      expect(await parkedRows(t, tenant.id)).toEqual([]);
      expect(await messageView(t, message.messageId)).toMatchObject({
        status: 'seen',
        deliveredAt: new Date(T0 + 3000).toISOString(),
        seenAt: new Date(T0 + 6000).toISOString(),
      });
    });

    it('that come before the WhatsApp id is known wait for it, and are applied as soon as a callback with both ids arrives', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'read', T0 + 6000, { omitGsId: true })).expect(200);
      expect(await parkedRows(t, tenant.id)).toEqual([expect.objectContaining({ state: 'waiting', gupshup_message_id: null, whatsapp_message_id: ctx.whatsappMessageId })]);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'sent', T0 + 2000)).expect(200);
      expect(await parkedRows(t, tenant.id)).toEqual([]);
      expect(await messageView(t, message.messageId)).toMatchObject({ status: 'seen' });
    });
  });

  describe('duplicates change nothing', () => {
    it('a v2 and a v3 copy of the same event are stored once', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx);
      for (const status of ['enqueued', 'sent', 'delivered', 'read'] as const) {
        await postCallback(t, tenant.apiKey, callback('v2', ctx, status, T0 + 1000 * ['enqueued', 'sent', 'delivered', 'read'].indexOf(status))).expect(200);
        await postCallback(t, tenant.apiKey, callback('v3', ctx, status, T0 + 1000 * ['enqueued', 'sent', 'delivered', 'read'].indexOf(status))).expect(200);
      }
      const failure = { code: 131047, reason: 'Re-engagement message', stage: 'async' as const };
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'failed', T0 + 9000, { failure })).expect(200);
      await postCallback(t, tenant.apiKey, callback('v3', ctx, 'failed', T0 + 9000, { failure })).expect(200);
      expect((await deliveryEvents(t, message.messageId)).map((e) => e.data.providerStatus)).toEqual(['enqueued', 'sent', 'delivered', 'read', 'failed']);
    });

    it('Gupshup retries (the same body many times, some at once) are stored once and counted as duplicates', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx);
      const duplicatesBefore = await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'duplicate' });
      const body = callback('v2', ctx, 'delivered', T0);
      await Promise.all(Array.from({ length: 8 }, () => postCallback(t, tenant.apiKey, body).expect(200)));
      await postCallback(t, tenant.apiKey, body).expect(200);
      expect(await deliveryEvents(t, message.messageId)).toHaveLength(1);
      expect(await metricValue(t, 'whatsapp_callbacks_received_total', { outcome: 'duplicate' })).toBe(duplicatesBefore + 8);
    });

    it('a late copy without gsId of an event already stored with it adds nothing', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx);
      await postCallback(t, tenant.apiKey, callback('v3', ctx, 'enqueued', T0)).expect(200);
      await postCallback(t, tenant.apiKey, callback('v3', ctx, 'read', T0 + 4000)).expect(200);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'read', T0 + 4000, { omitGsId: true })).expect(200);
      expect((await deliveryEvents(t, message.messageId)).map((e) => e.data.providerStatus)).toEqual(['enqueued', 'read']);
    });
  });

  describe('order', () => {
    it('read without delivered is seen; a failure after delivered stays in the timeline only', async () => {
      const tenant = await createTenant(t);
      const seenOnly = context();
      const first = await messageWith(tenant.id, seenOnly);
      await postCallback(t, tenant.apiKey, callback('v2', seenOnly, 'read', T0 + 5000)).expect(200);
      expect(await messageView(t, first.messageId)).toMatchObject({ status: 'seen', seenAt: new Date(T0 + 5000).toISOString(), deliveredAt: null });

      const failedLate = context();
      const second = await messageWith(tenant.id, failedLate);
      await postCallback(t, tenant.apiKey, callback('v2', failedLate, 'failed', T0 + 9000, { failure: { code: 131026, reason: 'Message undeliverable', stage: 'async' } })).expect(200);
      await postCallback(t, tenant.apiKey, callback('v2', failedLate, 'delivered', T0 + 3000)).expect(200);
      const view = await messageView(t, second.messageId);
      expect(view).toMatchObject({ status: 'delivered', discardedAt: null, discardReason: null });
      // The failure's entry shows what the message had reached by then.
      expect(view.timeline).toContainEqual(expect.objectContaining({ status: 'delivered', providerStatus: 'failed', code: '131026' }));
    });

    it('a failure before delivery discards the message with its code and reason', async () => {
      const tenant = await createTenant(t);
      const ctx = context();
      const message = await messageWith(tenant.id, ctx);
      await postCallback(t, tenant.apiKey, callback('v2', ctx, 'failed', T0 + 1000, { failure: { code: 1002, reason: 'Number Does Not Exist On WhatsApp', stage: 'sync' } })).expect(200);
      expect(await messageView(t, message.messageId)).toMatchObject({
        status: 'discarded',
        discardedAt: new Date(T0 + 1000).toISOString(),
        discardReason: { code: '1002', reason: 'Number Does Not Exist On WhatsApp' },
      });
    });
  });

  it('a callback for an id this service never sent is kept, answered 200 and visible to operators', async () => {
    const tenant = await createTenant(t);
    const ctx = context();
    await postCallback(t, tenant.apiKey, callback('v3', ctx, 'delivered', T0)).expect(200);
    await catchUp(t);
    const listed = await request(t.url).get('/admin/parked-callbacks').query({ appId: tenant.id }).set(adminAuth).expect(200);
    expect(listed.body.data).toEqual([
      expect.objectContaining({
        appId: tenant.id,
        state: 'waiting',
        format: 'v3',
        providerStatus: 'delivered',
        gupshupMessageId: ctx.gupshupMessageId,
        whatsappMessageId: ctx.whatsappMessageId,
        body: callback('v3', ctx, 'delivered', T0),
      }),
    ]);
  });

  describe('isolation between apps', () => {
    it("a callback on app A's URL never changes app B's message, even with the same Gupshup and WhatsApp ids", async () => {
      const a = await createTenant(t);
      const b = await createTenant(t);
      const shared = context();
      const ofA = await messageWith(a.id, shared);
      const ofB = await messageWith(b.id, shared);

      await postCallback(t, a.apiKey, callback('v2', shared, 'enqueued', T0)).expect(200);
      await postCallback(t, a.apiKey, callback('v2', shared, 'read', T0 + 5000)).expect(200);
      expect(await messageView(t, ofA.messageId)).toMatchObject({ status: 'seen' });
      expect(await deliveryEvents(t, ofB.messageId)).toEqual([]);

      // B's late receipt without gsId: A knows the WhatsApp id, B does not; it waits under B.
      await postCallback(t, b.apiKey, callback('v2', shared, 'delivered', T0 + 3000, { omitGsId: true })).expect(200);
      expect(await deliveryEvents(t, ofB.messageId)).toEqual([]);
      expect((await deliveryEvents(t, ofA.messageId)).map((e) => e.data.providerStatus)).toEqual(['enqueued', 'read']);
      expect(await parkedRows(t, b.id)).toEqual([expect.objectContaining({ state: 'waiting', whatsapp_message_id: shared.whatsappMessageId })]);
      expect(await parkedRows(t, a.id)).toEqual([]);

      // And B's own callbacks go to B's message only.
      await postCallback(t, b.apiKey, callback('v3', shared, 'enqueued', T0)).expect(200);
      expect((await deliveryEvents(t, ofB.messageId)).map((e) => e.data.providerStatus).sort()).toEqual(['delivered', 'enqueued']);
      expect((await deliveryEvents(t, ofA.messageId)).map((e) => e.data.providerStatus)).toEqual(['enqueued', 'read']);
    });

    it("an id only app A sent, posted on app B's URL, is parked under B and never reaches A", async () => {
      const a = await createTenant(t);
      const b = await createTenant(t);
      const ctx = context();
      const ofA = await messageWith(a.id, ctx);
      await postCallback(t, b.apiKey, callback('v2', ctx, 'failed', T0, { failure: { code: 1002, reason: 'Number Does Not Exist On WhatsApp', stage: 'sync' } })).expect(200);
      await catchUp(t);
      expect(await deliveryEvents(t, ofA.messageId)).toEqual([]);
      expect(await parkedRows(t, b.id)).toEqual([expect.objectContaining({ state: 'waiting', gupshup_message_id: ctx.gupshupMessageId })]);
      const listedForA = await request(t.url).get('/admin/parked-callbacks').query({ appId: a.id }).set(adminAuth).expect(200);
      expect(listedForA.body.data).toEqual([]);
    });
  });
});
