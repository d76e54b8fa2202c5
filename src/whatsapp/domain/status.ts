import type { StoreEvent } from '../../event-store/event';
import {
  DeliveryStatusChanged,
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
} from './events';

/** The statuses this service reports for a message (API.md, "Delivery tracking"). */
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'seen' | 'discarded';

export const MESSAGE_STATUSES: readonly MessageStatus[] = ['queued', 'sent', 'delivered', 'seen', 'discarded'];

/** Gupshup's own words for the stage a message has reached (GUPSHUP.md §2.3, §2.6). */
export type ProviderStatus = 'enqueued' | 'sent' | 'delivered' | 'read' | 'failed';

/** In the order Gupshup reports them along a message's life; `failed` last. */
export const PROVIDER_STATUSES: readonly ProviderStatus[] = ['enqueued', 'sent', 'delivered', 'read', 'failed'];

/** The statuses on the way to the phone, without the terminal `discarded`. */
export type ProgressStatus = Exclude<MessageStatus, 'discarded'>;

/** What a provider callback can tell: Gupshup never reports a message as merely `queued`. */
export type ReportedStatus = Exclude<MessageStatus, 'queued'>;

export function isProviderStatus(value: unknown): value is ProviderStatus {
  return typeof value === 'string' && (PROVIDER_STATUSES as readonly string[]).includes(value);
}

export function isMessageStatus(value: unknown): value is MessageStatus {
  return typeof value === 'string' && (MESSAGE_STATUSES as readonly string[]).includes(value);
}

export function statusFromProviderStatus(providerStatus: ProviderStatus): ReportedStatus {
  switch (providerStatus) {
    case 'enqueued':
    case 'sent':
      return 'sent';
    case 'delivered':
      return 'delivered';
    case 'read':
      return 'seen';
    case 'failed':
      return 'discarded';
  }
}

/** The public rank: `queued < sent < delivered < seen`. */
export const STATUS_RANK: Readonly<Record<ProgressStatus, number>> = { queued: 0, sent: 1, delivered: 2, seen: 3 };

/**
 * Which status wins when there is evidence for several: the public rank with `discarded` placed
 * between `sent` and `delivered`.
 *
 * A failure ends a message that has only been handed over (`queued`, `sent`). A `delivered` or
 * `read` receipt, however, comes from the recipient's phone: it proves the message arrived, so a
 * failure reported next to it (late, repeated, or about a later stage) cannot mean "not
 * delivered", and it stays in the timeline only. Ranking the evidence, rather than letting the
 * latest callback win, also makes the status the same whatever order the callbacks arrive in,
 * which Gupshup does not guarantee.
 */
const PRECEDENCE: Readonly<Record<MessageStatus, number>> = {
  queued: 0,
  sent: 1,
  discarded: 2,
  delivered: 3,
  seen: 4,
};

export function statusPrecedence(status: MessageStatus): number {
  return PRECEDENCE[status];
}

/** The status that wins between two pieces of evidence. Commutative, associative, idempotent. */
export function strongerStatus(a: MessageStatus, b: MessageStatus): MessageStatus {
  return PRECEDENCE[b] > PRECEDENCE[a] ? b : a;
}

/**
 * The status decided by all the evidence known about a message, whatever order it came in:
 * `seen` or `delivered` if any receipt says so, else `discarded` if any failure says so, else
 * `sent` if Gupshup accepted it, else `queued`.
 */
export function strongestStatus(evidence: Iterable<MessageStatus>): MessageStatus {
  let status: MessageStatus = 'queued';
  for (const each of evidence) status = strongerStatus(status, each);
  return status;
}

/** Whether a message at `from` may be shown at `to` after more evidence arrived. */
export function canMoveTo(from: MessageStatus, to: MessageStatus): boolean {
  return PRECEDENCE[to] >= PRECEDENCE[from];
}

/**
 * The status one event is evidence of. Dispatch failures, lost answers and failed callbacks
 * that sent the message back for another try leave the message `queued`: only
 * WhatsAppMessageDiscarded or a final `failed` callback end it. Null for events of other streams.
 */
export function statusEvidence(event: StoreEvent<object>): MessageStatus | null {
  if (event instanceof WhatsAppMessageQueued) return 'queued';
  if (event instanceof WhatsAppDispatchFailed) return 'queued';
  if (event instanceof WhatsAppDispatchOutcomeUnknown) return 'queued';
  if (event instanceof WhatsAppMessageSent) return 'sent';
  // A failure that sent the message back for another try is evidence of nothing more than queued;
  // one after the message's receipt, of the status that receipt gave.
  if (event instanceof DeliveryStatusChanged) {
    if (event.data.retry) return 'queued';
    return event.data.afterReceipt ?? statusFromProviderStatus(event.data.providerStatus);
  }
  if (event instanceof WhatsAppMessageDiscarded) return 'discarded';
  return null;
}

/** The status of a message from the set of its events; their order does not matter. */
export function decideStatus(events: Iterable<StoreEvent<object>>): MessageStatus {
  let status: MessageStatus = 'queued';
  for (const event of events) {
    const evidence = statusEvidence(event);
    if (evidence) status = strongerStatus(status, evidence);
  }
  return status;
}
