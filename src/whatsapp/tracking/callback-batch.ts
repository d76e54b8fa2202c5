import type { SqlExecutor } from '../../database/database';
import type { DeliveryStatusChanged } from '../domain';
import type { DeliveryReport } from '../gupshup/callback-parser';
import { correlationKeyString, findCorrelations, type Correlation } from './correlations';
import type { ResolvedReport } from './delivery-report';
import { reconcileLostDispatches, type LostDispatchSettler } from './dispatch-reconciliation';
import { parkReports, recordInvalidCallbacks, type ReportToPark } from './parked-callbacks';
import { appendReports, learnWhatsappIds } from './report-application';
import { lockProviderKeys, type ProviderKey } from './tracking-locks';

/** One callback request of one app, checked and ready to be written. */
export interface CallbackSubmission {
  appId: string;
  receivedAt: Date;
  /** The body as received, kept with anything parked or invalid. */
  rawBody: string;
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

/**
 * Writes a batch of callbacks in the caller's transaction: every report whose message is known
 * becomes a DeliveryStatusChanged on that message's stream, every other one is parked, and every
 * unreadable part is recorded.
 *
 * The locks of every provider id in the batch are taken first (see lockProviderKeys), so the
 * lookup and the parking cannot interleave with the tracking subscription registering the same ids.
 */
export async function writeCallbackBatch(tx: SqlExecutor, submissions: readonly CallbackSubmission[], settle: LostDispatchSettler): Promise<BatchResult> {
  const items: BatchItem[] = submissions.flatMap((submission, submissionIndex) =>
    submission.reports.map((report, index) => ({
      submission: submissionIndex,
      index,
      appId: submission.appId,
      report,
      receivedAt: submission.receivedAt,
      rawBody: submission.rawBody,
    })),
  );
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
  const reconciliation = await reconcileLostDispatches(tx, toPark, held, settle);
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
