/**
 * Turns a Gupshup callback body (v2 "Gupshup format" or v3 "Meta format", GUPSHUP.md §2) into
 * delivery reports. Pure and total: whatever the input, it returns a result and never throws.
 */

export type ProviderStatus = 'enqueued' | 'sent' | 'delivered' | 'read' | 'failed';
export type CallbackFormat = 'v2' | 'v3';

export interface DeliveryReport {
  format: CallbackFormat;
  providerStatus: ProviderStatus;
  /** Gupshup's id, the `messageId` of the send response. Absent on DLRs that arrive without gsId. */
  gupshupMessageId?: string;
  /** WhatsApp's id (gBEG…, wamid.… or a UUID on newer traffic), the fallback key for late DLRs. */
  whatsappMessageId?: string;
  /**
   * gupshupMessageId may be WhatsApp's id instead, when no message was sent with it: a v2 `failed`
   * without gsId is a sync failure (`id` is Gupshup's) or an async one older than about a week
   * (`id` is WhatsApp's), and nothing in the body tells them apart (GUPSHUP.md §2.3, §2.7).
   */
  gupshupIdMayBeWhatsapps?: true;
  destination?: string;
  /** The provider's own time of the event. */
  occurredAt: Date;
  /** Failure code, always a string (Gupshup sends numbers, the v3 passthrough variant strings). */
  code?: string;
  reason?: string;
  /** What the conversation or message costs, where the callback says (v3 `pricing`, v2 `pricing` on sent). */
  pricing?: ReportedPricing;
}

/** Gupshup's and Meta's pricing object, read into one shape; a field the callback lacks is absent. */
export interface ReportedPricing {
  /** marketing, utility, authentication, service, ... */
  category?: string;
  billable?: boolean;
  /** The pricing model or policy: CBP, NBP, PMP. */
  model?: string;
}

export type ParsedCallback =
  | { kind: 'delivery'; reports: DeliveryReport[]; skipped?: string[] }
  | { kind: 'ignored'; what: string }
  | { kind: 'invalid'; message: string };

const PROVIDER_STATUSES: readonly string[] = ['enqueued', 'sent', 'delivered', 'read', 'failed'];
const V3_OBJECT = 'whatsapp_business_account';

/**
 * @param receivedAt used as the event time only when the callback carries no usable timestamp,
 *   so that a status is never lost for want of a time.
 */
export function parseGupshupCallback(body: unknown, receivedAt: Date = new Date()): ParsedCallback {
  try {
    return parseBody(body, receivedAt);
  } catch (error) {
    // Only reachable with exotic objects (throwing getters, proxies): JSON input cannot get here.
    return invalid(`unreadable callback: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function parseBody(body: unknown, receivedAt: Date): ParsedCallback {
  if (!isRecord(body)) return invalid('callback body is not a JSON object');
  if (field(body, 'object') === V3_OBJECT) return parseV3(body, receivedAt);
  if (isV2Envelope(body)) return parseV2(body, receivedAt);
  const version = field(body, 'version');
  if (typeof field(body, 'type') === 'string' && version !== undefined) {
    return invalid(`unsupported callback version ${JSON.stringify(version)}`);
  }
  return invalid(`neither a v2 callback (version 2 with type and payload) nor a v3 callback (object "${V3_OBJECT}")`);
}

/** Some published v2 samples omit `version`; a `type` next to a `payload` object is then enough. */
function isV2Envelope(body: Record<string, unknown>): boolean {
  if (typeof field(body, 'type') !== 'string') return false;
  const version = field(body, 'version');
  if (version === 2 || version === '2') return true;
  return version === undefined && isRecord(field(body, 'payload'));
}

function parseV2(envelope: Record<string, unknown>, receivedAt: Date): ParsedCallback {
  const type = field(envelope, 'type') as string;
  const event = field(envelope, 'payload');
  if (type !== 'message-event') return ignored(describeIgnoredV2(type, event));
  if (!isRecord(event)) return invalid('v2 message-event without a payload object');

  const eventType = field(event, 'type');
  if (typeof eventType !== 'string' || eventType === '') return invalid('v2 message-event without payload.type');
  if (!isProviderStatus(eventType)) return ignored(`v2 message-event ${eventType}`);

  const id = nonEmptyString(field(event, 'id'));
  const gsId = nonEmptyString(field(event, 'gsId'));
  const details = asRecord(field(event, 'payload'));

  // GUPSHUP.md §2.7: which field holds which id depends on the event type, never on how the id looks.
  let gupshupMessageId: string | undefined;
  let whatsappMessageId: string | undefined;
  let gupshupIdMayBeWhatsapps: true | undefined;
  if (eventType === 'enqueued') {
    gupshupMessageId = gsId ?? id;
    whatsappMessageId = nonEmptyString(field(details, 'whatsappMessageId'));
  } else if (eventType === 'failed') {
    // Async failures carry gsId and a WhatsApp-side id; sync failures only Gupshup's id in `id`,
    // and so do async ones older than about a week, with WhatsApp's id there.
    gupshupMessageId = gsId ?? id;
    whatsappMessageId = gsId ? id : undefined;
    gupshupIdMayBeWhatsapps = gsId ? undefined : true;
  } else {
    // sent/delivered/read: `id` is always WhatsApp's; gsId is missing on DLRs older than about a week.
    gupshupMessageId = gsId;
    whatsappMessageId = id;
  }
  const problem = missingIdProblem(eventType, gupshupMessageId, whatsappMessageId, 'v2', 'id or gsId');
  if (problem) return invalid(problem);

  const report: DeliveryReport = {
    format: 'v2',
    providerStatus: eventType,
    gupshupMessageId,
    whatsappMessageId,
    gupshupIdMayBeWhatsapps,
    destination: phoneString(field(event, 'destination')),
    occurredAt: toDate(field(details, 'ts')) ?? toDate(field(envelope, 'timestamp')) ?? receivedAt,
  };
  if (eventType === 'failed') {
    report.code = codeString(field(details, 'code'));
    report.reason = nonEmptyString(field(details, 'reason'));
  }
  report.pricing = parsePricing(field(event, 'pricing'));
  return { kind: 'delivery', reports: [withoutUndefined(report)] };
}

function describeIgnoredV2(type: string, payload: unknown): string {
  const subType = nonEmptyString(field(asRecord(payload), 'type'));
  if (type === 'user-event' && subType) return `v2 user-event ${subType}`;
  return `v2 ${type || '(empty type)'}`;
}

function parseV3(body: Record<string, unknown>, receivedAt: Date): ParsedCallback {
  const entries = field(body, 'entry');
  if (!Array.isArray(entries)) return invalid('v3 callback without an entry array');

  const reports: DeliveryReport[] = [];
  const ignoredParts = new Set<string>();
  const problems: string[] = [];

  entries.forEach((entry, entryIndex) => {
    const changes = field(asRecord(entry), 'changes');
    if (!Array.isArray(changes)) {
      problems.push(`entry[${entryIndex}] has no changes array`);
      return;
    }
    changes.forEach((change, changeIndex) => {
      const where = `entry[${entryIndex}].changes[${changeIndex}]`;
      if (!isRecord(change)) {
        problems.push(`${where} is not an object`);
        return;
      }
      const statuses = field(asRecord(field(change, 'value')), 'statuses');
      if (statuses === undefined) {
        ignoredParts.add(`v3 ${nonEmptyString(field(change, 'field')) ?? 'change without field'}`);
        return;
      }
      if (!Array.isArray(statuses)) {
        problems.push(`${where}.value.statuses is not an array`);
        return;
      }
      statuses.forEach((status, statusIndex) => {
        const outcome = parseV3Status(status, `${where}.value.statuses[${statusIndex}]`, receivedAt);
        if ('report' in outcome) reports.push(outcome.report);
        else if ('ignored' in outcome) ignoredParts.add(outcome.ignored);
        else problems.push(outcome.problem);
      });
    });
  });

  if (reports.length > 0) return problems.length > 0 ? { kind: 'delivery', reports, skipped: problems } : { kind: 'delivery', reports };
  if (problems.length > 0) return invalid(problems.join('; '));
  if (ignoredParts.size > 0) return ignored([...ignoredParts].join(', '));
  return ignored('v3 callback without changes');
}

type V3StatusOutcome = { report: DeliveryReport } | { ignored: string } | { problem: string };

function parseV3Status(status: unknown, where: string, receivedAt: Date): V3StatusOutcome {
  if (!isRecord(status)) return { problem: `${where} is not an object` };
  const statusName = nonEmptyString(field(status, 'status'));
  if (!statusName) return { problem: `${where} has no status` };
  if (!isProviderStatus(statusName)) return { ignored: `v3 status ${statusName}` };

  const gupshupMessageId = nonEmptyString(field(status, 'gs_id'));
  const whatsappMessageId = nonEmptyString(field(status, 'id'));
  const problem = missingIdProblem(statusName, gupshupMessageId, whatsappMessageId, 'v3', 'gs_id or id');
  if (problem) return { problem: `${where}: ${problem}` };

  const report: DeliveryReport = {
    format: 'v3',
    providerStatus: statusName,
    gupshupMessageId,
    whatsappMessageId,
    destination: phoneString(field(status, 'recipient_id')),
    occurredAt: toDate(field(status, 'timestamp')) ?? receivedAt,
  };
  if (statusName === 'failed') {
    // Meta-style `errors[]` and the passthrough page's flat `code`/`reason` both exist (GUPSHUP.md §2.6).
    const errors = field(status, 'errors');
    const firstError = asRecord(Array.isArray(errors) ? errors[0] : undefined);
    report.code = codeString(field(firstError, 'code')) ?? codeString(field(status, 'code'));
    report.reason =
      nonEmptyString(field(firstError, 'title')) ??
      nonEmptyString(field(firstError, 'message')) ??
      nonEmptyString(field(status, 'reason'));
  }
  report.pricing = parsePricing(field(status, 'pricing'));
  return { report: withoutUndefined(report) };
}

/**
 * A pricing object (GUPSHUP.md §2.3, §2.6): v3 `{billable, pricing_model, category}`, v2
 * `{policy, category}`, a billing event's deductions `{billable, model, category}`. Undefined when
 * it holds none of these.
 */
export function parsePricing(value: unknown): ReportedPricing | undefined {
  const pricing = asRecord(value);
  if (!pricing) return undefined;
  const billable = field(pricing, 'billable');
  const parsed: ReportedPricing = {
    category: nonEmptyString(field(pricing, 'category'))?.trim(),
    billable: typeof billable === 'boolean' ? billable : billable === 'true' ? true : billable === 'false' ? false : undefined,
    model: (nonEmptyString(field(pricing, 'pricing_model')) ?? nonEmptyString(field(pricing, 'model')) ?? nonEmptyString(field(pricing, 'policy')))?.trim(),
  };
  for (const key of Object.keys(parsed) as (keyof ReportedPricing)[]) if (parsed[key] === undefined) delete parsed[key];
  return Object.keys(parsed).length > 0 ? parsed : undefined;
}

/** An enqueued event must name Gupshup's id (it is what links the WhatsApp id to our message); others need either id. */
function missingIdProblem(
  status: ProviderStatus,
  gupshupMessageId: string | undefined,
  whatsappMessageId: string | undefined,
  format: CallbackFormat,
  fields: string,
): string | undefined {
  if (status === 'enqueued' && !gupshupMessageId) return `${format} enqueued event without Gupshup's message id`;
  if (!gupshupMessageId && !whatsappMessageId) return `${format} ${status} event without ${fields}`;
  return undefined;
}

function isProviderStatus(value: string): value is ProviderStatus {
  return PROVIDER_STATUSES.includes(value);
}

function invalid(message: string): ParsedCallback {
  return { kind: 'invalid', message };
}

function ignored(what: string): ParsedCallback {
  return { kind: 'ignored', what };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}

/** Own properties only, so inherited names such as `constructor` never read as data. */
export function field(record: Record<string, unknown> | undefined, key: string): unknown {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

export function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

export function phoneString(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  return nonEmptyString(value);
}

function codeString(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return nonEmptyString(value)?.trim();
}

/** A provider time outside [this, receivedAt + MAX_FUTURE_MS] is a broken clock or a forged body, never an event's. */
const EARLIEST_PROVIDER_TIME_MS = Date.UTC(2000, 0, 1);
const MAX_FUTURE_MS = 7 * 24 * 60 * 60 * 1000;

export function isPlausibleEventTime(ms: number, receivedAt: Date): boolean {
  return ms >= EARLIEST_PROVIDER_TIME_MS && ms <= receivedAt.getTime() + MAX_FUTURE_MS;
}

/**
 * The provider's time of an event that is ordered by it (opt-ins and opt-outs, template
 * statuses), or `receivedAt` when it gives none or one no event can have: kept, a time years
 * ahead would win every later comparison, and from the year 10000 on PostgreSQL cannot store it.
 */
export function eventTimeOr(value: unknown, receivedAt: Date): Date {
  const time = toDate(value);
  return time && isPlausibleEventTime(time.getTime(), receivedAt) ? time : receivedAt;
}

/** Seconds or milliseconds, as a number or a numeric string: below 1e12 it can only be seconds. */
export function toDate(value: unknown): Date | undefined {
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)) n = Number(value);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return undefined;
  const date = new Date(n < 1e12 ? n * 1000 : n);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Reports leave absent fields out instead of carrying `undefined`, so they serialise and compare cleanly. */
function withoutUndefined(report: DeliveryReport): DeliveryReport {
  for (const key of Object.keys(report) as (keyof DeliveryReport)[]) {
    if (report[key] === undefined) delete report[key];
  }
  return report;
}

/** What a billing-event says about one message (GUPSHUP.md §2.4, §2.6). */
export interface BillingReport {
  /** `references.gsId`: the `messageId` of the send response (v2 falls back to `references.id`). */
  gupshupMessageId: string;
  pricing: ReportedPricing;
  /** The callback's own time, else when it was received. */
  occurredAt: Date;
}

/**
 * The billing reports of a callback body: a v2 `billing-event`, or the `billing-event` changes
 * of a v3 callback (`value.billing`). None for anything else; never throws.
 */
export function parseBillingReports(body: unknown, receivedAt: Date = new Date()): BillingReport[] {
  try {
    if (!isRecord(body)) return [];
    if (field(body, 'object') === V3_OBJECT) {
      const reports: BillingReport[] = [];
      for (const entry of arrayField(body, 'entry')) {
        for (const change of arrayField(asRecord(entry), 'changes')) {
          if (field(asRecord(change), 'field') !== 'billing-event') continue;
          const billing = asRecord(field(asRecord(field(asRecord(change), 'value')), 'billing'));
          const report = billingReport(billing, false, receivedAt);
          if (report) reports.push(report);
        }
      }
      return reports;
    }
    if (field(body, 'type') !== 'billing-event') return [];
    const report = billingReport(asRecord(field(body, 'payload')), true, toDate(field(body, 'timestamp')) ?? receivedAt);
    return report ? [report] : [];
  } catch {
    return [];
  }
}

function billingReport(billing: Record<string, unknown> | undefined, idIsGupshups: boolean, occurredAt: Date): BillingReport | undefined {
  const references = asRecord(field(billing, 'references'));
  // In v3 `references.id` is WhatsApp's id; in v2 Glific reads it as Gupshup's when gsId is missing.
  const gupshupMessageId = nonEmptyString(field(references, 'gsId')) ?? (idIsGupshups ? nonEmptyString(field(references, 'id')) : undefined);
  const pricing = parsePricing(field(billing, 'deductions'));
  return gupshupMessageId && pricing ? { gupshupMessageId: gupshupMessageId.trim(), pricing, occurredAt } : undefined;
}

export function arrayField(record: Record<string, unknown> | undefined, key: string): unknown[] {
  const value = field(record, key);
  return Array.isArray(value) ? value : [];
}
