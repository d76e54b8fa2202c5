import { StoredEventType, StoreEvent } from '../../../event-store/event';

/** Stream type of the raw callbacks: one stream per callback received. */
export const RAW_CALLBACK_STREAM_TYPE = 'gupshup_callback';

export function rawCallbackStreamId(eventId: string): string {
  return `${RAW_CALLBACK_STREAM_TYPE}-${eventId}`;
}

export interface GupshupCallbackReceivedData {
  appId: string;
  /** When this service received it (ISO 8601). */
  receivedAt: string;
  /**
   * Whether the callback proved it comes from Gupshup (the callback URL's token). Only an
   * authenticated callback may settle a message whose dispatch outcome is unknown.
   */
  authenticated: boolean;
  /** The body as JSON, when PostgreSQL's jsonb can hold it as such. */
  body?: unknown;
  /** The body as its text, when it cannot (a \u0000 escape, a lone surrogate, nesting too deep). */
  bodyText?: string;
}

/**
 * A Gupshup callback as it arrived, before anything was read out of it: the webhook records this
 * and nothing else; the translator turns it into what it means.
 */
@StoredEventType('GupshupCallbackReceived', 1)
export class GupshupCallbackReceived extends StoreEvent<GupshupCallbackReceivedData> {}

/** The body of a recorded callback, whichever way it was kept. */
export function recordedBody(data: GupshupCallbackReceivedData): unknown {
  if (data.bodyText === undefined) return data.body;
  try {
    return JSON.parse(data.bodyText);
  } catch {
    return data.bodyText;
  }
}
