import { isRetryableTransactionError, type SqlExecutor } from '../../database/database';
import { appendManyArguments, readAppendManyRow, type AppendManyRow } from '../../event-store';
import type { DeliveryStatusChanged } from '../domain';
import type { DeliveryReport } from '../gupshup/callback-parser';
import { correlationKeyString, findCorrelations, type Correlation } from './correlations';
import type { ResolvedReport } from './delivery-report';
import { reconcileLostDispatches, type LostDispatchSettler } from './dispatch-reconciliation';
import { parkReports, recordInvalidCallbacks, type ReportToPark } from './parked-callbacks';
import { appendReports, learnWhatsappIds, planReportAppend } from './report-application';
import { lockProviderKeys, providerLockKey, type ProviderKey } from './tracking-locks';

/** One callback request of one app, checked and ready to be written. */
export interface CallbackSubmission {
  appId: string;
  receivedAt: Date;
  /** The body as received, kept with anything parked or invalid. */
  rawBody: string;
  /** Came with the app's callback token: only then may it settle a dispatch whose outcome is unknown. */
  authenticated: boolean;
  /** The delivery reports it holds, each checked by checkReport. */
  reports: DeliveryReport[];
  /** What could not be read in it; recorded once, as an invalid callback, when not empty. */
  problems: string[];
}

export type ReportOutcome = 'applied' | 'duplicate' | 'parked';

export interface SubmissionResult {
  /** One per report of the submission, in order. */
  outcomes: ReportOutcome[];
}

export interface BatchResult {
  results: SubmissionResult[];
  /** DeliveryStatusChanged events appended by the batch (with those of reports it unparked). */
  appended: DeliveryStatusChanged[];
  unparked: number;
  /** Messages whose lost dispatch answer a callback of the batch reconciled. */
  reconciled: number;
}

interface BatchItem {
  submission: number;
  index: number;
  appId: string;
  report: DeliveryReport;
  receivedAt: Date;
  rawBody: string;
}

/** The id a report is looked up by (GUPSHUP.md §2.7): Gupshup's when it has one, else WhatsApp's. */
function lookupKey(item: BatchItem): ProviderKey {
  return item.report.gupshupMessageId
    ? { appId: item.appId, kind: 'gupshup', providerId: item.report.gupshupMessageId }
    : { appId: item.appId, kind: 'whatsapp', providerId: item.report.whatsappMessageId! };
}

/** The batch's reports, each with where it came from. */
function batchItems(submissions: readonly CallbackSubmission[]): BatchItem[] {
  return submissions.flatMap((submission, submissionIndex) =>
    submission.reports.map((report, index) => ({
      submission: submissionIndex,
      index,
      appId: submission.appId,
      report,
      receivedAt: submission.receivedAt,
      rawBody: submission.rawBody,
    })),
  );
}

/** SQLSTATE of tracking_append_reports when reports wait for an id the batch registers. */
const REPORTS_WAITING_FOR_BATCH = 'TRK01';

/**
 * The common case in one statement: when every report of the batch names a message already
 * known and nothing in it is unreadable, it is stored by tracking_append_reports on its own
 * (autocommit), after one lookup outside any transaction. A correlation, once written, never
 * changes, so what the lookup found still holds when the statement runs; the locks matter only
 * for the WhatsApp ids the batch registers, and the statement takes them.
 *
 * Returns null, having written nothing, when the batch needs writeCallbackBatch: a report to
 * park, an unreadable part, or a parked report waiting for an id the batch teaches.
 */
export async function writeKnownCallbackBatch(db: SqlExecutor, submissions: readonly CallbackSubmission[]): Promise<BatchResult | null> {
  if (submissions.some((submission) => submission.problems.length > 0)) return null;
  const items = batchItems(submissions);
  const results: SubmissionResult[] = submissions.map((submission) => ({ outcomes: submission.reports.map(() => 'parked' as ReportOutcome) }));
  if (items.length === 0) return { results, appended: [], unparked: 0, reconciled: 0 };

  // The WhatsApp ids the reports carry are looked up too: those already known need no registration.
  const carriedWhatsappKey = (item: BatchItem): ProviderKey | null =>
    item.report.gupshupMessageId && item.report.whatsappMessageId ? { appId: item.appId, kind: 'whatsapp', providerId: item.report.whatsappMessageId } : null;
  const found = await findCorrelations(db, [...items.map(lookupKey), ...items.map(carriedWhatsappKey).filter((key) => key !== null)]);
  const resolved: ResolvedReport[] = [];
  const toLearn = new Map<string, ProviderKey & { messageId: string }>();
  for (const item of items) {
    const correlation = found.get(correlationKeyString(lookupKey(item)));
    if (!correlation) return null;
    resolved.push({ appId: item.appId, messageId: correlation.messageId, gupshupMessageId: correlation.gupshupMessageId, report: item.report, receivedAt: item.receivedAt });
    const whatsappKey = carriedWhatsappKey(item);
    const id = whatsappKey && correlationKeyString(whatsappKey);
    if (whatsappKey && id && !found.has(id) && !toLearn.has(id)) toLearn.set(id, { ...whatsappKey, messageId: correlation.messageId });
  }

  const plan = planReportAppend(resolved);
  const learn = [...toLearn.values()];
  const locks = [...new Set(learn.map(providerLockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let row: AppendManyRow;
  try {
    [row] = await db.query<AppendManyRow>(
      `SELECT existing::text[] AS existing, conflicts
         FROM tracking_append_reports($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [locks.map(String), learn.map((k) => k.appId), learn.map((k) => k.providerId), learn.map((k) => k.messageId), ...appendManyArguments(plan.appends)!],
    );
  } catch (error) {
    // Contention on a stream is retried the long way, which retries whole transactions.
    if ((error as { code?: string }).code === REPORTS_WAITING_FOR_BATCH || isRetryableTransactionError(error)) return null;
    throw error;
  }
  const { isNew, appended } = plan.outcome(readAppendManyRow(row, plan.appends).alreadyStored);
  items.forEach((item, position) => {
    results[item.submission].outcomes[item.index] = isNew[position] ? 'applied' : 'duplicate';
  });
  return { results, appended, unparked: 0, reconciled: 0 };
}

/**
 * Writes a batch of callbacks in the caller's transaction: every report whose message is known
 * becomes a DeliveryStatusChanged on that message's stream, every other one is parked, and every
 * unreadable part is recorded.
 *
 * The locks of every provider id in the batch are taken first (see lockProviderKeys), so the
 * lookup and the parking cannot interleave with the tracking subscription registering the same ids.
 */
export async function writeCallbackBatch(tx: SqlExecutor, submissions: readonly CallbackSubmission[], settle: LostDispatchSettler): Promise<BatchResult> {
  const items = batchItems(submissions);
  const lockKeys: ProviderKey[] = [];
  for (const item of items) {
    if (item.report.gupshupMessageId) lockKeys.push({ appId: item.appId, kind: 'gupshup', providerId: item.report.gupshupMessageId });
    if (item.report.whatsappMessageId) lockKeys.push({ appId: item.appId, kind: 'whatsapp', providerId: item.report.whatsappMessageId });
  }
  const held = await lockProviderKeys(tx, lockKeys);

  const found = await findCorrelations(tx, items.map(lookupKey));
  const resolvedItems: BatchItem[] = [];
  const resolved: ResolvedReport[] = [];
  let unknown: BatchItem[] = [];
  const resolve = (item: BatchItem, correlation: Correlation) => {
    resolvedItems.push(item);
    resolved.push({ appId: item.appId, messageId: correlation.messageId, gupshupMessageId: correlation.gupshupMessageId, report: item.report, receivedAt: item.receivedAt });
  };
  for (const item of items) {
    const correlation = found.get(correlationKeyString(lookupKey(item)));
    if (correlation) resolve(item, correlation);
    else unknown.push(item);
  }

  // Writes start here, as late as possible: the store orders appends to a stream by transaction
  // id, and the later this transaction takes its id, the less it conflicts with other writers.
  const { newlyKnown, unparked } = await learnWhatsappIds(tx, resolved, held);
  // A receipt without gsId whose WhatsApp id another callback of this very batch just taught.
  const waitingForWhatsappId = unknown.filter((item) => !item.report.gupshupMessageId);
  if (newlyKnown.length > 0 && waitingForWhatsappId.length > 0) {
    const taught = await findCorrelations(tx, waitingForWhatsappId.map(lookupKey));
    unknown = unknown.filter((item) => {
      const correlation = item.report.gupshupMessageId ? undefined : taught.get(correlationKeyString(lookupKey(item)));
      if (correlation) resolve(item, correlation);
      return !correlation;
    });
  }
  const { isNew, appended } = await appendReports(tx, [...resolved, ...unparked]);

  const toPark: ReportToPark[] = unknown.map((item) => ({ appId: item.appId, report: item.report, rawBody: item.rawBody, receivedAt: item.receivedAt }));
  await parkReports(tx, toPark);
  const evidence = toPark.filter((_, position) => submissions[unknown[position].submission].authenticated);
  const reconciliation = await reconcileLostDispatches(tx, evidence, held, settle);
  await recordInvalidCallbacks(
    tx,
    submissions
      .filter((submission) => submission.problems.length > 0)
      .map((submission) => ({ appId: submission.appId, problem: submission.problems.join('; '), rawBody: submission.rawBody, receivedAt: submission.receivedAt })),
  );

  const results: SubmissionResult[] = submissions.map((submission) => ({ outcomes: submission.reports.map(() => 'parked' as ReportOutcome) }));
  resolvedItems.forEach((item, position) => {
    results[item.submission].outcomes[item.index] = isNew[position] ? 'applied' : 'duplicate';
  });
  return {
    results,
    appended: [...appended, ...reconciliation.appended],
    unparked: unparked.length + reconciliation.unparked,
    reconciled: reconciliation.reconciled,
  };
}
