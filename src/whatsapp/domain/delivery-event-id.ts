import type { EventMetadata } from '../../event-store/event';
import { DeliveryStatusChanged, type DeliveryStatusChangedData } from './events';
import { uuidV5 } from './name-based-uuid';
import { statusFromProviderStatus, type MessageStatus, type ProviderStatus } from './status';

/** Namespace of the UUIDs of DeliveryStatusChanged events. Changing it would break deduplication. */
export const DELIVERY_EVENT_NAMESPACE = 'b4e9a982-5b51-4edb-b161-b802b947097c';

/**
 * `sent`, `delivered` and `read` carry Meta's own time in seconds in both formats (v2
 * `payload.payload.ts`, v3 `timestamp`), so the time, in seconds, tells apart two genuine events
 * of the same status. `enqueued` and `failed` have no such shared time: v3 gives its own, v2
 * only the envelope's generation time in milliseconds, which may differ. Gupshup reports each of
 * them once per message, so their id leaves the time out and the two formats still collapse.
 */
const STATUSES_WITH_SHARED_TIME: ReadonlySet<ProviderStatus> = new Set(['sent', 'delivered', 'read']);

/**
 * The event id of a DeliveryStatusChanged: the same callback delivered twice (a Gupshup retry, or
 * both a v2 and a v3 subscription) gives the same id, so the store keeps it once; two different
 * statuses, or one status at two different seconds, give different ids.
 *
 * Pass the Gupshup id when it is known (from the callback, or the message it was correlated to),
 * else the WhatsApp id: the point is that every copy of one callback passes the same one.
 */
export function deliveryEventId(
  appId: string,
  providerMessageIdOrWhatsappId: string,
  providerStatus: ProviderStatus,
  occurredAtMs: number,
): string {
  if (!appId) throw new Error('deliveryEventId needs an appId');
  if (!providerMessageIdOrWhatsappId) throw new Error('deliveryEventId needs a Gupshup or WhatsApp message id');
  if (!Number.isFinite(occurredAtMs)) throw new Error(`deliveryEventId needs a time in ms, got ${occurredAtMs}`);
  // The app is part of the name so that one tenant cannot pre-empt another's event with a forged id.
  const seconds = STATUSES_WITH_SHARED_TIME.has(providerStatus) ? Math.floor(occurredAtMs / 1000) : null;
  return uuidV5(JSON.stringify([appId, providerMessageIdOrWhatsappId, providerStatus, seconds]), DELIVERY_EVENT_NAMESPACE);
}

/** deliveryEventId for the data of a DeliveryStatusChanged: by the Gupshup id, else the WhatsApp id, else ours. */
export function deliveryEventIdOf(data: DeliveryStatusChangedData): string {
  const providerId = data.providerMessageId || data.whatsappMessageId || data.messageId;
  return deliveryEventId(data.appId, providerId, data.providerStatus, Date.parse(data.occurredAt));
}

/**
 * A DeliveryStatusChanged with its deterministic id and its `status` derived from
 * `providerStatus`: the way to build one, so that every copy of a callback is stored once.
 */
export function deliveryStatusChanged(
  data: Omit<DeliveryStatusChangedData, 'status'>,
  metadata: EventMetadata = {},
): DeliveryStatusChanged {
  const full: DeliveryStatusChangedData = { ...data, status: deliveryStatusOf(data) };
  return new DeliveryStatusChanged(full, deliveryEventIdOf(full), metadata);
}

/**
 * The status a callback is evidence of: its provider status's, except a failure that sent the
 * message back to the queue for another try, or one that came after the message's receipt, both
 * of which leave it where it was.
 */
export function deliveryStatusOf(data: Pick<DeliveryStatusChangedData, 'providerStatus' | 'retry' | 'afterReceipt'>): MessageStatus {
  if (data.retry) return 'queued';
  return data.afterReceipt ?? statusFromProviderStatus(data.providerStatus);
}
