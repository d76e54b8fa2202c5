import { exceedsJsonDepth } from '../../../common/input-schemas';
import type { SqlExecutor } from '../../../database/database';
import type { DeliveryReport } from '../../gupshup/callback-parser';
import { fromStoredReport, toStoredReport, type StoredReport } from '../translating/delivery-report';
import { RAW_CALLBACK_STREAM_TYPE, storableText } from '../receiving/gupshup-callback-received.event';

/**
 * parked_callbacks: what the translator could not apply, each row referencing the raw callback
 * (GupshupCallbackReceived) it came from. Written by the translator alone; the expiry removes
 * what waited longer than RAW_CALLBACK_RETENTION_DAYS.
 */

/** waiting: for its message; invalid: unreadable; ignored: a kind not tracked, kept only for the retention period. */
export type ParkedState = 'waiting' | 'invalid' | 'ignored';

/** Where a parked row came from: one part of one recorded callback. */
export interface CallbackPart {
  appId: string;
  /** The GupshupCallbackReceived event. */
  callbackEventId: string;
  /** The report's place in the callback; -1 for the callback's unreadable part. */
  partIndex: number;
  /** How many parts the translator parked, or found unreadable, in this callback. */
  unappliedParts: number;
  authenticated: boolean;
  receivedAt: Date;
}

/** A report for a provider id no message of the app has yet. */
export interface ReportToPark extends CallbackPart {
  report: DeliveryReport;
}

/** A JSON body that is not a Gupshup callback we can read (or a part of one), or one of a kind not tracked. */
export interface InvalidCallback extends CallbackPart {
  problem: string;
  /** Default `invalid`. */
  state?: 'invalid' | 'ignored';
}

export interface ParkedReport {
  appId: string;
  callbackEventId: string | null;
  partIndex: number | null;
  authenticated: boolean;
  report: DeliveryReport;
  receivedAt: Date;
}

const MAX_PROBLEM_LENGTH = 2000;

/**
 * Parks reports. A part parked already (the same callback translated again) keeps its row, its id
 * and parkedAt, with what this reading found in it.
 */
export async function parkReports(tx: SqlExecutor, parked: readonly ReportToPark[]): Promise<void> {
  if (parked.length === 0) return;
  await tx.query(
    `INSERT INTO parked_callbacks (app_id, state, format, provider_status, gupshup_message_id, whatsapp_message_id, destination, report,
                                   received_at, callback_event_id, part_index, unapplied_parts, authenticated)
     SELECT app_id, 'waiting', format, provider_status, gupshup_id, whatsapp_id, destination, report, received_at, event_id, part_index, parts, authenticated
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::timestamptz[], $9::uuid[], $10::int[], $11::int[], $12::boolean[])
         AS p(app_id, format, provider_status, gupshup_id, whatsapp_id, destination, report, received_at, event_id, part_index, parts, authenticated)
     ON CONFLICT (callback_event_id, part_index) DO UPDATE SET state = 'waiting', problem = NULL, format = EXCLUDED.format,
       provider_status = EXCLUDED.provider_status, gupshup_message_id = EXCLUDED.gupshup_message_id, whatsapp_message_id = EXCLUDED.whatsapp_message_id,
       destination = EXCLUDED.destination, report = EXCLUDED.report, unapplied_parts = EXCLUDED.unapplied_parts, authenticated = EXCLUDED.authenticated`,
    [
      parked.map((p) => p.appId),
      parked.map((p) => p.report.format),
      parked.map((p) => p.report.providerStatus),
      parked.map((p) => p.report.gupshupMessageId ?? null),
      parked.map((p) => p.report.whatsappMessageId ?? null),
      parked.map((p) => p.report.destination ?? null),
      parked.map((p) => JSON.stringify(toStoredReport(p.report))),
      parked.map((p) => p.receivedAt.toISOString()),
      parked.map((p) => p.callbackEventId),
      parked.map((p) => p.partIndex),
      parked.map((p) => p.unappliedParts),
      parked.map((p) => p.authenticated),
    ],
  );
}

/** Keeps unreadable callbacks (or parts), and those of kinds not tracked; one read again keeps its row, with what this reading found. */
export async function recordInvalidCallbacks(tx: SqlExecutor, invalid: readonly InvalidCallback[]): Promise<void> {
  if (invalid.length === 0) return;
  await tx.query(
    `INSERT INTO parked_callbacks (app_id, state, problem, received_at, callback_event_id, part_index, unapplied_parts, authenticated)
     SELECT app_id, state, problem, received_at, event_id, part_index, parts, authenticated
       FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::uuid[], $5::int[], $6::int[], $7::boolean[], $8::text[])
         AS i(app_id, problem, received_at, event_id, part_index, parts, authenticated, state)
     ON CONFLICT (callback_event_id, part_index) DO UPDATE SET state = EXCLUDED.state, problem = EXCLUDED.problem,
       unapplied_parts = EXCLUDED.unapplied_parts, authenticated = EXCLUDED.authenticated`,
    [
      invalid.map((i) => i.appId),
      // The problem may quote the body (a key, a value): kept storable, so that no callback can fail the batch.
      invalid.map((i) => storableText(i.problem.length > MAX_PROBLEM_LENGTH ? `${i.problem.slice(0, MAX_PROBLEM_LENGTH)}…` : i.problem)),
      invalid.map((i) => i.receivedAt.toISOString()),
      invalid.map((i) => i.callbackEventId),
      invalid.map((i) => i.partIndex),
      invalid.map((i) => i.unappliedParts),
      invalid.map((i) => i.authenticated),
      invalid.map((i) => i.state ?? 'invalid'),
    ],
  );
}

/**
 * For callbacks read again (a replay of the log, see tracking:retranslate): removes their rows
 * that this reading does not park again, so that what an earlier reading parked, and this one
 * applies or reads otherwise, is no longer listed. `kept` are the parts this reading parks.
 */
export async function forgetPartsNoLongerParked(
  tx: SqlExecutor,
  callbackEventIds: readonly string[],
  kept: readonly Pick<CallbackPart, 'callbackEventId' | 'partIndex'>[],
): Promise<void> {
  if (callbackEventIds.length === 0) return;
  await tx.query(
    `DELETE FROM parked_callbacks p
      WHERE p.callback_event_id = ANY ($1::uuid[])
        AND NOT EXISTS (SELECT 1 FROM unnest($2::uuid[], $3::int[]) AS k(callback_event_id, part_index)
                         WHERE k.callback_event_id = p.callback_event_id AND k.part_index = p.part_index)`,
    [callbackEventIds, kept.map((part) => part.callbackEventId), kept.map((part) => part.partIndex)],
  );
}

interface ParkedRow {
  app_id: string;
  callback_event_id: string | null;
  part_index: number | null;
  authenticated: boolean;
  report: StoredReport;
  received_at: Date;
}

const PARKED_COLUMNS = 'p.app_id, p.callback_event_id, p.part_index, p.authenticated, p.report, p.received_at';

function toParked(row: ParkedRow): ParkedReport {
  return {
    appId: row.app_id,
    callbackEventId: row.callback_event_id,
    partIndex: row.part_index,
    authenticated: row.authenticated,
    report: fromStoredReport(row.report),
    receivedAt: row.received_at,
  };
}

/** Removes and returns the waiting reports that name these Gupshup ids. */
export async function takeParkedByGupshupIds(tx: SqlExecutor, keys: readonly { appId: string; providerId: string }[]): Promise<ParkedReport[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query<ParkedRow>(
    `DELETE FROM parked_callbacks p
      USING (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(app_id, gupshup_id)
      WHERE p.state = 'waiting' AND p.app_id = k.app_id AND p.gupshup_message_id = k.gupshup_id
      RETURNING ${PARKED_COLUMNS}`,
    [keys.map((k) => k.appId), keys.map((k) => k.providerId)],
  );
  return rows.map(toParked);
}

/** Removes and returns the waiting reports that carry only a WhatsApp id, one of these. */
export async function takeParkedByWhatsappIds(tx: SqlExecutor, keys: readonly { appId: string; providerId: string }[]): Promise<ParkedReport[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query<ParkedRow>(
    `DELETE FROM parked_callbacks p
      USING (SELECT DISTINCT * FROM unnest($1::text[], $2::text[])) AS k(app_id, whatsapp_id)
      WHERE p.state = 'waiting' AND p.gupshup_message_id IS NULL AND p.app_id = k.app_id AND p.whatsapp_message_id = k.whatsapp_id
      RETURNING ${PARKED_COLUMNS}`,
    [keys.map((k) => k.appId), keys.map((k) => k.providerId)],
  );
  return rows.map(toParked);
}

export async function countParkedByState(db: SqlExecutor): Promise<Record<ParkedState, number>> {
  const rows = await db.query<{ state: ParkedState; count: string }>('SELECT state, count(*) AS count FROM parked_callbacks GROUP BY state');
  const counts: Record<ParkedState, number> = { waiting: 0, invalid: 0, ignored: 0 };
  for (const row of rows) counts[row.state] = Number(row.count);
  return counts;
}

export interface ParkedCallbackListing {
  id: string;
  appId: string;
  state: ParkedState;
  format: string | null;
  providerStatus: string | null;
  gupshupMessageId: string | null;
  whatsappMessageId: string | null;
  destination: string | null;
  problem: string | null;
  /** The callback body as received. */
  body: unknown;
  receivedAt: string;
  parkedAt: string;
}

export interface ParkedCallbackQuery {
  appId?: string;
  state?: ParkedState;
  /** Only rows with an id below this one (the previous page's cursor). */
  beforeId?: string;
  limit: number;
}

/** Newest first, keyset-paginated by id. */
export async function listParkedCallbacks(db: SqlExecutor, query: ParkedCallbackQuery): Promise<ParkedCallbackListing[]> {
  const rows = await db.query<{
    id: string;
    app_id: string;
    state: ParkedState;
    format: string | null;
    provider_status: string | null;
    gupshup_message_id: string | null;
    whatsapp_message_id: string | null;
    destination: string | null;
    problem: string | null;
    raw_body: string | null;
    received_at: Date;
    parked_at: Date;
  }>(
    // The body is the raw callback's (rows parked before raw callbacks were recorded kept their own).
    `SELECT p.id, p.app_id, p.state, p.format, p.provider_status, p.gupshup_message_id, p.whatsapp_message_id, p.destination, p.problem,
            coalesce(p.raw_body, e.data->>'bodyText', (e.data->'body')::text) AS raw_body, p.received_at, p.parked_at
       FROM parked_callbacks p
       LEFT JOIN es_events e ON split_part(e.stream_id, '-', 1) = '${RAW_CALLBACK_STREAM_TYPE}' AND e.stream_id = '${RAW_CALLBACK_STREAM_TYPE}-' || p.callback_event_id
      WHERE ($1::text IS NULL OR p.app_id = $1) AND (p.state = $2 OR ($2::text IS NULL AND p.state <> 'ignored')) AND ($3::bigint IS NULL OR p.id < $3)
      ORDER BY p.id DESC
      LIMIT $4`,
    [query.appId ?? null, query.state ?? null, query.beforeId ?? null, query.limit],
  );
  return rows.map((row) => ({
    id: row.id,
    appId: row.app_id,
    state: row.state,
    format: row.format,
    providerStatus: row.provider_status,
    gupshupMessageId: row.gupshup_message_id,
    whatsappMessageId: row.whatsapp_message_id,
    destination: row.destination,
    problem: row.problem,
    body: row.raw_body === null ? null : parseStoredBody(row.raw_body),
    receivedAt: row.received_at.toISOString(),
    parkedAt: row.parked_at.toISOString(),
  }));
}

/** Deeper bodies are listed as their text: writing them out as JSON would take a call per level. */
export const MAX_SHOWN_BODY_DEPTH = 64;

/** A stored body as its JSON; as its text when it does not parse, or nests too deeply to be written back out safely. */
function parseStoredBody(raw: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw;
  }
  return exceedsJsonDepth(parsed, MAX_SHOWN_BODY_DEPTH) ? raw : parsed;
}

/**
 * Removes the parked rows received before `before`, a callback at a time: the rows of up to
 * `limit` of the oldest due rows, with every other row of their callbacks (a callback's parts
 * share its received time, so they are due together; taking them together means a batch limit
 * never cuts through one). The raw event goes with its rows when none of the callback's parts was
 * ever applied: every part it had left unapplied (unapplied_parts) is still parked now. A
 * callback of which a part was applied keeps its raw event, which a retranslation reads.
 * `picked` says how many due rows the batch started from, so that a caller knows whether more
 * may be due.
 */
export async function expireParkedCallbacks(
  tx: SqlExecutor,
  before: Date,
  limit: number,
): Promise<{ rows: number; picked: number; rawCallbackEventIds: string[] }> {
  const rows = await tx.query<{ callback_event_id: string | null; unapplied_parts: number | null; expired: string; picked: string }>(
    `WITH picked AS (
       SELECT id, callback_event_id FROM parked_callbacks WHERE received_at < $1 ORDER BY received_at LIMIT $2
     ), expired AS (
       DELETE FROM parked_callbacks p
        WHERE p.id IN (SELECT id FROM picked WHERE callback_event_id IS NULL)
           OR p.callback_event_id IN (SELECT callback_event_id FROM picked WHERE callback_event_id IS NOT NULL)
       RETURNING p.callback_event_id, p.unapplied_parts
     )
     SELECT callback_event_id, max(unapplied_parts) AS unapplied_parts, count(*)::text AS expired, (SELECT count(*) FROM picked)::text AS picked
       FROM expired GROUP BY 1`,
    [before.toISOString(), limit],
  );
  let removed = 0;
  const rawCallbackEventIds: string[] = [];
  for (const row of rows) {
    removed += Number(row.expired);
    if (row.callback_event_id !== null && row.unapplied_parts === Number(row.expired)) rawCallbackEventIds.push(row.callback_event_id);
  }
  return { rows: removed, picked: rows.length > 0 ? Number(rows[0].picked) : 0, rawCallbackEventIds };
}
