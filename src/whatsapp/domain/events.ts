import { StoreEvent, StoredEventType } from '../../event-store/event';
import type { FailureClass } from './failure-classes';
import type { MessageStatus, ProviderStatus } from './status';

// All times in event data are ISO 8601 strings, so that stored JSON reads back unchanged.

export const NOTIFICATION_STREAM_TYPE = 'whatsapp_notification';
export const MESSAGE_STREAM_TYPE = 'whatsapp_message';

export function notificationStreamId(requestId: string): string {
  return `${NOTIFICATION_STREAM_TYPE}-${requestId}`;
}

export function messageStreamId(messageId: string): string {
  return `${MESSAGE_STREAM_TYPE}-${messageId}`;
}

export interface NotificationRequestedData {
  appId: string;
  requestId: string;
  title: string;
  message: string;
  data: Record<string, unknown>;
  /** As requested; null when the request named no time. */
  sendAt: string | null;
  /** One per recipient, in the same order as `recipients`. */
  messageIds: string[];
  /** User identifiers. */
  recipients: string[];
  /** `override.gupshup_whatsapp` as requested (either spelling), if any. */
  override?: Record<string, unknown> | null;
  requestedAt: string;
  // Absent from requests recorded before these were accepted: read as null.
  /** `category` or `notification.category`. */
  category?: string | null;
  /** The template identifier the request named. */
  template?: string | null;
  /** `workflow.cancellationKey`. */
  cancellationKey?: string | null;
  /** The `notification` object as requested (url, icon, content, ...). */
  notification?: Record<string, unknown>;
}

/** A send request was accepted. Stream: `whatsapp_notification-{requestId}`. */
@StoredEventType('NotificationRequested', 1)
export class NotificationRequested extends StoreEvent<NotificationRequestedData> {}

export interface WhatsAppMessageQueuedData {
  appId: string;
  messageId: string;
  requestId: string;
  /** The user identifier. */
  recipient: string;
  /** E.164; null when the user has none, in which case the message is discarded at once. */
  phoneNumber: string | null;
  /** When the message is due to go to Gupshup. */
  sendAt: string;
  queuedAt: string;
  // Absent from messages queued before these were recorded: read as null.
  /** The request's category. */
  category?: string | null;
  /** The template identifier the request named. */
  template?: string | null;
}

/** The first event of every message stream. */
@StoredEventType('WhatsAppMessageQueued', 1)
export class WhatsAppMessageQueued extends StoreEvent<WhatsAppMessageQueuedData> {}

export interface WhatsAppMessageSentData {
  appId: string;
  messageId: string;
  /** Gupshup's `messageId` from the send response: the `gsId` / `gs_id` of later callbacks. */
  providerMessageId: string;
  attempt: number;
  sentAt: string;
}

/** Gupshup's send API accepted the message. Appended at most once: nothing is resent after a 2xx. */
@StoredEventType('WhatsAppMessageSent', 1)
export class WhatsAppMessageSent extends StoreEvent<WhatsAppMessageSentData> {}

export type DispatchErrorKind = 'http' | 'timeout' | 'network';

export interface WhatsAppDispatchFailedData {
  appId: string;
  messageId: string;
  attempt: number;
  errorKind: DispatchErrorKind;
  /** Present when errorKind is `http`. */
  httpStatus?: number;
  error: string;
  /** The failure code of Gupshup's error answer, when it carried one (`130429`, `1003`, ...). */
  code?: string;
  /** Its class (failure-classes.ts); `account` pauses the app's dispatch. */
  failureClass?: FailureClass;
  /** When the next attempt is due; null when there will be none, or while the app's dispatch is paused. */
  nextAttemptAt: string | null;
  failedAt: string;
}

/**
 * One attempt to call Gupshup failed. It does not change the status by itself: when the
 * dispatcher gives up it also appends WhatsAppMessageDiscarded with source `dispatch`.
 */
@StoredEventType('WhatsAppDispatchFailed', 1)
export class WhatsAppDispatchFailed extends StoreEvent<WhatsAppDispatchFailedData> {}

export interface WhatsAppDispatchOutcomeUnknownData {
  appId: string;
  messageId: string;
  attempt: number;
  /** When the attempt whose answer was lost started. */
  startedAt: string;
  detectedAt: string;
}

/**
 * A worker died between calling Gupshup and recording the answer. The message is not resent,
 * since Gupshup may have accepted it; a later callback for its destination may reconcile it.
 */
@StoredEventType('WhatsAppDispatchOutcomeUnknown', 1)
export class WhatsAppDispatchOutcomeUnknown extends StoreEvent<WhatsAppDispatchOutcomeUnknownData> {}

export type CallbackFormat = 'v2' | 'v3';

export interface DeliveryStatusChangedData {
  appId: string;
  messageId: string;
  providerStatus: ProviderStatus;
  /**
   * statusFromProviderStatus(providerStatus), stored so that readers need no mapping; `queued`
   * for a failure that sent the message back to the queue (`retry`), and the status the message
   * kept for a failure after its receipt (`afterReceipt`).
   */
  status: MessageStatus;
  /** Gupshup's id (`gsId ?? id` in v2, `gs_id` in v3), when the callback carries it. */
  providerMessageId?: string;
  /** WhatsApp's id (`whatsappMessageId` of v2 enqueued, `id` of v2 receipts and of v3). */
  whatsappMessageId?: string;
  /** The provider's own time for the event. */
  occurredAt: string;
  /** When this service received the callback. */
  receivedAt: string;
  /** Failure code, as text (`1002`, `131047`, ...). */
  code?: string;
  reason?: string;
  /** What the message costs, when the callback says (v3 `pricing`, v2 `pricing` on sent). */
  pricing?: MessagePricing;
  format: CallbackFormat;
  /** Present when this failure is one try of several: the message is tried again, not discarded. */
  retry?: FailedCallbackRetry;
  /**
   * Present on a failure received after the message's delivered or read receipt: the status that
   * receipt gave it, which the failure leaves as it was (it is kept in the timeline only).
   */
  afterReceipt?: ReceiptStatus;
}

/** The statuses only a receipt from the recipient's phone gives. */
export type ReceiptStatus = 'delivered' | 'seen';

/**
 * A `failed` callback whose code is passing or account-level (failure-classes.ts) while the
 * message had attempts left: the message went back to the queue for another try instead of ending.
 */
export interface FailedCallbackRetry {
  /** The attempt that failed. */
  attempt: number;
  failureClass: Exclude<FailureClass, 'permanent'>;
  /** When the next attempt is due; null while the app's dispatch is paused (account-level). */
  nextAttemptAt: string | null;
}

/** Gupshup's and Meta's pricing of a message; a field no report gave is absent. */
export interface MessagePricing {
  /** marketing, utility, authentication, service, ... */
  category?: string;
  billable?: boolean;
  /** CBP, NBP or PMP. */
  model?: string;
}

/** Gupshup reported a status for the message through a callback. */
@StoredEventType('DeliveryStatusChanged', 1)
export class DeliveryStatusChanged extends StoreEvent<DeliveryStatusChangedData> {}

/**
 * Who decided that the message will not be delivered; `gate` is a send gate (a suppressed number,
 * the session window, ...) that refused it when the request was accepted.
 */
export type DiscardSource = 'recipient' | 'dispatch' | 'provider' | 'gate';

export interface WhatsAppMessageDiscardedData {
  appId: string;
  messageId: string;
  code: string;
  reason: string;
  source: DiscardSource;
  discardedAt: string;
}

/** This service gave up on the message (no phone number, a rejected or exhausted dispatch, ...). */
@StoredEventType('WhatsAppMessageDiscarded', 1)
export class WhatsAppMessageDiscarded extends StoreEvent<WhatsAppMessageDiscardedData> {}

export interface WhatsAppMessagePricedData {
  appId: string;
  messageId: string;
  pricing: MessagePricing;
  /** The provider's time of the report (the callback's, else when it was received). */
  occurredAt: string;
  receivedAt: string;
  /** Gupshup's billing-event (the status callbacks' pricing rides on DeliveryStatusChanged). */
  source: 'billing_event';
}

/** Gupshup said what the message costs, apart from any status: a billing-event. No status changes. */
@StoredEventType('WhatsAppMessagePriced', 1)
export class WhatsAppMessagePriced extends StoreEvent<WhatsAppMessagePricedData> {}

export interface DeliveryFailureOvertakenData {
  appId: string;
  messageId: string;
  /** The failed callback's code, time and reception; `retried` when it had sent the message back. */
  failure: { code?: string; occurredAt: string; receivedAt: string; retried: boolean; gupshupMessageId?: string };
  /** The message's first receipt, recorded after that failure. */
  receipt: { eventId: string; providerStatus: 'delivered' | 'read'; occurredAt: string; receivedAt: string; gupshupMessageId?: string };
}

/**
 * A delivered or read receipt came after a failed callback about the same attempt that had ended
 * the message or sent it back: the failure was wrong, the message reached the phone. The status
 * is the receipt's already; this records the contradiction for what a failure set off elsewhere
 * (a resend withdrawn, a suppression lifted). Not one of MESSAGE_EVENTS: it changes no view.
 */
@StoredEventType('DeliveryFailureOvertaken', 1)
export class DeliveryFailureOvertaken extends StoreEvent<DeliveryFailureOvertakenData> {}

/** The events of a `whatsapp_message-{messageId}` stream that make its view (DeliveryFailureOvertaken is stored there too). */
export const MESSAGE_EVENTS = [
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  DeliveryStatusChanged,
  WhatsAppMessageDiscarded,
  WhatsAppMessagePriced,
] as const;

export type WhatsAppMessageEvent = InstanceType<(typeof MESSAGE_EVENTS)[number]>;

export function isMessageEvent(event: StoreEvent<object>): event is WhatsAppMessageEvent {
  return MESSAGE_EVENTS.some((eventClass) => event instanceof eventClass);
}
