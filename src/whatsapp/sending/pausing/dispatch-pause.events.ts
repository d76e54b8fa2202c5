import { StoreEvent, StoredEventType } from '../../../event-store/event';

export interface WhatsAppDispatchPausedData {
  appId: string;
  /** The account-level failure code (failure-classes.ts): `1003`, `4001`, ... */
  code: string;
  reason: string;
  since: string;
  /** The message whose failure paused the app. */
  messageId: string | null;
  /** Where the failure was learnt: Gupshup's answer to the send, or a `failed` callback. */
  learntFrom: 'send_answer' | 'callback';
}

/** The app's WhatsApp dispatch stopped after an account-level failure. Stream: `app-{appId}`. */
@StoredEventType('WhatsAppDispatchPaused', 1)
export class WhatsAppDispatchPaused extends StoreEvent<WhatsAppDispatchPausedData> {}

export interface WhatsAppDispatchResumedData {
  appId: string;
  /** The pause this ends. */
  pausedSince: string;
  code: string;
  resumedAt: string;
}

/** The app's WhatsApp dispatch was resumed (POST .../gupshup_whatsapp/resume). Stream: `app-{appId}`. */
@StoredEventType('WhatsAppDispatchResumed', 1)
export class WhatsAppDispatchResumed extends StoreEvent<WhatsAppDispatchResumedData> {}
