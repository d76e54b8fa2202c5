import { types, type CustomTypesConfig, type QueryResultRow } from 'pg';
import type { Database } from '../../database/database';
import { WHATSAPP_PROVIDER } from '../domain';
import { MESSAGE_RESPONSE_COLUMN_LIST, responseFieldsFromRow } from '../projections/message-status-row';
import { messageResponse, type MessageResponse, type MessageResponseFields } from './message-response';

/**
 * The columns of message_status_view that the API shows, and nothing else (`m.` is the table
 * alias), from the view's one list of columns.
 */
export const MESSAGE_RESPONSE_COLUMNS = MESSAGE_RESPONSE_COLUMN_LIST;

/** A row of MESSAGE_RESPONSE_COLUMNS, its times already in the API's ISO 8601 form (see MESSAGE_ROW_TYPES). */
export type MessageResponseRow = Record<string, unknown> & { message_id: string; queued_at: string | null };

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
  return messageResponse({ ...responseFieldsFromRow(row), provider: WHATSAPP_PROVIDER } as MessageResponseFields);
}
