import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { EventStore, SubscriptionManager, type StoreEvent } from '../../src/event-store';
import {
  DeliveryStatusChanged,
  foldMessageView,
  messageStreamId,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  type MessageView,
} from '../../src/whatsapp/domain';
import { TRANSLATOR_SUBSCRIPTION } from '../../src/whatsapp/tracking/translating/callback-translator.subscription';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp, type TestAppOptions } from '../support/test-app';
import { eventually, GIVE_UP_AFTER_MS } from '../support/eventually';
import { PatientDeadline } from '../../src/common/patient-deadline';

export const adminAuth = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/**
 * The service with its subscriptions driven by the test (catchUp), so that "before the tracking
 * subscription has seen the send" is a state a test can hold on to.
 */
export function startTrackingApp(options: TestAppOptions = {}): Promise<TestApp> {
  return startTestApp({
    ...options,
    env: { SUBSCRIPTIONS_ENABLED: 'false', DISPATCH_WORKERS: '0', LOG_LEVEL: 'error', WEBHOOK_BATCH_MAX_WAIT_MS: '2', ...options.env },
  });
}

export interface TrackingTenant {
  id: string;
  apiKey: string;
  apiSecret: string;
  /** The `token` of the tenant's callback URL. */
  callbackToken: string;
  headers: Record<string, string>;
}

let tenants = 0;

export async function createTenant(t: TestApp): Promise<TrackingTenant> {
  tenants += 1;
  const res = await request(t.url).post('/admin/apps').set(adminAuth).send({ name: `Tracking ${tenants}` }).expect(201);
  const { id, apiKey, apiSecret, callbackUrl } = res.body as { id: string; apiKey: string; apiSecret: string; callbackUrl: string };
  const callbackToken = new URL(callbackUrl).searchParams.get('token')!;
  callbackTokens.set(apiKey, callbackToken);
  return { id, apiKey, apiSecret, callbackToken, headers: { 'X-ENGAGESPOT-API-KEY': apiKey, 'X-ENGAGESPOT-API-SECRET': apiSecret } };
}

/** The callback token of each tenant created here, by API key, so that webhookPath builds the URL Gupshup is given. */
const callbackTokens = new Map<string, string>();

/** The webhook's path and query for an app: with its callback token when the app was created by createTenant. */
export function webhookPath(apiKey: string): string {
  const token = callbackTokens.get(apiKey);
  return `/api/v1/apps/${encodeURIComponent(apiKey)}/webhook/gupshup_whatsapp${token ? `?token=${token}` : ''}`;
}

/** Posts a callback as Gupshup does: JSON, application/json; charset=utf-8. Only the webhook answers: nothing is translated. */
export function postRawCallback(t: TestApp, apiKey: string, body: unknown, contentType = 'application/json; charset=utf-8') {
  return request(t.url)
    .post(webhookPath(apiKey))
    .set('Content-Type', contentType)
    .set('User-Agent', 'Gupshup-Callback/1.0')
    .send(typeof body === 'string' ? body : JSON.stringify(body));
}

/**
 * postRawCallback, then, once the webhook has answered as expected, the translator run up to the
 * end of the log: what the callback says has then taken effect (or was parked).
 */
export function postCallback(t: TestApp, apiKey: string, body: unknown, contentType?: string) {
  return {
    async expect(status: number) {
      const res = await postRawCallback(t, apiKey, body, contentType).expect(status);
      await catchUpTracking(t);
      return res;
    },
  };
}

export interface TestMessage {
  appId: string;
  messageId: string;
  phoneNumber: string;
}

/** A message as the sending side records it: WhatsAppMessageQueued, and WhatsAppMessageSent when `gupshupId` is given. */
export async function queueMessage(
  t: TestApp,
  appId: string,
  options: { gupshupId?: string; phoneNumber?: string; messageId?: string; queuedAt?: Date } = {},
): Promise<TestMessage> {
  const messageId = options.messageId ?? randomUUID();
  const phoneNumber = options.phoneNumber ?? '+919985010102';
  const queuedAt = (options.queuedAt ?? new Date()).toISOString();
  await t.app.get(EventStore).append(messageStreamId(messageId), [
    new WhatsAppMessageQueued({ appId, messageId, requestId: randomUUID(), recipient: 'user-1', phoneNumber, sendAt: queuedAt, queuedAt }),
  ]);
  const message = { appId, messageId, phoneNumber };
  if (options.gupshupId) await recordSent(t, message, options.gupshupId);
  return message;
}

export async function recordSent(t: TestApp, message: TestMessage, gupshupId: string, sentAt = new Date()): Promise<void> {
  await t.app.get(EventStore).append(messageStreamId(message.messageId), [
    new WhatsAppMessageSent({ appId: message.appId, messageId: message.messageId, providerMessageId: gupshupId, attempt: 1, sentAt: sentAt.toISOString() }),
  ]);
}

/**
 * Runs the subscriptions (all of them, or the one named) until each has processed every event
 * committed so far. One pass is not always enough: an event becomes readable only once every
 * older transaction of the PostgreSQL server has ended (see EventStore.readAll), and other test
 * files use the same server.
 */
export async function catchUp(t: TestApp, subscription?: string): Promise<void> {
  const manager = t.app.get(SubscriptionManager);
  const deadline = new PatientDeadline(GIVE_UP_AFTER_MS);
  for (;;) {
    if (subscription) await manager.runner(subscription).catchUp();
    else await manager.catchUpAll();
    const lag = await manager.lag();
    const behind = Object.entries(lag).filter(([name, { eventsBehind }]) => eventsBehind > 0 && (!subscription || name === subscription));
    if (behind.length === 0) return;
    if (deadline.passed()) throw new Error(`gave up: subscriptions still behind after ${GIVE_UP_AFTER_MS} ms: ${behind.map(([name, l]) => `${name} ${l.eventsBehind}`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Events of the log the translator has not read yet (the subscriptions run on their own). */
export async function translatorBehind(t: TestApp): Promise<number> {
  return (await t.app.get(SubscriptionManager).lag())[TRANSLATOR_SUBSCRIPTION].eventsBehind;
}

/** catchUp for the callback translator only. */
export function catchUpTracking(t: TestApp): Promise<void> {
  return catchUp(t, TRANSLATOR_SUBSCRIPTION);
}

export async function streamEvents(t: TestApp, messageId: string): Promise<StoreEvent<object>[]> {
  return t.app.get(EventStore).readStream(messageStreamId(messageId));
}

export async function deliveryEvents(t: TestApp, messageId: string): Promise<DeliveryStatusChanged[]> {
  return (await streamEvents(t, messageId)).filter((event): event is DeliveryStatusChanged => event instanceof DeliveryStatusChanged);
}

/** The message as the projection shows it: the domain's fold of its stream. */
export async function messageView(t: TestApp, messageId: string): Promise<MessageView> {
  return foldMessageView(await streamEvents(t, messageId));
}

export async function parkedRows(t: TestApp, appId: string) {
  return t.db.query<{ state: string; gupshup_message_id: string | null; whatsapp_message_id: string | null; provider_status: string | null }>(
    `SELECT state, gupshup_message_id, whatsapp_message_id, provider_status FROM parked_callbacks WHERE app_id = $1 AND state <> 'ignored' ORDER BY id`,
    [appId],
  );
}

/** The sum of the samples of a metric on /metrics whose labels include `labels`; 0 when there are none. */
export async function metricValue(t: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await request(t.url).get('/metrics').expect(200)).text;
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).split(' ')[0];
    if (wanted.every((pair) => labelText.includes(pair))) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

export { eventually };

/** Every error body has this shape. */
export function expectErrorBody(body: unknown, statusCode: number): void {
  expect(body).toEqual({ statusCode, message: expect.any(String), error: expect.any(String) });
}
