import type { SqlExecutor } from '../../database/database';
import type { DeliveryStatusChanged } from '../domain';
import { registerCorrelations } from './correlations';
import { parkedGupshupIdsForDestination, takeParkedByGupshupIds, type ReportToPark } from './parked-callbacks';
import { applyResolvedReports } from './report-application';
import { lockProviderKeys } from './tracking-locks';

/**
 * A dispatch whose answer was lost (WhatsAppDispatchOutcomeUnknown) has no Gupshup id, so its
 * callbacks park as "unknown id". When exactly one such message of an app went to a phone number,
 * and exactly one unknown Gupshup id shows up for that number soon after the attempt, that id is
 * the message's: the sending side settles it as sent with that id (its own WhatsAppMessageSent,
 * the one a late answer would also record) and the parked callbacks are applied.
 * Anything less certain (two candidates either way, or too late) stays parked for an operator.
 *
 * tracking_unresolved_dispatches mirrors the lost dispatches (from the log), indexed by phone
 * number, so that the webhook can tell in one query that a batch has nothing to reconcile.
 */

/** Callbacks are matched to an attempt from shortly before it (clock skew) to this long after it. */
export const RECONCILE_SKEW_MS = 5 * 60 * 1000;
export const RECONCILE_WINDOW_MS = 60 * 60 * 1000;
/** Only the first signs of a send are evidence that Gupshup accepted this very message. */
const RECONCILING_STATUSES = new Set(['enqueued', 'sent']);

/**
 * Records, in `tx`, that the lost dispatch of `messageId` was accepted by Gupshup under this id
 * (OutcomeUnknownResolver.settleAsSent). False when it is not, or no longer, parked as outcome unknown.
 */
export type LostDispatchSettler = (messageId: string, gupshupMessageId: string, tx: SqlExecutor) => Promise<boolean>;

export interface ReconciliationResult {
  appended: DeliveryStatusChanged[];
  unparked: number;
  reconciled: number;
}

export interface UnresolvedDispatch {
  appId: string;
  messageId: string;
  destination: string;
  attempt: number;
  startedAt: Date;
}

/** The digits Gupshup reports a destination with. */
export function destinationDigits(phoneNumber: string): string {
  return phoneNumber.replace(/\D/g, '');
}

/** Remembers a lost dispatch until a callback names it. */
export async function recordUnresolvedDispatch(tx: SqlExecutor, dispatch: UnresolvedDispatch): Promise<void> {
  await tx.query(
    `INSERT INTO tracking_unresolved_dispatches (message_id, app_id, destination, attempt, started_at)
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING`,
    [dispatch.messageId, dispatch.appId, dispatch.destination, dispatch.attempt, dispatch.startedAt.toISOString()],
  );
}

export async function forgetUnresolvedDispatches(tx: SqlExecutor, messageIds: readonly string[]): Promise<void> {
  if (messageIds.length === 0) return;
  await tx.query('DELETE FROM tracking_unresolved_dispatches WHERE message_id = ANY($1::text[])', [messageIds]);
}

/** Lost dispatches too old for any callback to be matched to them: kept no longer, so that the table stays small. */
export async function forgetStaleDispatches(tx: SqlExecutor): Promise<void> {
  await tx.query('DELETE FROM tracking_unresolved_dispatches WHERE started_at < $1', [new Date(Date.now() - RECONCILE_WINDOW_MS - RECONCILE_SKEW_MS).toISOString()]);
}

/**
 * Webhook side: for reports just parked (their Gupshup id is unknown), looks for the one lost
 * dispatch they can belong to. `heldLocks` must include the reports' Gupshup ids.
 */
export async function reconcileLostDispatches(
  tx: SqlExecutor,
  parked: readonly ReportToPark[],
  heldLocks: Set<bigint>,
  settle: LostDispatchSettler,
): Promise<ReconciliationResult> {
  const result: ReconciliationResult = { appended: [], unparked: 0, reconciled: 0 };
  const evidence = parked.filter(({ report }) => report.gupshupMessageId && report.destination && RECONCILING_STATUSES.has(report.providerStatus));
  if (evidence.length === 0) return result;
  // One look for the whole batch: lost dispatches are rare, and usually there are none at all.
  const unresolved = await tx.query<{ message_id: string; app_id: string; destination: string; attempt: number; started_at: Date }>(
    `SELECT d.message_id, d.app_id, d.destination, d.attempt, d.started_at
       FROM tracking_unresolved_dispatches d
       JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS c(app_id, destination) ON d.app_id = c.app_id AND d.destination = c.destination`,
    [evidence.map((p) => p.appId), evidence.map((p) => destinationDigits(p.report.destination!))],
  );
  if (unresolved.length === 0) return result;

  const tried = new Set<string>();
  for (const { appId, report } of evidence) {
    const gupshupId = report.gupshupMessageId!;
    const destination = destinationDigits(report.destination!);
    const attemptKey = `${appId}\u0000${gupshupId}`;
    if (tried.has(attemptKey)) continue;
    tried.add(attemptKey);
    const occurredMs = report.occurredAt.getTime();
    const candidates = unresolved.filter(
      (d) =>
        d.app_id === appId &&
        d.destination === destination &&
        d.started_at.getTime() >= occurredMs - RECONCILE_WINDOW_MS &&
        d.started_at.getTime() <= occurredMs + RECONCILE_SKEW_MS,
    );
    if (candidates.length !== 1) continue;
    const candidate = candidates[0];
    const competing = await parkedGupshupIdsForDestination(tx, appId, destination, new Date(candidate.started_at.getTime() - RECONCILE_SKEW_MS));
    if (competing.some((id) => id !== gupshupId)) continue;
    const outcome = await attachGupshupId(
      tx,
      { appId, messageId: candidate.message_id, destination, attempt: candidate.attempt, startedAt: candidate.started_at },
      gupshupId,
      heldLocks,
      settle,
    );
    if (!outcome) continue;
    result.appended.push(...outcome.appended);
    result.unparked += outcome.unparked;
    result.reconciled++;
  }
  return result;
}

/**
 * Subscription side: a lost dispatch was just recorded. If callbacks for its phone number already
 * wait under exactly one unknown Gupshup id, it is reconciled now; otherwise it is remembered for
 * the webhook to match.
 */
export async function reconcileOrRemember(
  tx: SqlExecutor,
  dispatch: UnresolvedDispatch,
  heldLocks: Set<bigint>,
  settle: LostDispatchSettler,
): Promise<ReconciliationResult> {
  const since = new Date(dispatch.startedAt.getTime() - RECONCILE_SKEW_MS);
  const until = dispatch.startedAt.getTime() + RECONCILE_WINDOW_MS;
  const rows = await tx.query<{ gupshup_message_id: string; provider_status: string; received_at: Date }>(
    `SELECT gupshup_message_id, provider_status, received_at FROM parked_callbacks
      WHERE state = 'waiting' AND app_id = $1 AND destination = $2 AND received_at >= $3 AND gupshup_message_id IS NOT NULL`,
    [dispatch.appId, dispatch.destination, since.toISOString()],
  );
  const ids = new Set(rows.map((row) => row.gupshup_message_id));
  const evidence = rows.filter((row) => RECONCILING_STATUSES.has(row.provider_status) && row.received_at.getTime() <= until);
  const others = await tx.query<{ message_id: string }>(
    'SELECT message_id FROM tracking_unresolved_dispatches WHERE app_id = $1 AND destination = $2 AND message_id <> $3',
    [dispatch.appId, dispatch.destination, dispatch.messageId],
  );
  await recordUnresolvedDispatch(tx, dispatch);
  if (ids.size === 1 && evidence.length > 0 && others.length === 0) {
    const outcome = await attachGupshupId(tx, dispatch, [...ids][0], heldLocks, settle);
    if (outcome) return { ...outcome, reconciled: 1 };
  }
  return { appended: [], unparked: 0, reconciled: 0 };
}

/** Claims the lost dispatch, has it settled as sent with this Gupshup id and applies what waits under that id. */
async function attachGupshupId(
  tx: SqlExecutor,
  dispatch: UnresolvedDispatch,
  gupshupId: string,
  heldLocks: Set<bigint>,
  settle: LostDispatchSettler,
): Promise<{ appended: DeliveryStatusChanged[]; unparked: number } | null> {
  await lockProviderKeys(tx, [{ appId: dispatch.appId, kind: 'gupshup', providerId: gupshupId }], heldLocks);
  // The row is the claim: of two transactions reconciling the same message, the second finds it gone.
  const claimed = await tx.query('DELETE FROM tracking_unresolved_dispatches WHERE message_id = $1 RETURNING message_id', [dispatch.messageId]);
  if (claimed.length === 0) return null;
  // Not parked any more (its answer came late after all, or an operator resent it): the row was stale.
  if (!(await settle(dispatch.messageId, gupshupId, tx))) return null;
  await registerCorrelations(tx, [{ appId: dispatch.appId, kind: 'gupshup', providerId: gupshupId, messageId: dispatch.messageId }]);
  const parked = await takeParkedByGupshupIds(tx, [{ appId: dispatch.appId, providerId: gupshupId }]);
  const application = await applyResolvedReports(
    tx,
    parked.map((p) => ({ appId: p.appId, messageId: dispatch.messageId, gupshupMessageId: gupshupId, report: p.report, receivedAt: p.receivedAt })),
    heldLocks,
  );
  return { appended: application.appended, unparked: application.unparked + parked.length };
}
