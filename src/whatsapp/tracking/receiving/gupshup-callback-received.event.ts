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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A string of a body kept as text, made storable: PostgreSQL refuses NUL characters and lone
 * surrogates in text and jsonb, and whatever the readers copy out of the body (a type, a reason, a
 * pricing model) is stored. Left in, one such callback would fail its reader's batch on every try
 * and hold up every callback after it. The text kept in the event still says what came.
 */
function storableString(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? storableText(value) : value;
}

/** Text PostgreSQL accepts in text and jsonb: lone surrogates replaced, NUL characters dropped. */
export function storableText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '');
}

/**
 * The body of a recorded callback, whichever way it was kept. One kept as text (it held what
 * jsonb refuses) is read with its strings made storable (storableString).
 */
export function recordedBody(data: GupshupCallbackReceivedData): unknown {
  if (data.bodyText === undefined) return data.body;
  try {
    return JSON.parse(data.bodyText, storableString);
  } catch {
    return storableText(data.bodyText);
  }
}
