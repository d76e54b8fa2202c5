import { exceedsJsonDepth } from '../../common/input-schemas';
import type { SqlExecutor } from '../../database/database';
import type { DeliveryReport } from '../gupshup/callback-parser';
import { fromStoredReport, toStoredReport, type StoredReport } from './delivery-report';

export type ParkedState = 'waiting' | 'invalid';

/** A report for a provider id no message of the app has yet. */
export interface ReportToPark {
  appId: string;
  report: DeliveryReport;
  rawBody: string;
  receivedAt: Date;
}

/** A JSON body that is not a Gupshup callback we can read, or a part of one. */
export interface InvalidCallback {
  appId: string;
  problem: string;
  rawBody: string;
  receivedAt: Date;
}

export interface ParkedReport {
  id: string;
  appId: string;
  report: DeliveryReport;
  receivedAt: Date;
}

const MAX_PROBLEM_LENGTH = 2000;

export async function parkReports(tx: SqlExecutor, parked: readonly ReportToPark[]): Promise<void> {
  if (parked.length === 0) return;
  await tx.query(
    `INSERT INTO parked_callbacks (app_id, state, format, provider_status, gupshup_message_id, whatsapp_message_id, destination, report, raw_body, received_at)
     SELECT app_id, 'waiting', format, provider_status, gupshup_id, whatsapp_id, destination, report, raw_body, received_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::timestamptz[])
         AS p(app_id, format, provider_status, gupshup_id, whatsapp_id, destination, report, raw_body, received_at)`,
    [
      parked.map((p) => p.appId),
      parked.map((p) => p.report.format),
      parked.map((p) => p.report.providerStatus),
      parked.map((p) => p.report.gupshupMessageId ?? null),
      parked.map((p) => p.report.whatsappMessageId ?? null),
      parked.map((p) => p.report.destination ?? null),
      parked.map((p) => JSON.stringify(toStoredReport(p.report))),
      parked.map((p) => p.rawBody),
      parked.map((p) => p.receivedAt.toISOString()),
    ],
  );
}

export async function recordInvalidCallbacks(tx: SqlExecutor, invalid: readonly InvalidCallback[]): Promise<void> {
  if (invalid.length === 0) return;
  await tx.query(
    `INSERT INTO parked_callbacks (app_id, state, problem, raw_body, received_at)
     SELECT app_id, 'invalid', problem, raw_body, received_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS i(app_id, problem, raw_body, received_at)`,
    [
      invalid.map((i) => i.appId),
      invalid.map((i) => (i.problem.length > MAX_PROBLEM_LENGTH ? `${i.problem.slice(0, MAX_PROBLEM_LENGTH)}…` : i.problem)),
      invalid.map((i) => i.rawBody),
      invalid.map((i) => i.receivedAt.toISOString()),
    ],
  );
}

interface ParkedRow {
  id: string;
  app_id: string;
  report: StoredReport;
  received_at: Date;
}

function toParked(row: ParkedRow): ParkedReport {
  return { id: row.id, appId: row.app_id, report: fromStoredReport(row.report), receivedAt: row.received_at };
}

/** Removes and returns the waiting reports that name these Gupshup ids. Call with their locks held. */
export async function takeParkedByGupshupIds(tx: SqlExecutor, keys: readonly { appId: string; providerId: string }[]): Promise<ParkedReport[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query<ParkedRow>(
    `DELETE FROM parked_callbacks p
      USING unnest($1::text[], $2::text[]) AS k(app_id, gupshup_id)
      WHERE p.state = 'waiting' AND p.app_id = k.app_id AND p.gupshup_message_id = k.gupshup_id
      RETURNING p.id, p.app_id, p.report, p.received_at`,
    [keys.map((k) => k.appId), keys.map((k) => k.providerId)],
  );
  return rows.map(toParked);
}

/** The WhatsApp ids carried by waiting reports of these Gupshup ids, read without locks: a hint of which locks to take. */
export async function whatsappIdsParkedUnder(tx: SqlExecutor, keys: readonly { appId: string; providerId: string }[]): Promise<{ appId: string; providerId: string }[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query<{ app_id: string; whatsapp_message_id: string }>(
    `SELECT DISTINCT p.app_id, p.whatsapp_message_id
       FROM parked_callbacks p JOIN unnest($1::text[], $2::text[]) AS k(app_id, gupshup_id)
         ON p.app_id = k.app_id AND p.gupshup_message_id = k.gupshup_id
      WHERE p.state = 'waiting' AND p.whatsapp_message_id IS NOT NULL`,
    [keys.map((k) => k.appId), keys.map((k) => k.providerId)],
  );
  return rows.map((row) => ({ appId: row.app_id, providerId: row.whatsapp_message_id }));
}

/** Waiting reports of one app for one destination since a time, for reconciling a lost dispatch answer. */
export async function parkedGupshupIdsForDestination(
  tx: SqlExecutor,
  appId: string,
  destination: string,
  since: Date,
): Promise<string[]> {
  const rows = await tx.query<{ gupshup_message_id: string }>(
    `SELECT DISTINCT gupshup_message_id FROM parked_callbacks
      WHERE state = 'waiting' AND app_id = $1 AND destination = $2 AND received_at >= $3 AND gupshup_message_id IS NOT NULL
        AND provider_status IN ('enqueued', 'sent', 'delivered', 'read', 'failed')`,
    [appId, destination, since.toISOString()],
  );
  return rows.map((row) => row.gupshup_message_id);
}

export async function countParkedByState(db: SqlExecutor): Promise<Record<ParkedState, number>> {
  const rows = await db.query<{ state: ParkedState; count: string }>('SELECT state, count(*) AS count FROM parked_callbacks GROUP BY state');
  const counts: Record<ParkedState, number> = { waiting: 0, invalid: 0 };
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
    raw_body: string;
    received_at: Date;
    parked_at: Date;
  }>(
    `SELECT id, app_id, state, format, provider_status, gupshup_message_id, whatsapp_message_id, destination, problem, raw_body, received_at, parked_at
       FROM parked_callbacks
      WHERE ($1::text IS NULL OR app_id = $1) AND ($2::text IS NULL OR state = $2) AND ($3::bigint IS NULL OR id < $3)
      ORDER BY id DESC
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
    body: parseStoredBody(row.raw_body),
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
