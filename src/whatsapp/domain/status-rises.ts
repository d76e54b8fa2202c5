import type { StoreEvent } from '../../event-store/event';
import { DeliveryStatusChanged, WhatsAppMessageDiscarded, WhatsAppMessageQueued, WhatsAppMessageSent } from './events';
import type { DiscardReason } from './message-view';
import { statusEvidence, strongerStatus, type MessageStatus } from './status';

/** What a reader of the log in order knows about a message, to tell a rise of its status from a repeat. */
export interface TrackedMessage {
  messageId: string;
  appId: string;
  requestId: string | null;
  recipient: string | null;
  phoneNumber: string | null;
  /** Null until an event gives evidence of one. */
  status: MessageStatus | null;
  providerMessageId: string | null;
  discardReason: DiscardReason | null;
  category: string | null;
  template: string | null;
}

/** One rise of a message's status. */
export interface StatusRise {
  status: MessageStatus;
  previousStatus: MessageStatus | null;
  /** ISO 8601: the time the event gives for the status it is evidence of. */
  at: string;
  /** Only for `discarded`. */
  discardReason: DiscardReason | null;
}

export function untrackedMessage(appId: string, messageId: string): TrackedMessage {
  return { messageId, appId, requestId: null, recipient: null, phoneNumber: null, status: null, providerMessageId: null, discardReason: null, category: null, template: null };
}

/** The time an event gives for the status it is evidence of. */
function eventTime(event: object, recordedAt: Date): string {
  if (event instanceof WhatsAppMessageQueued) return event.data.queuedAt;
  if (event instanceof WhatsAppMessageSent) return event.data.sentAt;
  if (event instanceof DeliveryStatusChanged) return event.data.occurredAt;
  if (event instanceof WhatsAppMessageDiscarded) return event.data.discardedAt;
  return recordedAt.toISOString();
}

/**
 * Takes one event of the message's stream, in log order, into what is known of it, and returns
 * the rise of its status that the event makes, if any. The status follows the domain's rules
 * (strongerStatus): a repeat, a late `sent` or a failure after delivery raises nothing.
 */
export function trackStatus(message: TrackedMessage, event: StoreEvent<object>, recordedAt: Date): StatusRise | null {
  if (event instanceof WhatsAppMessageQueued) {
    message.requestId = event.data.requestId;
    message.recipient = event.data.recipient;
    message.phoneNumber = event.data.phoneNumber;
    message.category = event.data.category ?? null;
    message.template = event.data.template ?? null;
  } else if (event instanceof WhatsAppMessageSent) {
    message.providerMessageId = event.data.providerMessageId;
  } else if (event instanceof DeliveryStatusChanged) {
    message.providerMessageId ??= event.data.providerMessageId ?? null;
  }
  const evidence = statusEvidence(event);
  if (!evidence) return null;
  const next = message.status ? strongerStatus(message.status, evidence) : evidence;
  if (next === message.status) return null;
  if (next === 'discarded') {
    if (event instanceof WhatsAppMessageDiscarded) message.discardReason = { code: event.data.code, reason: event.data.reason };
    else if (event instanceof DeliveryStatusChanged) message.discardReason = { code: event.data.code ?? 'unknown', reason: event.data.reason ?? 'failed' };
  }
  const previousStatus = message.status;
  message.status = next;
  return {
    status: next,
    previousStatus,
    at: new Date(eventTime(event, recordedAt)).toISOString(),
    discardReason: next === 'discarded' ? message.discardReason : null,
  };
}
