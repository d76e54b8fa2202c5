import type { StoreEvent } from '../../event-store/event';
import { canonicalTime } from './canonical-time';
import { deliveryStatusOf } from './delivery-event-id';
import {
  DeliveryStatusChanged,
  isMessageEvent,
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  WhatsAppMessagePriced,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  type DispatchErrorKind,
  type MessagePricing,
  type WhatsAppMessageEvent,
} from './events';
import {
  PROVIDER_STATUSES,
  statusPrecedence,
  strongestStatus,
  type MessageStatus,
  type ProviderStatus,
} from './status';

export const WHATSAPP_PROVIDER = 'gupshup_whatsapp';

/** One line of a message's history, as API.md shows it. Optional keys are absent, never undefined. */
export interface TimelineEntry {
  readonly status: MessageStatus;
  /** Gupshup's word; absent for this service's own events. */
  readonly providerStatus?: ProviderStatus;
  /** When it happened: the provider's own time for callbacks. */
  readonly at: string;
  /** When this service learnt of it. */
  readonly receivedAt: string;
  readonly code?: string;
  readonly reason?: string;
}

export interface DiscardReason {
  readonly code: string;
  readonly reason: string;
}

/** `callback`: a `failed` callback that sent the message back to the queue for another try. */
export type DispatchErrorKindOrUnknown = DispatchErrorKind | 'outcome_unknown' | 'callback';

export interface LastDispatchError {
  readonly attempt: number;
  readonly kind: DispatchErrorKindOrUnknown;
  readonly httpStatus: number | null;
  readonly message: string;
  readonly at: string;
  readonly nextAttemptAt: string | null;
}

/**
 * API.md's message, plus `appId`, `attempts` and `lastError`. Every time is a canonical ISO 8601
 * string (`toISOString()`). `requestId`, `recipient` and `queuedAt` are null only until the
 * stream's WhatsAppMessageQueued has been applied.
 */
export interface MessageView {
  readonly appId: string;
  readonly messageId: string;
  readonly requestId: string | null;
  readonly recipient: string | null;
  readonly phoneNumber: string | null;
  readonly provider: typeof WHATSAPP_PROVIDER;
  readonly providerMessageId: string | null;
  readonly whatsappMessageId: string | null;
  /** The request's category and template, from WhatsAppMessageQueued. */
  readonly category: string | null;
  readonly template: string | null;
  readonly status: MessageStatus;
  readonly queuedAt: string | null;
  readonly sentAt: string | null;
  readonly deliveredAt: string | null;
  readonly seenAt: string | null;
  readonly discardedAt: string | null;
  readonly discardReason: DiscardReason | null;
  readonly timeline: readonly TimelineEntry[];
  /** The highest attempt number recorded so far (0 before the first call to Gupshup). */
  readonly attempts: number;
  /** The failure of the highest attempt that failed, kept after a later success as history. */
  readonly lastError: LastDispatchError | null;
  /** What Gupshup's callbacks said the message costs; null until one says. */
  readonly pricing: ViewPricing | null;
}

/** The pricing of a message, and whether a billing-event (Gupshup's own deduction) gave it. */
export interface ViewPricing extends MessagePricing {
  readonly fromBilling?: boolean;
}

/** The view before any event; `appId` and `messageId` are empty until the first one. */
export function emptyMessageView(): MessageView {
  return {
    appId: '',
    messageId: '',
    requestId: null,
    recipient: null,
    phoneNumber: null,
    provider: WHATSAPP_PROVIDER,
    providerMessageId: null,
    whatsappMessageId: null,
    category: null,
    template: null,
    status: 'queued',
    queuedAt: null,
    sentAt: null,
    deliveredAt: null,
    seenAt: null,
    discardedAt: null,
    discardReason: null,
    timeline: [],
    attempts: 0,
    lastError: null,
    pricing: null,
  };
}

/**
 * The view with one more event. Pure: `view` is never modified, a new object is returned (the
 * same one when the event is not a message event).
 *
 * Every field is a join over the events seen (a minimum, a maximum, a union, the strongest
 * status), so the result depends on the set of events only: any order, and any repetition of
 * an event, gives the same view.
 */
export function applyToMessageView(view: MessageView, event: StoreEvent<object>): MessageView {
  return applyAllToMessageView(view, [event]);
}

/**
 * applyToMessageView for each event in turn, with the fields read off the timeline derived once
 * at the end rather than after every event (they depend on the final timeline only).
 */
export function applyAllToMessageView(view: MessageView, events: Iterable<StoreEvent<object>>): MessageView {
  let current = view;
  for (const event of events) {
    if (!isMessageEvent(event)) continue;
    const { appId, messageId } = event.data;
    if (current.messageId && current.messageId !== messageId) {
      throw new Error(`An event of message ${messageId} was applied to the view of message ${current.messageId}`);
    }
    const withFacts = applyFacts({ ...current, appId: current.appId || appId, messageId }, event);
    const entry = timelineEntryOf(event);
    current = entry ? { ...withFacts, timeline: mergeIntoTimeline(current.timeline, entry) } : withFacts;
  }
  return current === view ? view : withTimelineDerivedFields(current, current.timeline);
}

export function foldMessageView(events: Iterable<StoreEvent<object>>): MessageView {
  return applyAllToMessageView(emptyMessageView(), events);
}

/** Everything that is not read off the timeline: identities, ids, attempts, errors. */
function applyFacts(view: MessageView, event: WhatsAppMessageEvent): MessageView {
  if (event instanceof WhatsAppMessageQueued) {
    const { requestId, recipient, phoneNumber, queuedAt, category, template } = event.data;
    return {
      ...view,
      requestId,
      recipient,
      phoneNumber,
      category: category ?? null,
      template: template ?? null,
      queuedAt: earliest(view.queuedAt, canonicalTime(queuedAt)),
    };
  }
  if (event instanceof WhatsAppMessageSent) {
    // Gupshup's answer to our own call is the authority on its id; callbacks only fill in until it is known.
    // A message tried again after a failed callback was accepted more than once: the latest
    // attempt's id is the one its callbacks now carry (as long as events come in their order;
    // two sends of the same attempt number keep the smaller id, whatever the order).
    const sentAlreadyApplied = view.timeline.some(isOwnSentEntry);
    const { providerMessageId, attempt } = event.data;
    let id = providerMessageId;
    if (sentAlreadyApplied) {
      if (attempt < view.attempts) id = view.providerMessageId ?? providerMessageId;
      else if (attempt === view.attempts) id = smallest(view.providerMessageId, providerMessageId) ?? providerMessageId;
    }
    return { ...view, providerMessageId: id, attempts: Math.max(view.attempts, attempt) };
  }
  if (event instanceof WhatsAppDispatchFailed) {
    const { attempt, errorKind, httpStatus, error, failedAt, nextAttemptAt } = event.data;
    const failure: LastDispatchError = {
      attempt,
      kind: errorKind,
      httpStatus: httpStatus ?? null,
      message: error,
      at: canonicalTime(failedAt),
      nextAttemptAt: nextAttemptAt === null ? null : canonicalTime(nextAttemptAt),
    };
    return { ...view, attempts: Math.max(view.attempts, attempt), lastError: laterError(view.lastError, failure) };
  }
  if (event instanceof WhatsAppDispatchOutcomeUnknown) {
    const { attempt, detectedAt } = event.data;
    const failure: LastDispatchError = {
      attempt,
      kind: 'outcome_unknown',
      httpStatus: null,
      message: outcomeUnknownReason(attempt),
      at: canonicalTime(detectedAt),
      nextAttemptAt: null,
    };
    return { ...view, attempts: Math.max(view.attempts, attempt), lastError: laterError(view.lastError, failure) };
  }
  if (event instanceof DeliveryStatusChanged) {
    const { providerMessageId, whatsappMessageId, retry, code, reason, occurredAt } = event.data;
    const sentApplied = view.timeline.some(isOwnSentEntry);
    const withIds = {
      ...view,
      providerMessageId: sentApplied ? view.providerMessageId : smallest(view.providerMessageId, providerMessageId),
      whatsappMessageId: smallest(view.whatsappMessageId, whatsappMessageId),
      pricing: joinPricing(view.pricing, event.data.pricing && { ...event.data.pricing }),
    };
    if (!retry) return withIds;
    const failure: LastDispatchError = {
      attempt: retry.attempt,
      kind: 'callback',
      httpStatus: null,
      message: [code, reason].filter((part) => part !== undefined).join(': ') || 'failed',
      at: canonicalTime(occurredAt),
      nextAttemptAt: retry.nextAttemptAt === null ? null : canonicalTime(retry.nextAttemptAt),
    };
    return { ...withIds, attempts: Math.max(view.attempts, retry.attempt), lastError: laterError(view.lastError, failure) };
  }
  if (event instanceof WhatsAppMessagePriced) return { ...view, pricing: joinPricing(view.pricing, { ...event.data.pricing, fromBilling: true }) };
  return view;
}

/**
 * Every pricing field any report gave. A billing-event (what Gupshup deducted) outranks the
 * pricing objects of status callbacks, whose fields only fill its gaps; between reports of one
 * rank, billable wins over not, and of two words the greater. So the result does not depend on
 * the order of the reports.
 */
function joinPricing(current: ViewPricing | null, reported: ViewPricing | undefined): ViewPricing | null {
  if (!reported) return current;
  if (!current) return { ...reported };
  if (Boolean(current.fromBilling) !== Boolean(reported.fromBilling)) {
    const [first, second] = current.fromBilling ? [current, reported] : [reported, current];
    return withoutUndefinedFields({
      category: first.category ?? second.category,
      billable: first.billable ?? second.billable,
      model: first.model ?? second.model,
      fromBilling: true,
    });
  }
  return withoutUndefinedFields({
    category: largest(current.category, reported.category),
    billable: current.billable === undefined && reported.billable === undefined ? undefined : current.billable === true || reported.billable === true,
    model: largest(current.model, reported.model),
    fromBilling: current.fromBilling,
  });
}

function withoutUndefinedFields(pricing: ViewPricing): ViewPricing {
  return Object.fromEntries(Object.entries(pricing).filter(([, value]) => value !== undefined)) as ViewPricing;
}

function largest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

/** The event's line in the timeline; none for a pricing report, which is no status. */
function timelineEntryOf(event: WhatsAppMessageEvent): TimelineEntry | null {
  if (event instanceof WhatsAppMessagePriced) return null;
  if (event instanceof WhatsAppMessageQueued) {
    const at = canonicalTime(event.data.queuedAt);
    return { status: 'queued', at, receivedAt: at };
  }
  if (event instanceof WhatsAppMessageSent) {
    const at = canonicalTime(event.data.sentAt);
    return { status: 'sent', at, receivedAt: at };
  }
  if (event instanceof WhatsAppDispatchFailed) {
    const { errorKind, httpStatus, error, failedAt } = event.data;
    const at = canonicalTime(failedAt);
    const code = errorKind === 'http' && httpStatus !== undefined ? `http_${httpStatus}` : errorKind;
    return { status: 'queued', at, receivedAt: at, code, reason: error };
  }
  if (event instanceof WhatsAppDispatchOutcomeUnknown) {
    const { attempt, startedAt, detectedAt } = event.data;
    return {
      status: 'queued',
      at: canonicalTime(startedAt),
      receivedAt: canonicalTime(detectedAt),
      code: 'outcome_unknown',
      reason: outcomeUnknownReason(attempt),
    };
  }
  if (event instanceof DeliveryStatusChanged) {
    const { providerStatus, occurredAt, receivedAt, code, reason } = event.data;
    return {
      status: deliveryStatusOf(event.data),
      providerStatus,
      at: canonicalTime(occurredAt),
      receivedAt: canonicalTime(receivedAt),
      ...(code !== undefined && { code }),
      ...(reason !== undefined && { reason }),
    };
  }
  // What is left of the union is WhatsAppMessageDiscarded.
  const { code, reason, discardedAt } = event.data;
  const at = canonicalTime(discardedAt);
  return { status: 'discarded', at, receivedAt: at, code, reason };
}

function outcomeUnknownReason(attempt: number): string {
  return `Attempt ${attempt} stopped between calling Gupshup and recording its answer; the message is not sent again`;
}

/**
 * Two entries are the same event when a reader could not tell them apart but for receivedAt.
 * For callbacks that is the provider status and its time: one stream holds one message, so the
 * ids a copy carries add nothing (a late v2 receipt without `gsId` is still the same receipt),
 * and a v2 and a v3 copy may word the reason differently.
 */
function sameEvent(a: TimelineEntry, b: TimelineEntry): boolean {
  if (a.providerStatus !== undefined || b.providerStatus !== undefined) {
    return a.providerStatus === b.providerStatus && a.at === b.at;
  }
  return a.status === b.status && a.at === b.at && a.code === b.code && a.reason === b.reason;
}

/** A total order on entries: by time, then status, then the provider's word, then the rest. */
function compareEntries(a: TimelineEntry, b: TimelineEntry): number {
  return (
    compareStrings(a.at, b.at) ||
    statusPrecedence(a.status) - statusPrecedence(b.status) ||
    providerOrder(a.providerStatus) - providerOrder(b.providerStatus) ||
    compareStrings(a.receivedAt, b.receivedAt) ||
    compareStrings(a.code ?? '', b.code ?? '') ||
    compareStrings(a.reason ?? '', b.reason ?? '')
  );
}

/** Own events (no provider word) first, then Gupshup's words in the order they happen. */
function providerOrder(providerStatus: ProviderStatus | undefined): number {
  return providerStatus === undefined ? -1 : PROVIDER_STATUSES.indexOf(providerStatus);
}

/**
 * The timeline with `entry` in its place. Of two copies of one event the smaller in the total
 * order stays: it has the earliest receivedAt, and which copy that is does not depend on order.
 */
function mergeIntoTimeline(timeline: readonly TimelineEntry[], entry: TimelineEntry): readonly TimelineEntry[] {
  const copyIndex = timeline.findIndex((existing) => sameEvent(existing, entry));
  if (copyIndex >= 0) {
    if (compareEntries(timeline[copyIndex], entry) <= 0) return timeline;
    const rest = timeline.filter((_, index) => index !== copyIndex);
    return insertSorted(rest, entry);
  }
  return insertSorted(timeline, entry);
}

function insertSorted(timeline: readonly TimelineEntry[], entry: TimelineEntry): readonly TimelineEntry[] {
  const index = timeline.findIndex((existing) => compareEntries(entry, existing) < 0);
  if (index < 0) return [...timeline, entry];
  return [...timeline.slice(0, index), entry, ...timeline.slice(index)];
}

/** The status and its times, read off the (sorted) timeline. */
function withTimelineDerivedFields(view: MessageView, placed: readonly TimelineEntry[]): MessageView {
  const timeline = withFailuresPlacedInTime(placed);
  const status = strongestStatus(timeline.map((entry) => entry.status));
  const firstOf = (matches: (entry: TimelineEntry) => boolean) => timeline.find(matches) ?? null;
  const sent =
    firstOf(isOwnSentEntry) ??
    firstOf((entry) => entry.providerStatus === 'enqueued' || entry.providerStatus === 'sent');
  const discard = status === 'discarded' ? firstOf((entry) => entry.status === 'discarded') : null;
  return {
    ...view,
    status,
    sentAt: sent?.at ?? null,
    deliveredAt: firstOf((entry) => entry.providerStatus === 'delivered')?.at ?? null,
    seenAt: firstOf((entry) => entry.providerStatus === 'read')?.at ?? null,
    discardedAt: discard?.at ?? null,
    discardReason: discard ? discardReasonOf(discard) : null,
    timeline,
  };
}

/**
 * A final failure's entry shows what the message had reached by the failure's own time: the
 * strongest receipt (delivered, read) at or before it, or `discarded` when there was none. Read
 * off the whole timeline, so the entry is the same whichever of the callbacks came first (the
 * translator's `afterReceipt` only knows what had arrived before the failure).
 */
function withFailuresPlacedInTime(timeline: readonly TimelineEntry[]): readonly TimelineEntry[] {
  let moved = false;
  const placed = timeline.map((entry) => {
    if (entry.providerStatus !== 'failed' || entry.status === 'queued') return entry;
    const reached = strongestReceiptBy(timeline, entry.at);
    const status = reached ?? 'discarded';
    if (status === entry.status) return entry;
    moved = true;
    return { ...entry, status };
  });
  return moved ? [...placed].sort(compareEntries) : timeline;
}

function strongestReceiptBy(timeline: readonly TimelineEntry[], at: string): MessageStatus | undefined {
  let reached: MessageStatus | undefined;
  for (const entry of timeline) {
    if ((entry.providerStatus !== 'delivered' && entry.providerStatus !== 'read') || compareStrings(entry.at, at) > 0) continue;
    if (reached === undefined || statusPrecedence(entry.status) > statusPrecedence(reached)) reached = entry.status;
  }
  return reached;
}

function discardReasonOf(entry: TimelineEntry): DiscardReason {
  return {
    code: entry.code ?? 'unknown',
    reason: entry.reason ?? 'Gupshup reported the message as failed without a reason',
  };
}

function isOwnSentEntry(entry: TimelineEntry): boolean {
  return entry.status === 'sent' && entry.providerStatus === undefined;
}

/** Of the two, the failure of the higher attempt (then the later one): order-independent. */
function laterError(current: LastDispatchError | null, candidate: LastDispatchError): LastDispatchError {
  if (current === null) return candidate;
  const order =
    current.attempt - candidate.attempt ||
    compareStrings(current.at, candidate.at) ||
    compareStrings(current.kind, candidate.kind) ||
    compareStrings(current.message, candidate.message) ||
    (current.httpStatus ?? -1) - (candidate.httpStatus ?? -1) ||
    compareStrings(current.nextAttemptAt ?? '', candidate.nextAttemptAt ?? '');
  return order >= 0 ? current : candidate;
}

/**
 * Of two ids, the smaller: all callbacks of one message normally carry the same id, and should
 * they ever differ this choice does not depend on which arrived first.
 */
function smallest(current: string | null, candidate: string | undefined): string | null {
  if (!candidate) return current;
  if (current === null) return candidate;
  return candidate < current ? candidate : current;
}

function earliest(current: string | null, candidate: string): string {
  return current === null || candidate < current ? candidate : current;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
