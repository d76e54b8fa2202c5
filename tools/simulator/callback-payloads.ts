/**
 * Callback bodies in the exact shapes Gupshup posts (GUPSHUP.md §2.2, §2.3 for v2; §2.6 for v3).
 */
import type { CallbackFormat, ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import type { FailureStage } from './fates';

export interface CallbackMessageContext {
  /** The send response's messageId. */
  gupshupMessageId: string;
  whatsappMessageId: string;
  destination: string;
  /** v2 envelope `app`: the Gupshup app name. */
  appName: string;
  /** The app's WhatsApp number. */
  appSource: string;
  /** v3 `gs_app_id`. */
  appId: string;
  kind: 'session' | 'template';
}

export interface CallbackEvent {
  status: ProviderStatus;
  /** Provider time of the event, epoch milliseconds. */
  occurredAtMs: number;
  omitGsId: boolean;
  failure?: { code: number | string; reason: string; stage: FailureStage };
  /** v3 failures: Meta's errors[] or the passthrough page's flat code/reason. */
  v3FailedStyle: 'errors' | 'flat';
}

const META_ERROR_CODES_URL = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/';
const ONE_DAY_SECONDS = 24 * 60 * 60;

export function buildCallbackBody(format: CallbackFormat, context: CallbackMessageContext, event: CallbackEvent): Record<string, unknown> {
  return format === 'v2' ? buildV2Callback(context, event) : buildV3Callback(context, event);
}

export function buildV2Callback(context: CallbackMessageContext, event: CallbackEvent): Record<string, unknown> {
  const ts = Math.floor(event.occurredAtMs / 1000);
  let payload: Record<string, unknown>;
  switch (event.status) {
    case 'enqueued':
      payload = {
        id: context.gupshupMessageId,
        type: 'enqueued',
        destination: context.destination,
        payload: { whatsappMessageId: context.whatsappMessageId, type: context.kind },
      };
      break;
    case 'failed': {
      const details = { code: numericIfPossible(event.failure?.code ?? 1002), reason: event.failure?.reason ?? 'Message failed to send' };
      payload =
        event.failure?.stage === 'sync'
          ? { id: context.gupshupMessageId, type: 'failed', destination: context.destination, payload: details }
          : { id: context.whatsappMessageId, gsId: context.gupshupMessageId, type: 'failed', destination: context.destination, payload: details };
      break;
    }
    default:
      payload = {
        id: context.whatsappMessageId,
        ...(event.omitGsId ? {} : { gsId: context.gupshupMessageId }),
        type: event.status,
        destination: context.destination,
        payload: { ts },
        ...(event.status === 'sent' ? conversationAndPricingV2(context, ts) : {}),
      };
  }
  return { app: context.appName, timestamp: event.occurredAtMs, version: 2, type: 'message-event', payload };
}

export function buildV3Callback(context: CallbackMessageContext, event: CallbackEvent): Record<string, unknown> {
  const seconds = Math.floor(event.occurredAtMs / 1000);
  const keepsGsId = !event.omitGsId || event.status === 'enqueued' || event.status === 'failed';
  const status: Record<string, unknown> = {
    ...(keepsGsId ? { gs_id: context.gupshupMessageId } : {}),
    id: context.whatsappMessageId,
    recipient_id: context.destination,
    status: event.status,
    // enqueued carries numeric milliseconds, the other statuses string seconds (GUPSHUP.md §2.6).
    timestamp: event.status === 'enqueued' ? event.occurredAtMs : String(seconds),
  };
  if (event.status === 'sent') {
    const category = context.kind === 'template' ? 'utility' : 'service';
    status.conversation = {
      id: conversationId(context),
      expiration_timestamp: String(seconds + ONE_DAY_SECONDS),
      origin: { type: category },
    };
    status.pricing = { billable: true, pricing_model: 'CBP', category };
  }
  if (event.status === 'failed') {
    const code = event.failure?.code ?? 1002;
    const reason = event.failure?.reason ?? 'Message failed to send';
    if (event.v3FailedStyle === 'flat') {
      status.code = String(code);
      status.reason = reason;
    } else {
      status.errors = [{ code: numericIfPossible(code), href: META_ERROR_CODES_URL, title: reason }];
    }
  }
  const value: Record<string, unknown> = { messaging_product: 'whatsapp', statuses: [status] };
  if (event.status !== 'enqueued') {
    value.metadata = { display_phone_number: context.appSource, phone_number_id: digitsFrom(context.appId, 15) };
  }
  return {
    object: 'whatsapp_business_account',
    gs_app_id: context.appId,
    entry: [{ id: digitsFrom(`${context.appId}:waba`, 15), changes: [{ field: 'messages', value }] }],
  };
}

/** WhatsApp's id for a message: gBEG… on the older on-premises API (v2 apps), wamid.… on the Cloud API (v3). */
export function newWhatsAppMessageId(format: CallbackFormat, destination: string, random: () => number): string {
  if (format === 'v2') return `gBEG${randomBase64(23, random)}`;
  const encodedNumber = Buffer.from(destination).toString('base64').replace(/=+$/, '');
  return `wamid.HBgM${encodedNumber}FQIAERgS${Buffer.from(randomHex(18, random).toUpperCase()).toString('base64')}`;
}

function conversationAndPricingV2(context: CallbackMessageContext, ts: number): Record<string, unknown> {
  const category = context.kind === 'template' ? 'utility' : 'service';
  return {
    conversation: { id: conversationId(context), expiresAt: ts + ONE_DAY_SECONDS, type: category },
    pricing: { policy: 'CBP', category },
  };
}

/** One conversation per app and user, as WhatsApp opens it. */
function conversationId(context: CallbackMessageContext): string {
  return hashHex(`${context.appId}:${context.destination}`).slice(0, 32);
}

function numericIfPossible(code: number | string): number | string {
  return typeof code === 'string' && /^\d{1,15}$/.test(code) ? Number(code) : code;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomBase64(length: number, random: () => number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += BASE64_ALPHABET[Math.floor(random() * BASE64_ALPHABET.length) % BASE64_ALPHABET.length];
  return text;
}

function randomHex(length: number, random: () => number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += Math.floor(random() * 16).toString(16).slice(-1);
  return text;
}

/** A stable, non-cryptographic hash: ids derived from it only need to look real and stay the same. */
function hashHex(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  let out = '';
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < text.length; i++) {
      h1 = Math.imul(h1 ^ text.charCodeAt(i), 16777619) >>> 0;
      h2 = Math.imul(h2 ^ (text.charCodeAt(i) + round), 2246822519) >>> 0;
    }
    out += h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
  }
  return out;
}

function digitsFrom(text: string, length: number): string {
  const digits = hashHex(text).replace(/[a-f]/g, (c) => String(c.charCodeAt(0) % 10));
  return `1${digits.slice(0, length - 1)}`;
}
