import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ParkedCallbackExpiry } from '../../src/whatsapp/tracking/parking/parked-callback-expiry';
import { expireParkedCallbacks } from '../../src/whatsapp/tracking/parking/parked-callbacks';
import { Retranslation } from '../../src/whatsapp/tracking/translating/retranslate.command';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import { callbackFixtureBody } from '../fixtures/gupshup';
import type { TestApp } from '../support/test-app';
import {
  adminAuth,
  catchUp,
  catchUpTracking,
  createTenant,
  deliveryEvents,
  postCallback,
  queueMessage,
  recordSent,
  startTrackingApp,
  type TrackingTenant,
} from './tracking-kit';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Past RAW_CALLBACK_RETENTION_DAYS (30) for anything received during the test. */
const AFTER_RETENTION = () => new Date(Date.now() + 31 * DAY_MS);

/** A v3 callback holding one delivered status per Gupshup id: one raw callback, several reports. */
function multiStatusCallback(gupshupIds: readonly string[], recipient = '919985010102') {
  const timestamp = String(Math.floor(Date.now() / 1000) - 10);
  const statuses = gupshupIds.map((gsId) => ({ gs_id: gsId, id: `wamid.${gsId}`, recipient_id: recipient, status: 'delivered', timestamp }));
  return { object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'messages', value: { statuses } }] }] };
}

function v2Delivered(gupshupId: string) {
  const context = { gupshupMessageId: gupshupId, whatsappMessageId: `wamid.${gupshupId}`, destination: '919985010102', appName: 'DemoAPI', appSource: '917834811114', appId: 'gs', kind: 'session' as const };
  return buildCallbackBody('v2', context, { status: 'delivered', occurredAtMs: Date.now() - 5000, omitGsId: false, v3FailedStyle: 'errors' });
}

/** Gupshup's v2 billing-event for a message (GUPSHUP.md): a callback kind not tracked as a status, priced on its message. */
function v2Billing(gupshupId: string) {
  const body = callbackFixtureBody('v2-billing-event') as { timestamp: number; payload: { references: Record<string, string> } };
  return { ...body, timestamp: Date.now() - 5000, payload: { ...body.payload, references: { ...body.payload.references, gsId: gupshupId, id: gupshupId } } };
}

async function rawCallbackIds(t: TestApp, appId: string): Promise<string[]> {
  const rows = await t.db.query<{ event_id: string }>(
    `SELECT event_id FROM es_events WHERE event_type = 'GupshupCallbackReceived' AND data->>'appId' = $1 ORDER BY global_position`,
    [appId],
  );
  return rows.map((row) => row.event_id);
}

async function parkedOf(t: TestApp, callbackEventId: string) {
  return t.db.query<{ state: string; part_index: number; problem: string | null; gupshup_message_id: string | null }>(
    'SELECT state, part_index, problem, gupshup_message_id FROM parked_callbacks WHERE callback_event_id = $1 ORDER BY part_index',
    [callbackEventId],
  );
}

async function listed(t: TestApp, appId: string, state?: string) {
  const res = await request(t.url)
    .get('/admin/parked-callbacks')
    .query({ appId, ...(state && { state }) })
    .set(adminAuth)
    .expect(200);
  return res.body.data as { state: string; problem: string | null; gupshupMessageId: string | null }[];
}

describe('parked callbacks: expiry of callbacks with several parts, and retranslation of what was parked', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTrackingApp()));
  afterAll(() => t.close());

  describe('a callback holding several reports expires whole, and its raw event only when no part of it was applied', () => {
    it('removes the raw callback when every part was parked, even when its parts fall in different expiry batches', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      await postCallback(t, tenant.apiKey, multiStatusCallback([randomUUID(), randomUUID(), randomUUID()])).expect(200);
      const [raw] = await rawCallbackIds(t, tenant.id);
      expect((await parkedOf(t, raw)).map((row) => row.state)).toEqual(['waiting', 'waiting', 'waiting']);

      // Two rows a batch: the callback's three rows cannot fit in one batch.
      const expired = await t.app.get(ParkedCallbackExpiry).expire(AFTER_RETENTION(), 2);
      expect(expired.rows).toBeGreaterThanOrEqual(3);
      expect(await parkedOf(t, raw)).toEqual([]);
      expect(await rawCallbackIds(t, tenant.id)).toEqual([]);
    });

    it('takes every row of a callback in the batch that reaches any of them, and removes its raw event with them', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      await postCallback(t, tenant.apiKey, multiStatusCallback([randomUUID(), randomUUID(), randomUUID()])).expect(200);
      const [raw] = await rawCallbackIds(t, tenant.id);
      // Nothing else is due before this callback's rows: the expiry tests above and below left none.
      const batch = await t.db.transaction((tx) => expireParkedCallbacks(tx, AFTER_RETENTION(), 1));
      expect(batch.rows).toBe(3);
      expect(batch.rawCallbackEventIds).toEqual([raw]);
      expect(await parkedOf(t, raw)).toEqual([]);
    });

    it('keeps the raw callback when one of its parts was applied at once, whatever the batches', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      const known = randomUUID();
      const message = await queueMessage(t, tenant.id, { gupshupId: known });
      await catchUp(t);
      await postCallback(t, tenant.apiKey, multiStatusCallback([randomUUID(), known, randomUUID()])).expect(200);
      const [raw] = await rawCallbackIds(t, tenant.id);
      expect((await parkedOf(t, raw)).map((row) => row.part_index)).toEqual([0, 2]);
      expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);

      await t.app.get(ParkedCallbackExpiry).expire(AFTER_RETENTION(), 1);
      expect(await parkedOf(t, raw)).toEqual([]);
      expect(await rawCallbackIds(t, tenant.id)).toEqual([raw]);
    });

    it('keeps the raw callback when one of its parked parts was applied later, whatever the batches', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      const late = randomUUID();
      const message = await queueMessage(t, tenant.id);
      await catchUp(t);
      await postCallback(t, tenant.apiKey, multiStatusCallback([randomUUID(), randomUUID(), late])).expect(200);
      const [raw] = await rawCallbackIds(t, tenant.id);
      expect(await parkedOf(t, raw)).toHaveLength(3);
      // Its send is recorded after: the part naming it leaves the parked rows and takes effect.
      await recordSent(t, message, late);
      await catchUpTracking(t);
      expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);
      expect((await parkedOf(t, raw)).map((row) => row.part_index)).toEqual([0, 1]);

      await t.app.get(ParkedCallbackExpiry).expire(AFTER_RETENTION(), 1);
      expect(await parkedOf(t, raw)).toEqual([]);
      expect(await rawCallbackIds(t, tenant.id)).toEqual([raw]);
    });
  });

  describe('a billing-event callback: its raw event outlives the expiry of what it left parked', () => {
    async function pricedEvents(messageId: string) {
      return t.db.query<{ event_id: string }>(`SELECT event_id FROM es_events WHERE stream_id = $1 AND event_type = 'WhatsAppMessagePriced'`, [
        `whatsapp_message-${messageId}`,
      ]);
    }

    it('keeps the raw callback whose price was applied to its message, so that a retranslation or an archive still holds it', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      const gupshupId = randomUUID();
      const message = await queueMessage(t, tenant.id, { gupshupId });
      await catchUp(t);
      await postCallback(t, tenant.apiKey, v2Billing(gupshupId)).expect(200);
      await catchUpTracking(t);
      const [raw] = await rawCallbackIds(t, tenant.id);
      expect(await pricedEvents(message.messageId)).toHaveLength(1);
      expect((await parkedOf(t, raw)).map((row) => row.state)).toEqual(['ignored']);

      await t.app.get(ParkedCallbackExpiry).expire(AFTER_RETENTION());
      expect(await parkedOf(t, raw)).toEqual([]);
      expect(await rawCallbackIds(t, tenant.id)).toEqual([raw]);
    });

    it('keeps the raw callback of a billing-event whose message never became known; the log retires it with its partition', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      await postCallback(t, tenant.apiKey, v2Billing(randomUUID())).expect(200);
      await catchUpTracking(t);
      const [raw] = await rawCallbackIds(t, tenant.id);
      const waiting = () => t.db.query('SELECT 1 FROM tracking_waiting_billing WHERE callback_event_id = $1', [raw]);
      expect(await waiting()).toHaveLength(1);

      await t.app.get(ParkedCallbackExpiry).expire(AFTER_RETENTION());
      expect(await waiting()).toEqual([]);
      expect(await parkedOf(t, raw)).toEqual([]);
      expect(await rawCallbackIds(t, tenant.id)).toEqual([raw]);
    });
  });

  describe('tracking:retranslate --from re-derives what an earlier reading parked', () => {
    /** The row an earlier, faulty reading of the callback left: unreadable, as a whole. */
    async function parkAsUnreadable(raw: string, appId: string): Promise<void> {
      await t.db.query(
        `INSERT INTO parked_callbacks (app_id, state, problem, received_at, callback_event_id, part_index, unapplied_parts, authenticated)
         VALUES ($1, 'invalid', 'an earlier parser could not read it', now(), $2, -1, 1, true)`,
        [appId, raw],
      );
    }

    it('no longer lists a callback parked invalid that now parses and applies', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      const gupshupId = randomUUID();
      const message = await queueMessage(t, tenant.id, { gupshupId });
      await catchUp(t);
      const from = new Date(Date.now() - 1000);
      // As an earlier parser left it: the callback unread, kept as invalid, nothing derived.
      await postCallback(t, tenant.apiKey, v2Delivered(gupshupId)).expect(200);
      const [raw] = await rawCallbackIds(t, tenant.id);
      await t.db.query(`DELETE FROM es_events WHERE stream_id = $1 AND event_type = 'DeliveryStatusChanged'`, [`whatsapp_message-${message.messageId}`]);
      await t.db.query(`UPDATE es_streams SET version = (SELECT max(stream_position) FROM es_events WHERE stream_id = $1) WHERE stream_id = $1`, [
        `whatsapp_message-${message.messageId}`,
      ]);
      await parkAsUnreadable(raw, tenant.id);
      expect((await listed(t, tenant.id)).map((row) => row.state)).toEqual(['invalid']);

      await t.app.get(Retranslation).run(from);
      await catchUp(t);
      expect((await deliveryEvents(t, message.messageId)).map((event) => event.data.providerStatus)).toEqual(['delivered']);
      expect(await parkedOf(t, raw)).toEqual([]);
      expect(await listed(t, tenant.id)).toEqual([]);
      expect(await listed(t, tenant.id, 'invalid')).toEqual([]);
    });

    it('lists such a callback as waiting instead when it now parses but names no known message', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      const unknown = randomUUID();
      const from = new Date(Date.now() - 1000);
      await postCallback(t, tenant.apiKey, v2Delivered(unknown)).expect(200);
      const [raw] = await rawCallbackIds(t, tenant.id);
      await t.db.query('DELETE FROM parked_callbacks WHERE callback_event_id = $1', [raw]);
      await parkAsUnreadable(raw, tenant.id);

      await t.app.get(Retranslation).run(from);
      expect((await parkedOf(t, raw)).map((row) => [row.state, row.part_index, row.gupshup_message_id])).toEqual([['waiting', 0, unknown]]);
      expect((await listed(t, tenant.id)).map((row) => [row.state, row.gupshupMessageId])).toEqual([['waiting', unknown]]);
    });

    it('keeps what is still parked as it was, and what is still unreadable listed once', async () => {
      const tenant: TrackingTenant = await createTenant(t);
      const from = new Date(Date.now() - 1000);
      await postCallback(t, tenant.apiKey, v2Delivered(randomUUID())).expect(200);
      await postCallback(t, tenant.apiKey, { not: 'a callback' }).expect(200);
      const before = await t.db.query('SELECT id, state, part_index, parked_at FROM parked_callbacks WHERE app_id = $1 ORDER BY id', [tenant.id]);
      expect(before).toHaveLength(2);

      await t.app.get(Retranslation).run(from);
      expect(await t.db.query('SELECT id, state, part_index, parked_at FROM parked_callbacks WHERE app_id = $1 ORDER BY id', [tenant.id])).toEqual(before);
    });
  });
});
