import type { SqlExecutor } from '../../database/database';
import { appendToStreams } from '../../event-store';
import {
  contactStreamId,
  WhatsAppCustomerMessageReceived,
  WhatsAppNumberSuppressed,
  WhatsAppSuppressionLifted,
  type ConsentEvent,
  type SuppressionReason,
} from './consent.events';

/**
 * The consent events and the tables that answer "may this number be sent to now?", written
 * together in the caller's transaction: whatsapp_suppressions (one row per number and reason),
 * whatsapp_consent_liftings (when each number's suppressions of a reason were last lifted) and
 * whatsapp_customer_sessions (when each number last wrote). An event already stored (the same
 * callback read again) changes nothing.
 */

export interface Suppression {
  phoneNumber: string;
  reason: SuppressionReason;
  since: string;
  until: string | null;
  note: string | null;
}

interface SuppressionRow {
  phone_number: string;
  reason: SuppressionReason;
  since: Date;
  until: Date | null;
  note: string | null;
}

function toSuppression(row: SuppressionRow): Suppression {
  return { phoneNumber: row.phone_number, reason: row.reason, since: row.since.toISOString(), until: row.until?.toISOString() ?? null, note: row.note };
}

/** What recordSuppression did: recorded it, found a later lifting of the number (not applied), or had it already (the same callback read again). */
export type SuppressionOutcome = { outcome: 'recorded'; suppression: Suppression } | { outcome: 'lifted_later'; liftedAt: string } | { outcome: 'already_recorded' };

const ACTIVE = '(until IS NULL OR until > now())';

/**
 * Holds the number's consent until the transaction ends: a lifting and a suppression of the same
 * number, in two transactions (an operator's DELETE, the callbacks' subscription), would otherwise
 * each miss what the other writes. Taken before the contact's stream is appended to, always.
 */
async function lockContact(tx: SqlExecutor, appId: string, phoneNumber: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('whatsapp_consent'), hashtext($1))`, [`${appId}:${phoneNumber}`]);
}

/** Appends the event to its contact's stream; false when it was stored before. */
async function appendContactEvent(tx: SqlExecutor, event: ConsentEvent): Promise<boolean> {
  const { alreadyStored } = await appendToStreams(tx, [{ streamId: contactStreamId(event.data.appId, event.data.phoneNumber), events: [event] }]);
  return !alreadyStored.has(event.eventId);
}

/**
 * Suppresses the number for the event's reason. A number already suppressed for that reason
 * keeps its earliest `since` (unless that suppression had run out) and the later `until`.
 *
 * Gupshup's callbacks come in no particular order, so the latest word wins: a suppression from a
 * callback older than the number's latest lifting of that reason (an opt-out from before an
 * opt-in that came first, a failure from before an operator's DELETE, which counts at the
 * service's time of the request) is not applied, and not recorded. An operator's own suppression
 * (source `api`) is made now and is always applied.
 */
export async function recordSuppression(tx: SqlExecutor, event: WhatsAppNumberSuppressed): Promise<SuppressionOutcome> {
  const { appId, phoneNumber, reason, since, until, note, source } = event.data;
  await lockContact(tx, appId, phoneNumber);
  if (source !== 'api') {
    const [newer] = await tx.query<{ lifted_at: Date }>(
      `SELECT lifted_at FROM whatsapp_consent_liftings WHERE app_id = $1 AND phone_number = $2 AND reason = $3 AND lifted_at > $4`,
      [appId, phoneNumber, reason, since],
    );
    if (newer) return { outcome: 'lifted_later', liftedAt: newer.lifted_at.toISOString() };
  }
  if (!(await appendContactEvent(tx, event))) return { outcome: 'already_recorded' };
  const [row] = await tx.query<SuppressionRow>(
    `INSERT INTO whatsapp_suppressions AS s (app_id, phone_number, reason, since, until, note) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (app_id, phone_number, reason) DO UPDATE SET
       since = CASE WHEN s.until IS NOT NULL AND s.until <= EXCLUDED.since THEN EXCLUDED.since ELSE least(s.since, EXCLUDED.since) END,
       until = CASE WHEN s.until IS NOT NULL AND s.until <= EXCLUDED.since THEN EXCLUDED.until
                    WHEN s.until IS NULL OR EXCLUDED.until IS NULL THEN NULL
                    ELSE greatest(s.until, EXCLUDED.until) END,
       note = coalesce(EXCLUDED.note, s.note)
     RETURNING phone_number, reason, since, until, note`,
    [appId, phoneNumber, reason, since, until, note ?? null],
  );
  return { outcome: 'recorded', suppression: toSuppression(row) };
}

/**
 * Lifts the number's suppressions for `reasons` that began at or before `at` (an opt-in older
 * than the opt-out it would lift, arriving late, lifts nothing). The event is recorded only
 * when something was lifted; the time of the lifting is kept in any case (the latest one per
 * reason), so that an older suppression arriving after it is not applied. Returns the reasons
 * lifted.
 */
export async function recordLifting(
  tx: SqlExecutor,
  data: WhatsAppSuppressionLifted['data'],
  eventId?: string,
): Promise<SuppressionReason[]> {
  await lockContact(tx, data.appId, data.phoneNumber);
  await tx.query(
    `INSERT INTO whatsapp_consent_liftings AS l (app_id, phone_number, reason, lifted_at) SELECT $1, $2, r, $4 FROM unnest($3::text[]) AS r
     ON CONFLICT (app_id, phone_number, reason) DO UPDATE SET lifted_at = greatest(l.lifted_at, EXCLUDED.lifted_at)`,
    [data.appId, data.phoneNumber, data.reasons, data.at],
  );
  const rows = await tx.query<{ reason: SuppressionReason }>(
    `DELETE FROM whatsapp_suppressions WHERE app_id = $1 AND phone_number = $2 AND reason = ANY($3::text[]) AND since <= $4 RETURNING reason`,
    [data.appId, data.phoneNumber, data.reasons, data.at],
  );
  if (rows.length === 0) return [];
  const lifted = rows.map((row) => row.reason).sort();
  const stored = await appendContactEvent(tx, new WhatsAppSuppressionLifted({ ...data, reasons: lifted }, eventId));
  return stored ? lifted : [];
}

/** Remembers when the number last wrote (the latest time wins, whatever order the callbacks came in). */
export async function recordCustomerMessage(tx: SqlExecutor, event: WhatsAppCustomerMessageReceived): Promise<boolean> {
  await lockContact(tx, event.data.appId, event.data.phoneNumber);
  if (!(await appendContactEvent(tx, event))) return false;
  await tx.query(
    `INSERT INTO whatsapp_customer_sessions AS c (app_id, phone_number, last_inbound_at) VALUES ($1, $2, $3)
     ON CONFLICT (app_id, phone_number) DO UPDATE SET last_inbound_at = greatest(c.last_inbound_at, EXCLUDED.last_inbound_at)`,
    [event.data.appId, event.data.phoneNumber, event.data.at],
  );
  return true;
}

/** The suppressions in force now for these numbers of the app, by number. */
export async function activeSuppressions(db: SqlExecutor, appId: string, phoneNumbers: readonly string[]): Promise<Map<string, Suppression[]>> {
  const byNumber = new Map<string, Suppression[]>();
  if (phoneNumbers.length === 0) return byNumber;
  const rows = await db.query<SuppressionRow>(
    `SELECT phone_number, reason, since, until, note FROM whatsapp_suppressions
      WHERE app_id = $1 AND phone_number = ANY($2::text[]) AND ${ACTIVE}`,
    [appId, [...new Set(phoneNumbers)]],
  );
  for (const row of rows) {
    const list = byNumber.get(row.phone_number);
    if (list) list.push(toSuppression(row));
    else byNumber.set(row.phone_number, [toSuppression(row)]);
  }
  return byNumber;
}

/** When each of these numbers last wrote to the app (absent: never, as far as this service knows). */
export async function lastCustomerMessages(db: SqlExecutor, appId: string, phoneNumbers: readonly string[]): Promise<Map<string, Date>> {
  if (phoneNumbers.length === 0) return new Map();
  const rows = await db.query<{ phone_number: string; last_inbound_at: Date }>(
    `SELECT phone_number, last_inbound_at FROM whatsapp_customer_sessions WHERE app_id = $1 AND phone_number = ANY($2::text[])`,
    [appId, [...new Set(phoneNumbers)]],
  );
  return new Map(rows.map((row) => [row.phone_number, row.last_inbound_at]));
}

/** Where a page of suppressions ended: the list is ordered by number, then reason. */
export interface SuppressionPosition {
  phoneNumber: string;
  reason: string;
}

/** A page of the app's suppressions in force, ordered by number then reason, after `after`. */
export async function listSuppressions(
  db: SqlExecutor,
  appId: string,
  options: { phoneNumber?: string; after?: SuppressionPosition; limit: number },
): Promise<Suppression[]> {
  const values: unknown[] = [appId];
  const where = ['app_id = $1', ACTIVE];
  if (options.phoneNumber !== undefined) where.push(`phone_number = $${values.push(options.phoneNumber)}`);
  if (options.after) where.push(`(phone_number, reason) > ($${values.push(options.after.phoneNumber)}, $${values.push(options.after.reason)})`);
  const rows = await db.query<SuppressionRow>(
    `SELECT phone_number, reason, since, until, note FROM whatsapp_suppressions WHERE ${where.join(' AND ')}
      ORDER BY phone_number, reason LIMIT $${values.push(options.limit)}`,
    values,
  );
  return rows.map(toSuppression);
}
