import { types, type CustomTypesConfig, type QueryResultRow } from 'pg';
import type { Database } from '../../database/database';
import { WHATSAPP_PROVIDER, type MessageStatus, type TimelineEntry } from '../domain';
import type { MessageResponse } from './message-response';

/**
 * The columns of message_status_view that the API shows, and nothing else (`m.` is the table
 * alias): every extra column costs decoding on each row of each read.
 */
export const MESSAGE_RESPONSE_COLUMNS = [
  'message_id',
  'request_id',
  'recipient',
  'phone_number',
  'provider_message_id',
  'status',
  'queued_at',
  'sent_at',
  'delivered_at',
  'seen_at',
  'discarded_at',
  'discard_code',
  'discard_reason',
  'timeline',
]
  .map((column) => `m.${column}`)
  .join(', ');

/** A row of MESSAGE_RESPONSE_COLUMNS, its times already in the API's ISO 8601 form. */
export interface MessageResponseRow {
  message_id: string;
  request_id: string | null;
  recipient: string | null;
  phone_number: string | null;
  provider_message_id: string | null;
  status: MessageStatus;
  queued_at: string | null;
  sent_at: string | null;
  delivered_at: string | null;
  seen_at: string | null;
  discarded_at: string | null;
  discard_code: string | null;
  discard_reason: string | null;
  timeline: TimelineEntry[];
}

const TIMESTAMPTZ_OID = 1184;
const parseTimestamptz = types.getTypeParser(TIMESTAMPTZ_OID, 'text') as (text: string) => Date;

/**
 * A timestamptz as PostgreSQL prints it, in Date.toISOString()'s form: what the API has always
 * shown (milliseconds, truncated). The usual case, a UTC session and the ISO DateStyle
 * ('2026-03-01 10:00:05.12+00'), is rewritten without building a Date; any other form goes
 * through node-postgres's own parser, as before.
 */
export function isoFromTimestamptz(text: string): string {
  const length = text.length;
  if (length >= 22 && length <= 29 && text[4] === '-' && text[10] === ' ' && (length === 22 || text[19] === '.') && text.endsWith('+00')) {
    const fraction = length > 22 ? text.slice(20, length - 3) : '';
    return `${text.slice(0, 10)}T${text.slice(11, 19)}.${(fraction + '000').slice(0, 3)}Z`;
  }
  return parseTimestamptz(text).toISOString();
}

/** node-postgres's parsers, except timestamptz, which comes back as ISO text (see isoFromTimestamptz). */
export const MESSAGE_ROW_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMPTZ_OID && format !== 'binary' ? isoFromTimestamptz : types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};

/** Statement names by SQL text: the reads of this module are a small fixed set. */
const statementNames = new Map<string, string>();

/**
 * Runs one of this module's reads as a named prepared statement (parsed and planned once per
 * connection) and with MESSAGE_ROW_TYPES, straight on the pool: Database.query takes no types.
 */
export async function queryMessageRows<R extends QueryResultRow>(db: Database, text: string, values: unknown[]): Promise<R[]> {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `whatsapp_queries_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return (await db.pool.query<R>({ name, text, values, types: MESSAGE_ROW_TYPES })).rows;
}

/** The API's message from its row; the same object messageResponse() makes from the domain's view. */
export function messageResponseFromRow(row: MessageResponseRow): MessageResponse {
  return {
    messageId: row.message_id,
    requestId: row.request_id,
    recipient: row.recipient,
    phoneNumber: row.phone_number,
    provider: WHATSAPP_PROVIDER,
    providerMessageId: row.provider_message_id,
    status: row.status,
    queuedAt: row.queued_at,
    sentAt: row.sent_at,
    deliveredAt: row.delivered_at,
    seenAt: row.seen_at,
    discardedAt: row.discarded_at,
    discardReason: row.discard_code === null ? null : { code: row.discard_code, reason: row.discard_reason ?? '' },
    // Parsed from this row's json just now: nothing else holds these objects.
    timeline: row.timeline,
  };
}
