import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { SqlExecutor } from '../../src/database/database';
import { EventStore, SubscriptionManager, type StoreEvent } from '../../src/event-store';
import {
  deliveryStatusChanged,
  messageStreamId,
  NotificationRequested,
  notificationStreamId,
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  type ProviderStatus,
} from '../../src/whatsapp/domain';
import { MESSAGE_VIEW_TABLES, MessageViewsProjection } from '../../src/whatsapp/projections';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { PatientDeadline } from '../../src/common/patient-deadline';
import { TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';

// Builders of WhatsApp events for one message at a time, with ids and times of the caller's choosing.

export interface MessageIds {
  appId: string;
  requestId: string;
  messageId: string;
  recipient: string;
  phoneNumber: string | null;
  providerMessageId: string;
  /** Left out of WhatsAppMessageQueued when undefined, as in events recorded before there were any. */
  category?: string | null;
  template?: string | null;
}

export function newMessageIds(appId: string, requestId: string, recipient = `user-${randomUUID().slice(0, 8)}`): MessageIds {
  return { appId, requestId, messageId: randomUUID(), recipient, phoneNumber: '+919988776655', providerMessageId: randomUUID() };
}

export function at(base: string, plusMs: number): string {
  return new Date(Date.parse(base) + plusMs).toISOString();
}

export const build = {
  requested(appId: string, requestId: string, messages: MessageIds[], requestedAt: string): NotificationRequested {
    return new NotificationRequested({
      appId,
      requestId,
      title: 'Your order shipped',
      message: 'Track it online',
      data: {},
      sendAt: null,
      messageIds: messages.map((m) => m.messageId),
      recipients: messages.map((m) => m.recipient),
      override: null,
      requestedAt,
    });
  },
  queued(ids: MessageIds, queuedAt: string): WhatsAppMessageQueued {
    return new WhatsAppMessageQueued({
      appId: ids.appId,
      messageId: ids.messageId,
      requestId: ids.requestId,
      recipient: ids.recipient,
      phoneNumber: ids.phoneNumber,
      sendAt: queuedAt,
      queuedAt,
      ...(ids.category !== undefined ? { category: ids.category } : {}),
      ...(ids.template !== undefined ? { template: ids.template } : {}),
    });
  },
  sent(ids: MessageIds, sentAt: string, attempt = 1): WhatsAppMessageSent {
    return new WhatsAppMessageSent({ appId: ids.appId, messageId: ids.messageId, providerMessageId: ids.providerMessageId, attempt, sentAt });
  },
  dispatchFailed(ids: MessageIds, failedAt: string, attempt = 1, nextAttemptAt: string | null = null): WhatsAppDispatchFailed {
    return new WhatsAppDispatchFailed({
      appId: ids.appId,
      messageId: ids.messageId,
      attempt,
      errorKind: 'http',
      httpStatus: 503,
      error: 'Gupshup answered 503 Service Unavailable',
      nextAttemptAt,
      failedAt,
    });
  },
  outcomeUnknown(ids: MessageIds, startedAt: string, attempt = 1): WhatsAppDispatchOutcomeUnknown {
    return new WhatsAppDispatchOutcomeUnknown({ appId: ids.appId, messageId: ids.messageId, attempt, startedAt, detectedAt: at(startedAt, 60_000) });
  },
  discarded(ids: MessageIds, discardedAt: string, code = 'no_phone_number', reason = 'The user has no phone number'): WhatsAppMessageDiscarded {
    return new WhatsAppMessageDiscarded({ appId: ids.appId, messageId: ids.messageId, code, reason, source: 'recipient', discardedAt });
  },
  callback(ids: MessageIds, providerStatus: ProviderStatus, occurredAt: string, failure?: { code: string; reason: string }) {
    return deliveryStatusChanged({
      appId: ids.appId,
      messageId: ids.messageId,
      providerStatus,
      providerMessageId: ids.providerMessageId,
      whatsappMessageId: `wamid.${ids.messageId.slice(0, 8)}`,
      occurredAt,
      receivedAt: at(occurredAt, 1000),
      format: 'v2',
      ...failure,
    });
  },
};

/** Appends a message's events to its stream (one append per call, like the service does). */
export async function appendToMessage(store: EventStore, ids: MessageIds, events: StoreEvent<object>[], tx?: SqlExecutor): Promise<void> {
  await store.append(messageStreamId(ids.messageId), events as StoreEvent[], { tx });
}

export async function appendRequest(store: EventStore, event: NotificationRequested, tx?: SqlExecutor): Promise<void> {
  await store.append(notificationStreamId(event.data.requestId), [event as StoreEvent], { tx });
}

/** Waits, polling, until the message views subscription has processed every committed event. */
export async function waitForProjections(t: TestApp, timeoutMs = GIVE_UP_AFTER_MS): Promise<void> {
  const manager = t.app.get(SubscriptionManager);
  const name = t.app.get(MessageViewsProjection).subscriptionName;
  const deadline = new PatientDeadline(timeoutMs);
  for (;;) {
    const lag = (await manager.lag())[name];
    if (lag && lag.eventsBehind === 0) return;
    if (deadline.passed()) throw new Error(`gave up: projection ${name} still ${lag?.eventsBehind} events behind after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Every row of every table the projection builds, in a stable order; without the time each row
 * was last written unless `withUpdatedAt` (to show that nothing was written at all).
 */
export async function snapshotViews(db: SqlExecutor, options: { withUpdatedAt?: boolean } = {}): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const table of MESSAGE_VIEW_TABLES) {
    const row = options.withUpdatedAt ? 'to_jsonb(t)' : "to_jsonb(t) - 'updated_at'";
    const rows = await db.query(`SELECT ${row} AS row FROM ${table} t`);
    snapshot[table] = rows.map((r) => JSON.stringify(r.row)).sort();
  }
  return snapshot;
}

export interface TestAppCredentials {
  id: string;
  apiKey: string;
  apiSecret: string;
  headers: Record<string, string>;
}

/** Creates an app through the admin API, with the headers its requests need. */
export async function createApp(t: TestApp, name = `app-${randomUUID().slice(0, 8)}`): Promise<TestAppCredentials> {
  const response = await request(t.url).post('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name }).expect(201);
  const { id, apiKey, apiSecret } = response.body as { id: string; apiKey: string; apiSecret: string };
  return { id, apiKey, apiSecret, headers: { 'X-ENGAGESPOT-API-KEY': apiKey, 'X-ENGAGESPOT-API-SECRET': apiSecret } };
}
