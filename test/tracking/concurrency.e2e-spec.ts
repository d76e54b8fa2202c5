import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type { CallbackFormat, ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import type { TestApp } from '../support/test-app';
import { createTenant, deliveryEvents, eventually, metricValue, parkedRows, queueMessage, recordSent, startTrackingApp, translatorBehind, webhookPath, type TestMessage } from './tracking-kit';

const MESSAGES = 100;
const CONNECTIONS = 32;
const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
/** Four distinct events per message, the last one posted twice (a Gupshup retry): 500 callbacks. */
const PLAN: { status: ProviderStatus; format: CallbackFormat; offsetMs: number }[] = [
  { status: 'enqueued', format: 'v2', offsetMs: 0 },
  { status: 'sent', format: 'v3', offsetMs: 1000 },
  { status: 'delivered', format: 'v2', offsetMs: 2000 },
  { status: 'read', format: 'v3', offsetMs: 3000 },
  { status: 'read', format: 'v2', offsetMs: 3000 },
];

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

describe('many concurrent callbacks, with send results recorded at the same time', () => {
  let t: TestApp;
  let http: Pool;

  beforeAll(async () => {
    // The subscriptions run on their own here, as in production.
    t = await startTrackingApp({ env: { SUBSCRIPTIONS_ENABLED: 'true', SUBSCRIPTION_POLL_MS: '20' } });
    http = new Pool(t.url, { connections: CONNECTIONS });
  });
  afterAll(async () => {
    await http.close();
    await t.close();
  });

  it('stores every acknowledged callback exactly once, loses none, and applies the parked ones', async () => {
    const tenant = await createTenant(t);
    const messages: { message: TestMessage; gupshupId: string; whatsappId: string }[] = [];
    for (let i = 0; i < MESSAGES; i++) {
      const gupshupId = randomUUID();
      // Half are sent before the storm; the other half get their WhatsAppMessageSent during it.
      const message = await queueMessage(t, tenant.id, { gupshupId: i % 2 === 0 ? gupshupId : undefined, phoneNumber: `+9190000${String(i).padStart(5, '0')}` });
      messages.push({ message, gupshupId, whatsappId: `wamid.concurrency-${i}-${randomUUID()}` });
    }
    const callbacks = shuffle(
      messages.flatMap(({ message, gupshupId, whatsappId }) =>
        PLAN.map((step) =>
          JSON.stringify(
            buildCallbackBody(
              step.format,
              { gupshupMessageId: gupshupId, whatsappMessageId: whatsappId, destination: message.phoneNumber.slice(1), appName: 'DemoAPI', appSource: '917834811114', appId: 'gs-app', kind: 'session' },
              { status: step.status, occurredAtMs: T0 + step.offsetMs, omitGsId: false, v3FailedStyle: 'errors' },
            ),
          ),
        ),
      ),
    );
    const batchesBefore = await metricValue(t, 'whatsapp_callback_batch_size_count');

    const post = async (body: string) => {
      const res = await http.request({ method: 'POST', path: webhookPath(tenant.apiKey), headers: { 'content-type': 'application/json' }, body });
      await res.body.text();
      return res.statusCode;
    };
    const lateSends = messages.filter((_, i) => i % 2 === 1).map(async ({ message, gupshupId }, index) => {
      await new Promise((resolve) => setTimeout(resolve, index * 3));
      await recordSent(t, message, gupshupId);
    });
    const [statuses] = await Promise.all([Promise.all(callbacks.map(post)), Promise.all(lateSends)]);

    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    // Group commit: far fewer transactions than callbacks.
    expect((await metricValue(t, 'whatsapp_callback_batch_size_count')) - batchesBefore).toBeLessThan(callbacks.length / 2);

    // Once the translator has read every callback and every send, nothing is left parked...
    await eventually(async () => ((await translatorBehind(t)) === 0 && (await parkedRows(t, tenant.id)).length === 0 ? true : undefined), 'every parked callback to be applied');
    // ...and every message holds each of its four events exactly once.
    for (const { message } of messages) {
      const events = await deliveryEvents(t, message.messageId);
      expect(events.map((event) => event.data.providerStatus).sort()).toEqual(['delivered', 'enqueued', 'read', 'sent']);
    }
    const [{ total, distinct }] = await t.db.query<{ total: number; distinct: number }>(
      `SELECT count(*)::int AS total, count(DISTINCT event_id)::int AS distinct FROM es_events
        WHERE event_type = 'DeliveryStatusChanged' AND data->>'appId' = $1`,
      [tenant.id],
    );
    expect({ total, distinct }).toEqual({ total: MESSAGES * 4, distinct: MESSAGES * 4 });
  });
});
