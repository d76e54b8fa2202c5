import { deliveryStatusChanged, type DeliveryStatusChanged, type FailedCallbackRetry, type ReceiptStatus } from '../../domain';
import { isPlausibleEventTime, type DeliveryReport, type ReportedPricing } from '../../gupshup/callback-parser';

/** Longest provider id kept: Gupshup's are UUIDs, WhatsApp's wamid.… ids well under 200 characters. */
export const MAX_PROVIDER_ID_LENGTH = 200;
const MAX_REASON_LENGTH = 2000;
const MAX_CODE_LENGTH = 100;
const MAX_DESTINATION_LENGTH = 64;

export type CheckedReport = { ok: true; report: DeliveryReport } | { ok: false; problem: string };

/**
 * Makes a parsed report safe to store, or says why it cannot be: PostgreSQL refuses NUL
 * characters and lone surrogates in JSON, an index refuses huge keys, and a time PostgreSQL
 * cannot hold would stop every projection that reads the event. Checked before a report joins a
 * batch, so that one callback can never fail the transaction of the others.
 */
export function checkReport(report: DeliveryReport, receivedAt: Date): CheckedReport {
  const gupshupMessageId = cleanText(report.gupshupMessageId);
  const whatsappMessageId = cleanText(report.whatsappMessageId);
  for (const [name, id] of [
    ['Gupshup message id', gupshupMessageId],
    ['WhatsApp message id', whatsappMessageId],
  ] as const) {
    if (id !== undefined && id.length > MAX_PROVIDER_ID_LENGTH) {
      return { ok: false, problem: `${report.format} ${report.providerStatus}: the ${name} is longer than ${MAX_PROVIDER_ID_LENGTH} characters` };
    }
  }
  if (!gupshupMessageId && !whatsappMessageId) {
    return { ok: false, problem: `${report.format} ${report.providerStatus}: no usable message id` };
  }
  const occurredMs = report.occurredAt.getTime();
  if (!isPlausibleEventTime(occurredMs, receivedAt)) {
    return {
      ok: false,
      problem: `${report.format} ${report.providerStatus}: timestamp ${Number.isFinite(occurredMs) ? new Date(occurredMs).toISOString() : 'invalid'} is not a plausible event time`,
    };
  }
  const clean: DeliveryReport = { format: report.format, providerStatus: report.providerStatus, occurredAt: new Date(occurredMs) };
  if (gupshupMessageId) clean.gupshupMessageId = gupshupMessageId;
  if (gupshupMessageId && report.gupshupIdMayBeWhatsapps) clean.gupshupIdMayBeWhatsapps = true;
  if (whatsappMessageId) clean.whatsappMessageId = whatsappMessageId;
  const destination = cleanText(report.destination, MAX_DESTINATION_LENGTH);
  if (destination) clean.destination = destination;
  const code = cleanText(report.code, MAX_CODE_LENGTH);
  if (code) clean.code = code;
  const reason = cleanText(report.reason, MAX_REASON_LENGTH);
  if (reason) clean.reason = reason;
  const pricing = cleanPricing(report.pricing);
  if (pricing) clean.pricing = pricing;
  return { ok: true, report: clean };
}

const MAX_PRICING_TEXT_LENGTH = 64;

function cleanPricing(pricing: ReportedPricing | undefined): ReportedPricing | undefined {
  if (!pricing) return undefined;
  const clean: ReportedPricing = {};
  const category = cleanText(pricing.category, MAX_PRICING_TEXT_LENGTH);
  if (category) clean.category = category;
  if (pricing.billable !== undefined) clean.billable = pricing.billable;
  const model = cleanText(pricing.model, MAX_PRICING_TEXT_LENGTH);
  if (model) clean.model = model;
  return Object.keys(clean).length > 0 ? clean : undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text PostgreSQL accepts in text and jsonb: well-formed UTF-16, no NUL, cut to `max` characters. */
export function cleanText(value: string | undefined, max = Number.POSITIVE_INFINITY): string | undefined {
  if (value === undefined) return undefined;
  // Cut first, so that a surrogate pair split by the cut is repaired with the rest.
  const text = (value.length > max ? value.slice(0, max) : value).replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '').trim();
  return text === '' ? undefined : text;
}

/** How a report is kept in parked_callbacks.report: JSON with the time as ISO 8601. */
export interface StoredReport extends Omit<DeliveryReport, 'occurredAt'> {
  occurredAt: string;
}

export function toStoredReport(report: DeliveryReport): StoredReport {
  return { ...report, occurredAt: report.occurredAt.toISOString() };
}

export function fromStoredReport(stored: StoredReport): DeliveryReport {
  return { ...stored, occurredAt: new Date(stored.occurredAt) };
}

/** A report whose message is known, ready to become an event on that message's stream. */
export interface ResolvedReport {
  appId: string;
  messageId: string;
  /** The message's Gupshup id: the report's own, else the one the message was sent with. */
  gupshupMessageId?: string;
  report: DeliveryReport;
  receivedAt: Date;
  /** Set on a failure that sent the message back to the queue for another try. */
  retry?: FailedCallbackRetry;
  /** Set on a failure received after the message's receipt: the status the receipt gave it. */
  afterReceipt?: ReceiptStatus;
}

/**
 * The DeliveryStatusChanged for a report. Its id is derived from the Gupshup id whenever the
 * message has one, so that a late receipt without gsId and a copy with it are stored once.
 */
export function deliveryEventOf(resolved: ResolvedReport): DeliveryStatusChanged {
  const { report } = resolved;
  const gupshupMessageId = report.gupshupMessageId ?? resolved.gupshupMessageId;
  return deliveryStatusChanged({
    appId: resolved.appId,
    messageId: resolved.messageId,
    providerStatus: report.providerStatus,
    ...(gupshupMessageId !== undefined && { providerMessageId: gupshupMessageId }),
    ...(report.whatsappMessageId !== undefined && { whatsappMessageId: report.whatsappMessageId }),
    occurredAt: report.occurredAt.toISOString(),
    receivedAt: resolved.receivedAt.toISOString(),
    ...(report.code !== undefined && { code: report.code }),
    ...(report.reason !== undefined && { reason: report.reason }),
    ...(report.pricing !== undefined && { pricing: report.pricing }),
    format: report.format,
    ...(resolved.retry !== undefined && { retry: resolved.retry }),
    ...(resolved.afterReceipt !== undefined && { afterReceipt: resolved.afterReceipt }),
  });
}
