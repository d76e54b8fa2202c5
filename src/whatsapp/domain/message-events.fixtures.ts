import { deliveryStatusChanged } from './delivery-event-id';
import {
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  type DeliveryStatusChanged,
  type DeliveryStatusChangedData,
  type WhatsAppDispatchFailedData,
  type WhatsAppMessageDiscardedData,
  type WhatsAppMessageQueuedData,
  type WhatsAppMessageSentData,
} from './events';
import type { ProviderStatus } from './status';

// Builders of one message's events for the specs of this folder and of the code that uses it.

export const APP_ID = 'app-1';
export const MESSAGE_ID = '0b8c3d6e-8f43-4f57-9d55-2b9a1b0e6a10';
export const REQUEST_ID = 'c7e6f0a2-4d1b-4a43-8a5e-5f0d3e2b1c99';
export const GUPSHUP_ID = 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35';
export const WHATSAPP_ID = 'gBEGkYaYVSEEAgnZxQ3JmKK6Wvg';

export const QUEUED_AT = '2026-03-01T10:00:00.000Z';
export const SENT_AT = '2026-03-01T10:00:01.250Z';

export function queued(overrides: Partial<WhatsAppMessageQueuedData> = {}): WhatsAppMessageQueued {
  return new WhatsAppMessageQueued({
    appId: APP_ID,
    messageId: MESSAGE_ID,
    requestId: REQUEST_ID,
    recipient: 'user-1',
    phoneNumber: '+919988776655',
    sendAt: QUEUED_AT,
    queuedAt: QUEUED_AT,
    ...overrides,
  });
}

export function sent(overrides: Partial<WhatsAppMessageSentData> = {}): WhatsAppMessageSent {
  return new WhatsAppMessageSent({
    appId: APP_ID,
    messageId: MESSAGE_ID,
    providerMessageId: GUPSHUP_ID,
    attempt: 1,
    sentAt: SENT_AT,
    ...overrides,
  });
}

export function dispatchFailed(overrides: Partial<WhatsAppDispatchFailedData> = {}): WhatsAppDispatchFailed {
  return new WhatsAppDispatchFailed({
    appId: APP_ID,
    messageId: MESSAGE_ID,
    attempt: 1,
    errorKind: 'http',
    httpStatus: 503,
    error: 'Gupshup answered 503 Service Unavailable',
    nextAttemptAt: '2026-03-01T10:00:05.000Z',
    failedAt: '2026-03-01T10:00:00.500Z',
    ...overrides,
  });
}

export function outcomeUnknown(attempt = 1): WhatsAppDispatchOutcomeUnknown {
  return new WhatsAppDispatchOutcomeUnknown({
    appId: APP_ID,
    messageId: MESSAGE_ID,
    attempt,
    startedAt: '2026-03-01T10:00:00.400Z',
    detectedAt: '2026-03-01T10:01:00.000Z',
  });
}

export function discarded(overrides: Partial<WhatsAppMessageDiscardedData> = {}): WhatsAppMessageDiscarded {
  return new WhatsAppMessageDiscarded({
    appId: APP_ID,
    messageId: MESSAGE_ID,
    code: 'no_phone_number',
    reason: 'The user has no phone number',
    source: 'recipient',
    discardedAt: QUEUED_AT,
    ...overrides,
  });
}

/** A callback as the tracking code records it, received one second after it happened. */
export function callback(
  providerStatus: ProviderStatus,
  occurredAt: string,
  overrides: Partial<Omit<DeliveryStatusChangedData, 'status' | 'providerStatus'>> = {},
): DeliveryStatusChanged {
  return deliveryStatusChanged({
    appId: APP_ID,
    messageId: MESSAGE_ID,
    providerStatus,
    providerMessageId: GUPSHUP_ID,
    whatsappMessageId: WHATSAPP_ID,
    occurredAt,
    receivedAt: new Date(Date.parse(occurredAt) + 1000).toISOString(),
    format: 'v2',
    ...overrides,
  });
}
