import type { SqlExecutor } from '../../../database/database';
import { WhatsAppMessageSent } from '../../domain';
import { dispatchEventId } from '../../sending/dispatch/dispatch-outcome';
import { lockOutcomeUnknownJob } from '../../sending/dispatch/dispatch-jobs';

/**
 * A dispatch whose answer was lost (WhatsAppDispatchOutcomeUnknown) has no Gupshup id, so its
 * callbacks park as "unknown id". When exactly one such message of an app went to a phone number,
 * and exactly one unknown Gupshup id shows up in authenticated callbacks for that number soon
 * after the attempt, that id is the message's: the translator records the WhatsAppMessageSent the
 * lost answer would have (same event id, so a late answer is stored once) and applies what waits.
 * Anything less certain (two candidates either way, too late, or evidence that did not prove it
 * comes from Gupshup) stays parked for an operator.
 *
 * tracking_unresolved_dispatches mirrors the lost dispatches (from the log), indexed by phone
 * number, so that a batch can tell in one query that it has nothing to reconcile.
 */

/** Callbacks are matched to an attempt from shortly before it (clock skew) to this long after it. */
export const RECONCILE_SKEW_MS = 5 * 60 * 1000;
export const RECONCILE_WINDOW_MS = 60 * 60 * 1000;
/** Only the first signs of a send are evidence that Gupshup accepted this very message. */
export const RECONCILING_STATUSES: ReadonlySet<string> = new Set(['enqueued', 'sent']);

export interface UnresolvedDispatch {
  appId: string;
  messageId: string;
  destination: string;
  attempt: number;
  startedAt: Date;
}

/** A report that may name a lost dispatch: an unknown Gupshup id, to a phone number. */
export interface DispatchEvidence {
  appId: string;
  gupshupMessageId: string;
  destination: string;
  occurredAt: Date;
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

/** Authenticated waiting reports for this destination since a time: the unknown Gupshup ids seen there. */
async function parkedGupshupIdsForDestination(tx: SqlExecutor, appId: string, destination: string, since: Date) {
  return tx.query<{ gupshup_message_id: string; provider_status: string; occurred_at: Date }>(
    `SELECT gupshup_message_id, provider_status, (report->>'occurredAt')::timestamptz AS occurred_at FROM parked_callbacks
      WHERE state = 'waiting' AND authenticated AND app_id = $1 AND destination = $2 AND received_at >= $3 AND gupshup_message_id IS NOT NULL`,
    [appId, destination, since.toISOString()],
  );
}

function withinWindow(dispatch: UnresolvedDispatch, occurredAt: Date): boolean {
  const occurredMs = occurredAt.getTime();
  const startedMs = dispatch.startedAt.getTime();
  return startedMs >= occurredMs - RECONCILE_WINDOW_MS && startedMs <= occurredMs + RECONCILE_SKEW_MS;
}

/**
 * For evidence just parked, the one lost dispatch each Gupshup id can belong to (at most one
 * match per id and per dispatch). Evidence must come from authenticated callbacks.
 */
export async function dispatchesNamedBy(tx: SqlExecutor, evidence: readonly DispatchEvidence[]): Promise<{ dispatch: UnresolvedDispatch; gupshupMessageId: string }[]> {
  if (evidence.length === 0) return [];
  // One look for the whole batch: lost dispatches are rare, and usually there are none at all.
  const rows = await tx.query<{ message_id: string; app_id: string; destination: string; attempt: number; started_at: Date }>(
    `SELECT d.message_id, d.app_id, d.destination, d.attempt, d.started_at
       FROM tracking_unresolved_dispatches d
       JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS c(app_id, destination) ON d.app_id = c.app_id AND d.destination = c.destination`,
    [evidence.map((e) => e.appId), evidence.map((e) => e.destination)],
  );
  if (rows.length === 0) return [];
  const unresolved: UnresolvedDispatch[] = rows.map((row) => ({
    appId: row.app_id,
    messageId: row.message_id,
    destination: row.destination,
    attempt: row.attempt,
    startedAt: row.started_at,
  }));
  const matches: { dispatch: UnresolvedDispatch; gupshupMessageId: string }[] = [];
  const tried = new Set<string>();
  const taken = new Set<string>();
  for (const item of evidence) {
    const key = `${item.appId}\u0000${item.gupshupMessageId}`;
    if (tried.has(key)) continue;
    tried.add(key);
    const candidates = unresolved.filter((d) => d.appId === item.appId && d.destination === item.destination && withinWindow(d, item.occurredAt));
    if (candidates.length !== 1 || taken.has(candidates[0].messageId)) continue;
    const [candidate] = candidates;
    const seen = await parkedGupshupIdsForDestination(tx, item.appId, item.destination, new Date(candidate.startedAt.getTime() - RECONCILE_SKEW_MS));
    if (seen.some((row) => row.gupshup_message_id !== item.gupshupMessageId)) continue;
    taken.add(candidate.messageId);
    matches.push({ dispatch: candidate, gupshupMessageId: item.gupshupMessageId });
  }
  return matches;
}

/**
 * For a lost dispatch just recorded: the Gupshup id of the authenticated reports already parked
 * for its phone number, when there is exactly one and no other lost dispatch competes for it.
 */
export async function gupshupIdWaitingFor(tx: SqlExecutor, dispatch: UnresolvedDispatch): Promise<string | null> {
  const rows = await parkedGupshupIdsForDestination(tx, dispatch.appId, dispatch.destination, new Date(dispatch.startedAt.getTime() - RECONCILE_SKEW_MS));
  const ids = new Set(rows.map((row) => row.gupshup_message_id));
  const evidence = rows.filter((row) => RECONCILING_STATUSES.has(row.provider_status) && withinWindow(dispatch, row.occurred_at));
  if (ids.size !== 1 || evidence.length === 0) return null;
  const others = await tx.query<{ message_id: string }>(
    'SELECT message_id FROM tracking_unresolved_dispatches WHERE app_id = $1 AND destination = $2 AND message_id <> $3',
    [dispatch.appId, dispatch.destination, dispatch.messageId],
  );
  return others.length === 0 ? [...ids][0] : null;
}

/**
 * Takes the lost dispatch out of the unresolved ones and returns the WhatsAppMessageSent it gets,
 * with the event id the dispatcher would have used for that attempt; null when it was no longer
 * unresolved.
 */
export async function claimLostDispatch(tx: SqlExecutor, dispatch: UnresolvedDispatch, gupshupMessageId: string): Promise<WhatsAppMessageSent | null> {
  const claimed = await tx.query('DELETE FROM tracking_unresolved_dispatches WHERE message_id = $1 RETURNING message_id', [dispatch.messageId]);
  if (claimed.length === 0) return null;
  // An operator may have sent it again already (docs/dispatch-policy.md): then this report is for
  // a call that is no longer the message's, and nothing is settled.
  if (!(await lockOutcomeUnknownJob(tx, dispatch.messageId))) return null;
  return new WhatsAppMessageSent(
    { appId: dispatch.appId, messageId: dispatch.messageId, providerMessageId: gupshupMessageId, attempt: dispatch.attempt, sentAt: dispatch.startedAt.toISOString() },
    dispatchEventId(dispatch.messageId, dispatch.attempt, 'sent'),
  );
}

