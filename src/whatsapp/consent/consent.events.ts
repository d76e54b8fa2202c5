import { StoredEventType, StoreEvent } from '../../event-store/event';

/** One stream per app and phone number: what the app knows of that person's consent and messages. */
export const CONTACT_STREAM_TYPE = 'whatsapp_contact';

/** `phoneNumber` is E.164. */
export function contactStreamId(appId: string, phoneNumber: string): string {
  return `${CONTACT_STREAM_TYPE}-${appId}:${phoneNumber}`;
}

export const SUPPRESSION_REASONS = ['opted_out', 'not_on_whatsapp', 'manual'] as const;
/** Also the `discardReason.code` of a message to a suppressed number. */
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** Where a suppression or its lifting came from; `receipt`: a receipt that overtook the failure that suppressed. */
export type ConsentSource = 'user_event' | 'failed_callback' | 'receipt' | 'api';

export interface WhatsAppNumberSuppressedData {
  appId: string;
  /** E.164. */
  phoneNumber: string;
  reason: SuppressionReason;
  since: string;
  /** Null: until lifted. */
  until: string | null;
  source: ConsentSource;
  /** The operator's words for a manual one; Gupshup's code and reason for a failed callback. */
  note?: string;
  /** The recorded callback (user-event) or the failed message that taught it. */
  callbackEventId?: string;
  messageId?: string;
}

/** Messages to this number are not sent, for this reason, from `since` to `until`. */
@StoredEventType('WhatsAppNumberSuppressed', 1)
export class WhatsAppNumberSuppressed extends StoreEvent<WhatsAppNumberSuppressedData> {}

export interface WhatsAppSuppressionLiftedData {
  appId: string;
  phoneNumber: string;
  /** The reasons lifted: an opt-in lifts `opted_out`, an operator's DELETE every reason. */
  reasons: SuppressionReason[];
  at: string;
  source: ConsentSource;
  callbackEventId?: string;
  /** The message whose receipt lifted it. */
  messageId?: string;
}

@StoredEventType('WhatsAppSuppressionLifted', 1)
export class WhatsAppSuppressionLifted extends StoreEvent<WhatsAppSuppressionLiftedData> {}

export interface WhatsAppCustomerMessageReceivedData {
  appId: string;
  phoneNumber: string;
  /** The provider's time of the message. */
  at: string;
  receivedAt: string;
  callbackEventId: string;
}

/**
 * The person wrote to the app's number (an inbound `message` callback): it opens WhatsApp's
 * 24-hour customer service window, within which messages other than templates may be sent.
 */
@StoredEventType('WhatsAppCustomerMessageReceived', 1)
export class WhatsAppCustomerMessageReceived extends StoreEvent<WhatsAppCustomerMessageReceivedData> {}

export type ConsentEvent = WhatsAppNumberSuppressed | WhatsAppSuppressionLifted | WhatsAppCustomerMessageReceived;
