import { appendToStreams, type StreamAppend } from '../../event-store';
import type { SqlExecutor } from '../../database/database';
import { messageStreamId, type DeliveryStatusChanged } from '../domain';
import { correlationKeyString, registerWhatsappIds } from './correlations';
import { deliveryEventOf, type ResolvedReport } from './delivery-report';
import { lockProviderKeys, type ProviderKey } from './tracking-locks';

export type AppliedOutcome = 'applied' | 'duplicate';

export interface ApplicationResult {
  /** One per resolved report, in order: whether its event was new. */
  outcomes: AppliedOutcome[];
  /** Every event appended, including those of parked reports this application resolved. */
  appended: DeliveryStatusChanged[];
  /** Waiting reports that were applied because a WhatsApp id they carry became known. */
  unparked: number;
}

/** A WhatsApp id learnt from a report, with the message it belongs to. */
export interface LearnedWhatsappId extends ProviderKey {
  messageId: string;
  gupshupMessageId?: string;
}

/**
 * Keeps each WhatsApp id these reports carry as a second key of their message, for later
 * receipts without gsId (the first message to claim an id keeps it), and takes back, resolved,
 * the reports that were parked waiting for exactly one of the ids that are new. Takes the ids'
 * locks if the caller does not hold them yet.
 */
export async function learnWhatsappIds(
  tx: SqlExecutor,
  resolved: readonly ResolvedReport[],
  heldLocks: Set<bigint>,
): Promise<{ newlyKnown: LearnedWhatsappId[]; unparked: ResolvedReport[] }> {
  const learned = new Map<string, LearnedWhatsappId>();
  for (const item of resolved) {
    const whatsappId = item.report.whatsappMessageId;
    if (!whatsappId) continue;
    const key: ProviderKey = { appId: item.appId, kind: 'whatsapp', providerId: whatsappId };
    const id = correlationKeyString(key);
    if (!learned.has(id)) learned.set(id, { ...key, messageId: item.messageId, gupshupMessageId: item.report.gupshupMessageId ?? item.gupshupMessageId });
  }
  if (learned.size === 0) return { newlyKnown: [], unparked: [] };
  await lockProviderKeys(tx, learned.values(), heldLocks);
  const { registered, unparked } = await registerWhatsappIds(tx, [...learned.values()]);
  const newlyKnown = [...learned.entries()].filter(([id]) => registered.has(id)).map(([, entry]) => entry);
  const owners = new Map(newlyKnown.map((entry) => [`${entry.appId}\u0000${entry.providerId}`, entry]));
  return {
    newlyKnown,
    unparked: unparked.map((parked) => {
      const owner = owners.get(`${parked.appId}\u0000${parked.report.whatsappMessageId}`)!;
      return { appId: parked.appId, messageId: owner.messageId, gupshupMessageId: owner.gupshupMessageId, report: parked.report, receivedAt: parked.receivedAt };
    }),
  };
}

/** The appends that store reports as events, and how to read the store's answer back per report. */
export interface ReportAppendPlan {
  appends: StreamAppend[];
  /** Per report, whether its event was new, and the events appended, from the ids the store skipped. */
  outcome(alreadyStored: Set<string>): { isNew: boolean[]; appended: DeliveryStatusChanged[] };
}

/**
 * One DeliveryStatusChanged per report, grouped by its message's stream; copies of an event
 * twice in these reports are appended once (the store skips those it already has).
 */
export function planReportAppend(reports: readonly ResolvedReport[]): ReportAppendPlan {
  const events = reports.map(deliveryEventOf);
  const firstCopies: DeliveryStatusChanged[] = [];
  const seen = new Set<string>();
  const isFirstCopy = events.map((event) => {
    if (seen.has(event.eventId)) return false;
    seen.add(event.eventId);
    firstCopies.push(event);
    return true;
  });
  const byStream = new Map<string, DeliveryStatusChanged[]>();
  for (const event of firstCopies) {
    const streamId = messageStreamId(event.data.messageId);
    const list = byStream.get(streamId);
    if (list) list.push(event);
    else byStream.set(streamId, [event]);
  }
  return {
    appends: [...byStream].map(([streamId, events]) => ({ streamId, events })),
    outcome: (alreadyStored) => ({
      isNew: events.map((event, index) => isFirstCopy[index] && !alreadyStored.has(event.eventId)),
      appended: firstCopies.filter((event) => !alreadyStored.has(event.eventId)),
    }),
  };
}

/**
 * Appends one DeliveryStatusChanged per report to its message's stream; copies of an event
 * already stored (or twice in this call) are left out. Returns, per report, whether it was new.
 */
export async function appendReports(tx: SqlExecutor, reports: readonly ResolvedReport[]): Promise<{ isNew: boolean[]; appended: DeliveryStatusChanged[] }> {
  if (reports.length === 0) return { isNew: [], appended: [] };
  const plan = planReportAppend(reports);
  const { alreadyStored } = await appendToStreams(tx, plan.appends);
  return plan.outcome(alreadyStored);
}

/**
 * Turns reports whose message is known into DeliveryStatusChanged events, in the caller's
 * transaction, learning the WhatsApp ids they carry and applying what was parked waiting for them.
 */
export async function applyResolvedReports(tx: SqlExecutor, resolved: readonly ResolvedReport[], heldLocks: Set<bigint>): Promise<ApplicationResult> {
  const { unparked } = await learnWhatsappIds(tx, resolved, heldLocks);
  const { isNew, appended } = await appendReports(tx, [...resolved, ...unparked]);
  return { outcomes: resolved.map((_, index) => (isNew[index] ? 'applied' : 'duplicate')), appended, unparked: unparked.length };
}
