import { mapInSlices } from '../../../common/event-loop-slices';
import type { SqlExecutor } from '../../../database/database';
import { appendToStreams, eventTypeOf, readStreamsOfTypes, streamTypeOf, type StoreEvent, type StreamAppend } from '../../../event-store';
import {
  DELIVERY_EVENT_NAMESPACE,
  DeliveryFailureOvertaken,
  DeliveryStatusChanged,
  messageStreamId,
  uuidV5,
  type DeliveryStatusChangedData,
  type FailedCallbackRetry,
  type ReceiptStatus,
  type WhatsAppMessagePriced,
  type WhatsAppMessageSent,
} from '../../domain';
import type { FailedCallback, ReceiptAfterFailure } from '../../sending';
import { parseBillingReports, parseGupshupCallback, type DeliveryReport } from '../../gupshup/callback-parser';
import { billingKey, billingKeyString, parkBillingReports, pricedEvent, repeatedPricings, takeBillingReports, type BillingItem } from './billing-reports';
import {
  forgetPartsNoLongerParked,
  parkReports,
  recordInvalidCallbacks,
  takeParkedByGupshupIds,
  takeParkedByWhatsappIds,
  type InvalidCallback,
  type ParkedReport,
  type ReportToPark,
} from '../parking/parked-callbacks';
import { callbackShape } from '../receiving/callback-body';
import { recordedBody, type GupshupCallbackReceivedData } from '../receiving/gupshup-callback-received.event';
import type { CallbackFormatLabel, CallbackOutcome } from '../tracking.metrics';
import { correlationKeyString, findCorrelations, registerCorrelations, type Correlation, type ProviderKey } from './correlations';
import { checkReport, deliveryEventOf, type ResolvedReport } from './delivery-report';
import {
  claimLostDispatch,
  destinationDigits,
  dispatchesNamedBy,
  forgetStaleDispatches,
  forgetUnresolvedDispatches,
  gupshupIdWaitingFor,
  recordUnresolvedDispatch,
  RECONCILING_STATUSES,
  type UnresolvedDispatch,
} from './lost-dispatches';

/** One entry of the log the translator reads, in log order. */
export type TranslatorInput =
  | { kind: 'callback'; eventId: string; data: GupshupCallbackReceivedData }
  | { kind: 'sent'; appId: string; messageId: string; gupshupMessageId: string }
  | { kind: 'lost'; dispatch: UnresolvedDispatch | null };

/** The ids a report names its message by, as log fields (only those it has). */
export interface ReportIds {
  gupshupMessageId?: string;
  whatsappMessageId?: string;
  destination?: string;
}

/** A report that waited parked and is now applied to its message. */
export interface AppliedFromParking extends ReportIds {
  appId: string;
  messageId: string;
  /** Its raw callback; null for rows parked before callbacks were recorded raw. */
  callbackEventId: string | null;
  providerStatus: string;
  receivedAt: Date;
}

/** What a batch did, for metrics and logs. */
export interface TranslationResult {
  /** One per report (a parked one with the ids it names its message by), ignored or invalid body. */
  outcomes: ({ format: CallbackFormatLabel; kind: string; outcome: CallbackOutcome; appId: string; callbackEventId: string; problem?: string } & ReportIds)[];
  appended: DeliveryStatusChanged[];
  unparked: number;
  /** The parked reports this batch took back and applied, one each. */
  appliedFromParking: AppliedFromParking[];
  reconciled: { appId: string; messageId: string; gupshupMessageId: string }[];
  /** `failed` reports received after their message's delivered or read receipt: recorded (marked `afterReceipt`), not tried again. */
  failuresAfterReceipt: ResolvedReport[];
  /** First receipts of messages, recorded in this batch, that came after a failure had discarded the message or sent it back. */
  receiptsAfterFailures: ReceiptAfterFailure[];
}

type Outcome = TranslationResult['outcomes'][number];

/**
 * What sending decides about `failed` reports before they are stored, in the same transaction:
 * per failure, the retry that makes it one try of several, or undefined when it ends the message.
 */
export type FailureDecider = (tx: SqlExecutor, failures: readonly FailedCallback[]) => Promise<(FailedCallbackRetry | undefined)[]>;

/** A report of a recorded callback, with where it came from and the outcome it is counted under. */
interface ReportItem extends ReportToPark {
  outcome: Outcome;
}

/** A billing report of a recorded callback, with the outcome it is counted under. */
interface BillingOutcomeItem extends BillingItem {
  outcome: Outcome;
}

function lookupKey(appId: string, report: DeliveryReport): ProviderKey {
  return report.gupshupMessageId
    ? { appId, kind: 'gupshup', providerId: report.gupshupMessageId }
    : { appId, kind: 'whatsapp', providerId: report.whatsappMessageId! };
}

/** The kind named by the parser's description of an ignored callback, e.g. "v2 user-event sandbox-start" → user-event. */
function ignoredKind(what: string): string {
  const words = what.split(/[ ,]+/);
  if (words[1] === 'message-event') return words[2] ?? 'other';
  if (words[0] === 'v3' && words[1] === 'messages') return 'message';
  return words[1] ?? 'other';
}

/**
 * Translates one batch of the log, in the caller's transaction (the one that moves the
 * translator's checkpoint): recorded callbacks are parsed and checked; the Gupshup ids of sent
 * messages are registered; every report whose message is known becomes a DeliveryStatusChanged
 * (deterministic id: translating the same callback again stores nothing twice); WhatsApp ids
 * are learnt from the reports that carry both ids; what names no known message is parked and
 * applied once its id is learnt; lost dispatches are reconciled from authenticated callbacks.
 *
 * The translator is the only writer of correlations and parked callbacks and reads the log in
 * order, so nothing here needs a lock: whatever a batch reads was written by earlier batches.
 * Within a batch, the sends are registered before the callbacks are looked up, and reports are
 * parked before the ids they teach are applied, so the outcome does not depend on where the log
 * was cut into batches.
 */
export async function translateBatch(
  tx: SqlExecutor,
  inputs: readonly TranslatorInput[],
  decideFailures?: FailureDecider,
  options: { replay?: boolean } = {},
): Promise<TranslationResult> {
  const result: TranslationResult = { outcomes: [], appended: [], unparked: 0, appliedFromParking: [], reconciled: [], failuresAfterReceipt: [], receiptsAfterFailures: [] };
  const items: ReportItem[] = [];
  const invalid: InvalidCallback[] = [];
  const sent: { appId: string; messageId: string; gupshupMessageId: string }[] = [];
  const lost: UnresolvedDispatch[] = [];
  const billing: BillingOutcomeItem[] = [];

  await mapInSlices(inputs, (input) => {
    if (input.kind === 'sent') sent.push(input);
    else if (input.kind === 'lost') {
      if (input.dispatch) lost.push(input.dispatch);
    } else {
      const billed = readBilling(input.eventId, input.data, result);
      readCallback(input.eventId, input.data, billed.length, items, invalid, result);
      billing.push(...billed);
    }
  });

  // Sends first: a callback of this batch for a message whose send is in it too is applied at once.
  await registerCorrelations(tx, sent.map((s) => ({ appId: s.appId, kind: 'gupshup', providerId: s.gupshupMessageId, messageId: s.messageId })));
  await forgetUnresolvedDispatches(tx, sent.map((s) => s.messageId));

  const resolved: ResolvedReport[] = [];
  const found = await findCorrelations(tx, items.map((item) => lookupKey(item.appId, item.report)));
  await readAmbiguousIdsAsWhatsapps(tx, items, found);
  const toPark: ReportToPark[] = [];
  /** Per item, its place in `resolved`, or -1 when it is parked. */
  const resolvedAt = items.map((item) => {
    const correlation = found.get(correlationKeyString(lookupKey(item.appId, item.report)));
    if (!correlation) {
      toPark.push(item);
      return -1;
    }
    resolved.push({ appId: item.appId, messageId: correlation.messageId, gupshupMessageId: correlation.gupshupMessageId, report: item.report, receivedAt: item.receivedAt });
    return resolved.length - 1;
  });
  // Read before (the translator was rewound): what an earlier reading parked and this one does not goes.
  if (options.replay) {
    const callbackEventIds = inputs.flatMap((input) => (input.kind === 'callback' ? [input.eventId] : []));
    await forgetPartsNoLongerParked(tx, callbackEventIds, [...toPark, ...invalid]);
  }
  await parkReports(tx, toPark);
  await recordInvalidCallbacks(tx, invalid);

  // What waited for the sends of this batch.
  const owners = await findCorrelations(tx, sent.map((s) => ({ appId: s.appId, kind: 'gupshup', providerId: s.gupshupMessageId })));
  const unparked = await takeParkedByGupshupIds(tx, sent.map((s) => ({ appId: s.appId, providerId: s.gupshupMessageId })));
  resolved.push(...resolveParked(unparked, (p) => owners.get(correlationKeyString(lookupKey(p.appId, p.report))), result));
  result.unparked += unparked.length;

  // Billing-events: priced on their message, or kept until its send is read.
  const priced: WhatsAppMessagePriced[] = [];
  /** The priced event of each billing report of this batch's callbacks whose message is known. */
  const pricedOf = new Map<BillingOutcomeItem, WhatsAppMessagePriced>();
  const billingOwners = await findCorrelations(tx, billing.map(billingKey));
  await parkBillingReports(
    tx,
    billing.filter((item) => {
      const owner = billingOwners.get(billingKeyString(item));
      if (owner) {
        const event = pricedEvent(item, owner.messageId);
        priced.push(event);
        pricedOf.set(item, event);
      }
      return !owner;
    }),
  );
  for (const item of await takeBillingReports(tx, sent.map((s) => ({ appId: s.appId, gupshupMessageId: s.gupshupMessageId })))) {
    const owner = owners.get(billingKeyString(item));
    if (owner) priced.push(pricedEvent(item, owner.messageId));
  }

  // Lost dispatches: those recorded in this batch against what is parked, what was parked in this
  // batch against those recorded before. Only authenticated callbacks count as evidence.
  const sentEvents: WhatsAppMessageSent[] = [];
  if (lost.length > 0) await forgetStaleDispatches(tx);
  const settle = async (dispatch: UnresolvedDispatch, gupshupMessageId: string) => {
    const event = await claimLostDispatch(tx, dispatch, gupshupMessageId);
    if (!event) return;
    sentEvents.push(event);
    result.reconciled.push({ appId: dispatch.appId, messageId: dispatch.messageId, gupshupMessageId });
    await registerCorrelations(tx, [{ appId: dispatch.appId, kind: 'gupshup', providerId: gupshupMessageId, messageId: dispatch.messageId }]);
    const waiting = await takeParkedByGupshupIds(tx, [{ appId: dispatch.appId, providerId: gupshupMessageId }]);
    result.unparked += waiting.length;
    resolved.push(...resolveParked(waiting, () => ({ messageId: dispatch.messageId, gupshupMessageId }), result));
    for (const item of await takeBillingReports(tx, [{ appId: dispatch.appId, gupshupMessageId }])) priced.push(pricedEvent(item, dispatch.messageId));
  };
  for (const dispatch of lost) {
    await recordUnresolvedDispatch(tx, dispatch);
    const gupshupMessageId = await gupshupIdWaitingFor(tx, dispatch);
    if (gupshupMessageId) await settle(dispatch, gupshupMessageId);
  }
  const evidence = toPark
    .filter((p) => p.authenticated && p.report.gupshupMessageId && p.report.destination && RECONCILING_STATUSES.has(p.report.providerStatus))
    .map((p) => ({ appId: p.appId, gupshupMessageId: p.report.gupshupMessageId!, destination: destinationDigits(p.report.destination!), occurredAt: p.report.occurredAt }));
  for (const match of await dispatchesNamedBy(tx, evidence)) await settle(match.dispatch, match.gupshupMessageId);

  // WhatsApp ids learnt from reports that carry both ids (the first message to claim one keeps
  // it), and the reports that waited with only that id; applying those may teach more.
  let learning = resolved;
  while (learning.length > 0) {
    const taught = new Map<string, ProviderKey & { messageId: string; gupshupMessageId?: string }>();
    for (const item of learning) {
      const whatsappId = item.report.whatsappMessageId;
      if (!whatsappId) continue;
      const key: ProviderKey = { appId: item.appId, kind: 'whatsapp', providerId: whatsappId };
      const id = correlationKeyString(key);
      if (!taught.has(id)) taught.set(id, { ...key, messageId: item.messageId, gupshupMessageId: item.report.gupshupMessageId ?? item.gupshupMessageId });
    }
    const registered = await registerCorrelations(tx, [...taught.values()]);
    const learnt = [...taught.entries()].filter(([id]) => registered.has(id)).map(([, entry]) => entry);
    const waiting = await takeParkedByWhatsappIds(tx, learnt);
    result.unparked += waiting.length;
    const byId = new Map(learnt.map((entry) => [correlationKeyString(entry), entry]));
    learning = resolveParked(waiting, (p) => byId.get(correlationKeyString(lookupKey(p.appId, p.report))), result);
    resolved.push(...learning);
  }

  result.failuresAfterReceipt = await markRetriedFailures(tx, resolved, decideFailures);
  // A billing report that repeats its message's pricing is not stored again (the same callback read again is found stored).
  const repeated = await repeatedPricings(tx, priced);
  const { isNew, alreadyStored } = await appendReports(tx, resolved, [...sentEvents, ...priced.filter((event) => !repeated.has(event.eventId))], result);
  for (const item of billing) {
    const event = pricedOf.get(item);
    item.outcome.outcome = !event ? 'parked' : repeated.has(event.eventId) || alreadyStored.has(event.eventId) ? 'duplicate' : 'applied';
  }
  result.receiptsAfterFailures = await receiptsAfterFailures(tx, result.appended);
  await appendToStreams(
    tx,
    result.receiptsAfterFailures.map((overtaken) => ({
      streamId: messageStreamId(overtaken.messageId),
      events: [new DeliveryFailureOvertaken(overtaken, uuidV5(`${overtaken.receipt.eventId}:overtakes`, DELIVERY_EVENT_NAMESPACE))],
    })),
  );
  items.forEach((item, index) => {
    const at = resolvedAt[index];
    // A failure after the receipt is kept, not applied: it changes no status.
    item.outcome.outcome = at < 0 ? 'parked' : !isNew[at] ? 'duplicate' : resolved[at].afterReceipt ? 'after_receipt' : 'applied';
  });
  return result;
}

/**
 * Reports whose Gupshup id may be WhatsApp's (a v2 `failed` without gsId) and names no message
 * sent: looked up again by WhatsApp id, and where that names a message, read as WhatsApp's id
 * from then on (in place; `found` gains their correlations).
 */
async function readAmbiguousIdsAsWhatsapps(tx: SqlExecutor, items: ReportItem[], found: Map<string, Correlation>): Promise<void> {
  const ambiguous = items.filter((item) => item.report.gupshupIdMayBeWhatsapps && !found.has(correlationKeyString(lookupKey(item.appId, item.report))));
  if (ambiguous.length === 0) return;
  const asWhatsapp = (item: ReportItem): ProviderKey => ({ appId: item.appId, kind: 'whatsapp', providerId: item.report.gupshupMessageId! });
  const byWhatsappId = await findCorrelations(tx, ambiguous.map(asWhatsapp));
  for (const item of ambiguous) {
    const key = correlationKeyString(asWhatsapp(item));
    const correlation = byWhatsappId.get(key);
    if (!correlation) continue;
    const { gupshupMessageId, gupshupIdMayBeWhatsapps: _, ...rest } = item.report;
    item.report = { ...rest, whatsappMessageId: gupshupMessageId };
    found.set(key, correlation);
  }
}

/**
 * Gives each `failed` report that sending sends back to the queue its `retry`, in place. A failure
 * received after the message's delivered or read receipt goes to sending not at all (GUPSHUP.md
 * §2.8): the message reached the phone, and sending it again would deliver it twice; it is only
 * recorded, marked `afterReceipt` with the status the receipt gave (so neither its timeline entry
 * nor the counters call it a discard), and its status stays where the receipt put it. Returns
 * those failures.
 */
async function markRetriedFailures(tx: SqlExecutor, resolved: ResolvedReport[], decideFailures: FailureDecider | undefined): Promise<ResolvedReport[]> {
  const failed = resolved.flatMap((item, index) => (item.report.providerStatus === 'failed' ? [index] : []));
  if (failed.length === 0) return [];
  const receipts = await phoneReceipts(tx, resolved, failed);
  const afterReceipt: number[] = [];
  const toDecide: number[] = [];
  for (const index of failed) {
    const { messageId, receivedAt } = resolved[index];
    const before = (receipts.get(messageId) ?? []).filter((receipt) => receipt.receivedAtMs <= receivedAt.getTime());
    if (before.length === 0) {
      toDecide.push(index);
      continue;
    }
    resolved[index] = { ...resolved[index], afterReceipt: before.some((receipt) => receipt.status === 'seen') ? 'seen' : 'delivered' };
    afterReceipt.push(index);
  }
  const retries = toDecide.length === 0 || !decideFailures ? [] : await decideFailures(
    tx,
    toDecide.map((index) => {
      const { appId, messageId, report, gupshupMessageId } = resolved[index];
      const about = report.gupshupMessageId ?? gupshupMessageId;
      return { appId, messageId, ...(about !== undefined && { gupshupMessageId: about }), ...(report.code !== undefined && { code: report.code }), ...(report.reason !== undefined && { reason: report.reason }) };
    }),
  );
  toDecide.forEach((index, k) => {
    const retry = retries[k];
    if (retry) resolved[index] = { ...resolved[index], retry };
  });
  return afterReceipt.map((index) => resolved[index]);
}

const RECEIPT_STATUSES: Readonly<Partial<Record<string, ReceiptStatus>>> = { delivered: 'delivered', read: 'seen' };

/** The delivered and read receipts (when received, what status) of the messages of these failures, from their streams and this batch. */
async function phoneReceipts(tx: SqlExecutor, resolved: readonly ResolvedReport[], failed: readonly number[]): Promise<Map<string, { receivedAtMs: number; status: ReceiptStatus }[]>> {
  const messageIds = new Set(failed.map((index) => resolved[index].messageId));
  const receipts = new Map<string, { receivedAtMs: number; status: ReceiptStatus }[]>();
  const note = (messageId: string, providerStatus: string, receivedAtMs: number) => {
    const status = RECEIPT_STATUSES[providerStatus];
    if (!status) return;
    const list = receipts.get(messageId);
    if (list) list.push({ receivedAtMs, status });
    else receipts.set(messageId, [{ receivedAtMs, status }]);
  };
  const stored = await readStreamsOfTypes(tx, [...messageIds].map(messageStreamId), [eventTypeOf(DeliveryStatusChanged).type]);
  for (const event of stored) {
    const data = event.data as unknown as DeliveryStatusChangedData;
    note(data.messageId, data.providerStatus, Date.parse(data.receivedAt));
  }
  for (const item of resolved) {
    if (messageIds.has(item.messageId)) note(item.messageId, item.report.providerStatus, item.receivedAt.getTime());
  }
  return receipts;
}

const FAILED_DELIVERY_EVENT_TYPE = eventTypeOf(DeliveryStatusChanged).type;

/**
 * The new receipts that are their message's first and came after a failed callback about the same
 * attempt (the same Gupshup id) that ended the message or sent it back: one per message, its
 * earliest-dated such receipt against the latest-dated failure. A receipt of a later attempt,
 * after a failure that sent the message back, is the retry working, not this. One statement for
 * the messages of the new receipts, and a second for those of them that had a failure.
 */
async function receiptsAfterFailures(tx: SqlExecutor, appended: readonly DeliveryStatusChanged[]): Promise<ReceiptAfterFailure[]> {
  const receipts = appended.filter((event) => RECEIPT_STATUSES[event.data.providerStatus] !== undefined);
  if (receipts.length === 0) return [];
  const newIds = new Set(receipts.map((event) => event.eventId));
  const streamIds = [...new Set(receipts.map((event) => messageStreamId(event.data.messageId)))];
  // Most messages never failed: their failures first, through the small index of failures only
  // (1764003100000-FailedDeliveryIndex, whose predicate the literals here must match), then the
  // receipts of the few streams that had one. The streams' type names their partition.
  const failedStreams = await tx.query<{ stream_id: string }>(
    `SELECT DISTINCT e.stream_id FROM es_events e
      WHERE split_part(e.stream_id, '-', 1) = $2 AND e.stream_id = ANY ($1::text[])
        AND e.event_type = '${FAILED_DELIVERY_EVENT_TYPE}' AND (e.data->>'providerStatus') = 'failed'`,
    [streamIds, streamTypeOf(streamIds[0])],
  );
  if (failedStreams.length === 0) return [];
  const rows = await tx.query<{ event_id: string; data: DeliveryStatusChangedData }>(
    `SELECT e.event_id, e.data FROM es_events e
      WHERE split_part(e.stream_id, '-', 1) = $3 AND e.stream_id = ANY ($1::text[]) AND e.event_type = $2
        AND e.data->>'providerStatus' IN ('failed', 'delivered', 'read')`,
    [failedStreams.map((row) => row.stream_id), eventTypeOf(DeliveryStatusChanged).type, streamTypeOf(streamIds[0])],
  );
  const byMessage = new Map<string, { earlierReceipt: boolean; failures: Map<string, DeliveryStatusChangedData> }>();
  for (const { event_id: eventId, data } of rows) {
    const seen = byMessage.get(data.messageId) ?? { earlierReceipt: false, failures: new Map() };
    byMessage.set(data.messageId, seen);
    if (data.providerStatus !== 'failed') {
      if (!newIds.has(eventId)) seen.earlierReceipt = true;
    } else if (!data.afterReceipt && data.providerMessageId !== undefined) {
      const latest = seen.failures.get(data.providerMessageId);
      if (!latest || data.occurredAt > latest.occurredAt) seen.failures.set(data.providerMessageId, data);
    }
  }
  const found = new Map<string, ReceiptAfterFailure>();
  for (const { eventId, data } of receipts) {
    const seen = byMessage.get(data.messageId);
    const failure = data.providerMessageId === undefined ? undefined : seen?.failures.get(data.providerMessageId);
    if (!seen || !failure || seen.earlierReceipt) continue;
    const current = found.get(data.messageId);
    if (current && current.receipt.occurredAt <= data.occurredAt) continue;
    found.set(data.messageId, {
      appId: data.appId,
      messageId: data.messageId,
      receipt: {
        eventId,
        providerStatus: data.providerStatus === 'read' ? 'read' : 'delivered',
        occurredAt: data.occurredAt,
        receivedAt: data.receivedAt,
        ...(data.providerMessageId !== undefined && { gupshupMessageId: data.providerMessageId }),
      },
      failure: {
        ...(failure.code !== undefined && { code: failure.code }),
        occurredAt: failure.occurredAt,
        receivedAt: failure.receivedAt,
        retried: failure.retry !== undefined,
        ...(failure.providerMessageId !== undefined && { gupshupMessageId: failure.providerMessageId }),
      },
    });
  }
  return [...found.values()];
}

/** The parked reports whose message is known, as resolved reports; each is noted in `result.appliedFromParking` for its log line. */
function resolveParked(
  parked: readonly ParkedReport[],
  ownerOf: (parked: ParkedReport) => { messageId: string; gupshupMessageId?: string } | undefined,
  result: TranslationResult,
): ResolvedReport[] {
  const resolved: ResolvedReport[] = [];
  for (const p of parked) {
    const owner = ownerOf(p);
    if (!owner) continue;
    resolved.push({ appId: p.appId, messageId: owner.messageId, gupshupMessageId: p.report.gupshupMessageId ?? owner.gupshupMessageId, report: p.report, receivedAt: p.receivedAt });
    result.appliedFromParking.push({
      appId: p.appId,
      messageId: owner.messageId,
      callbackEventId: p.callbackEventId,
      providerStatus: p.report.providerStatus,
      ...reportIds(p.report),
      receivedAt: p.receivedAt,
    });
  }
  return resolved;
}

/** The ids a report names its message by, without the absent ones. */
function reportIds(report: DeliveryReport): ReportIds {
  return {
    ...(report.gupshupMessageId !== undefined && { gupshupMessageId: report.gupshupMessageId }),
    ...(report.whatsappMessageId !== undefined && { whatsappMessageId: report.whatsappMessageId }),
    ...(report.destination !== undefined && { destination: report.destination }),
  };
}

/** The billing reports of one recorded callback, each counted (as parked until translateBatch knows better). */
function readBilling(eventId: string, data: GupshupCallbackReceivedData, result: TranslationResult): BillingOutcomeItem[] {
  const receivedAt = new Date(data.receivedAt);
  const format: CallbackFormatLabel = callbackShape(recordedBody(data));
  return parseBillingReports(recordedBody(data), receivedAt).map((report, partIndex) => {
    const outcome: Outcome = { format, kind: 'billing-event', outcome: 'parked', appId: data.appId, callbackEventId: eventId };
    result.outcomes.push(outcome);
    return { ...report, appId: data.appId, callbackEventId: eventId, partIndex, receivedAt, outcome };
  });
}

/**
 * Parses one recorded callback into report items and invalid parts, counting what it holds.
 * `billingParts` is how many billing reports it also holds: those are applied (or wait) elsewhere,
 * so they count among the parts that keep its raw event from expiring with what it left parked.
 */
function readCallback(
  eventId: string,
  data: GupshupCallbackReceivedData,
  billingParts: number,
  items: ReportItem[],
  invalid: InvalidCallback[],
  result: TranslationResult,
): void {
  const body = recordedBody(data);
  const receivedAt = new Date(data.receivedAt);
  const format: CallbackFormatLabel = callbackShape(body);
  const parsed = parseGupshupCallback(body, receivedAt);
  const part = { appId: data.appId, callbackEventId: eventId, authenticated: data.authenticated, receivedAt };
  if (parsed.kind === 'ignored') {
    // A billing-event is counted by its reports (readBilling), not as ignored.
    if (billingParts === 0) result.outcomes.push({ format, kind: ignoredKind(parsed.what), outcome: 'ignored', appId: data.appId, callbackEventId: eventId });
    // Kept only for the retention period, like what could not be applied.
    invalid.push({ ...part, partIndex: -1, unappliedParts: 1 + billingParts, problem: parsed.what, state: 'ignored' });
    return;
  }
  const problems: string[] = parsed.kind === 'invalid' ? [parsed.message] : [...(parsed.skipped ?? [])];
  const reports: ReportItem[] = [];
  if (parsed.kind === 'delivery') {
    parsed.reports.forEach((report, index) => {
      const checked = checkReport(report, receivedAt);
      if (!checked.ok) return problems.push(checked.problem);
      // Counted as parked until translateBatch knows better; the ids tie a parked line to its message later.
      const outcome: Outcome = {
        format: checked.report.format,
        kind: checked.report.providerStatus,
        outcome: 'parked',
        appId: data.appId,
        callbackEventId: eventId,
        ...reportIds(checked.report),
      };
      result.outcomes.push(outcome);
      reports.push({ ...part, partIndex: index, unappliedParts: 0, report: checked.report, outcome });
    });
  }
  items.push(...reports);
  if (problems.length > 0) {
    const problem = problems.join('; ');
    invalid.push({ ...part, partIndex: -1, unappliedParts: 0, problem });
    result.outcomes.push({ format, kind: 'invalid', outcome: 'invalid', appId: data.appId, callbackEventId: eventId, problem });
  }
  // How many rows the callback could leave parked, for the expiry: a callback is "never applied"
  // only when all of them expire.
  const parts = reports.length + (problems.length > 0 ? 1 : 0) + billingParts;
  for (const item of reports) item.unappliedParts = parts;
  if (problems.length > 0) invalid[invalid.length - 1].unappliedParts = parts;
}

/**
 * Appends the reconciled sends and billing reports, and one DeliveryStatusChanged per resolved
 * report, to their messages' streams, in one statement; copies of an event (in this batch, or
 * stored before) are stored once. Returns, per resolved report, whether its event was new, and
 * the ids of the events found stored before.
 */
async function appendReports(
  tx: SqlExecutor,
  resolved: readonly ResolvedReport[],
  otherEvents: readonly (WhatsAppMessageSent | WhatsAppMessagePriced)[],
  result: TranslationResult,
): Promise<{ isNew: boolean[]; alreadyStored: ReadonlySet<string> }> {
  const events = await mapInSlices(resolved, (report) => deliveryEventOf(report));
  const byStream = new Map<string, StoreEvent<object>[]>();
  const add = (messageId: string, event: StoreEvent<object>) => {
    const streamId = messageStreamId(messageId);
    const list = byStream.get(streamId);
    if (list) list.push(event);
    else byStream.set(streamId, [event]);
  };
  for (const event of otherEvents) add(event.data.messageId, event);
  const firstCopies = new Map<string, DeliveryStatusChanged>();
  const isFirstCopy = events.map((event) => {
    if (firstCopies.has(event.eventId)) return false;
    firstCopies.set(event.eventId, event);
    add(event.data.messageId, event);
    return true;
  });
  if (byStream.size === 0) return { isNew: [], alreadyStored: new Set() };
  const appends: StreamAppend[] = [...byStream].map(([streamId, list]) => ({ streamId, events: list }));
  const { alreadyStored } = await appendToStreams(tx, appends);
  result.appended.push(...[...firstCopies.values()].filter((event) => !alreadyStored.has(event.eventId)));
  return { isNew: events.map((event, index) => isFirstCopy[index] && !alreadyStored.has(event.eventId)), alreadyStored };
}
