import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ReadDatabase } from '../../../database/read-database';
import { parseIsoInstant } from '../../../common/input-schemas';
import { MESSAGE_RESPONSE_COLUMNS, messageResponseFromRow, queryMessageRows, type MessageResponseRow } from '../message-rows';
import { InvalidQueryError } from '../../../common/validation';
import { appIdSchema, checkedQueryInput } from '../query-input';
import { DEFAULT_PAGE_SIZE, listMessagesQuerySchema, type ListMessagesParams, type MessagePage } from './list-messages.dto';
import { decodeMessageCursor, encodeMessageCursor } from './message-cursor';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/**
 * The filters of ListWhatsAppMessagesQuery: the query parameters of GET /v3/messages, checked by
 * the same schema (listMessagesQuerySchema). from/to are ISO 8601, inclusive bounds on queuedAt
 * (a bare date as `to` includes that whole day, UTC); cursor is a nextCursor of a previous page.
 */
export type MessageFilters = ListMessagesParams;

/**
 * A page of the app's messages, newest first. Keyset pagination on (queued_at, message_id):
 * each page starts strictly after the previous page's last message, so messages queued while
 * a caller pages through appear neither twice nor in place of others.
 */
export class ListWhatsAppMessagesQuery extends Query<MessagePage> {
  constructor(
    readonly appId: string,
    readonly filters: MessageFilters = {},
  ) {
    super();
  }
}

/** The read behind a page of GET /v3/messages: its SQL, parameters and page size. */
export interface ListMessagesStatement {
  text: string;
  values: unknown[];
  /** Messages per page: the statement asks for one more, to tell whether a next page exists. */
  limit: number;
}

/** The statement that reads a page; invalid filters are refused with a 400 that says why. */
export function listMessagesStatement(appId: string, filters: MessageFilters): ListMessagesStatement {
  const limit = filters.limit ?? DEFAULT_PAGE_SIZE;
  const values: unknown[] = [appId];
  const where = ['m.app_id = $1', 'm.queued_at IS NOT NULL'];
  const param = (value: unknown) => `$${values.push(value)}`;
  if (filters.status) where.push(`m.status = ${param(filters.status)}`);
  if (filters.recipient) where.push(`m.recipient = ${param(filters.recipient)}`);
  if (filters.requestId) where.push(`m.request_id = ${param(filters.requestId)}`);
  if (filters.phoneNumber) where.push(`m.phone_number = ${param(filters.phoneNumber)}`);
  if (filters.discardCode) where.push(`m.discard_code = ${param(filters.discardCode)}`);
  if (filters.category) where.push(`m.category = ${param(filters.category)}`);
  if (filters.template) where.push(`m.template = ${param(filters.template)}`);
  const from = filters.from === undefined ? undefined : parseTime('from', filters.from);
  // A bare date as `to` means the whole of that day (UTC).
  const to = filters.to === undefined ? undefined : parseTime('to', filters.to) + (DATE_ONLY.test(filters.to) ? DAY_MS - 1 : 0);
  if (from !== undefined && to !== undefined && from > to) {
    throw new InvalidQueryError([`from (${filters.from}) is after to (${filters.to}): from must not be later than to`]);
  }
  if (from !== undefined) where.push(`m.queued_at >= ${param(new Date(from).toISOString())}::timestamptz`);
  if (to !== undefined) where.push(`m.queued_at <= ${param(new Date(to).toISOString())}::timestamptz`);
  if (filters.cursor !== undefined) {
    const cursor = decodeMessageCursor(filters.cursor);
    where.push(`(m.queued_at, m.message_id) < (${param(cursor.queuedAt)}::timestamptz, ${param(cursor.messageId)})`);
  }
  // The text depends only on which filters are present, so each combination is prepared once.
  const text = `SELECT ${MESSAGE_RESPONSE_COLUMNS} FROM message_status_view m
        WHERE ${where.join(' AND ')}
        ORDER BY m.queued_at DESC, m.message_id DESC
        LIMIT ${param(limit + 1)}`;
  return { text, values, limit };
}

@QueryHandler(ListWhatsAppMessagesQuery)
export class ListMessagesHandler implements IQueryHandler<ListWhatsAppMessagesQuery, MessagePage> {
  constructor(private readonly db: ReadDatabase) {}

  async execute(query: ListWhatsAppMessagesQuery): Promise<MessagePage> {
    // Filters from another module come as they are: checked here as GET /v3/messages checks its query.
    const appId = checkedQueryInput(appIdSchema, query.appId, 'appId');
    const filters = checkedQueryInput(listMessagesQuerySchema, query.filters, 'filters');
    const { text, values, limit } = listMessagesStatement(appId, filters);
    const rows = await queryMessageRows<MessageResponseRow>(this.db, text, values);
    const page = rows.length > limit ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return {
      data: page.map(messageResponseFromRow),
      nextCursor: rows.length > limit && last ? encodeMessageCursor({ queuedAt: last.queued_at!, messageId: last.message_id }) : null,
    };
  }
}

/** Milliseconds of an ISO 8601 time (UTC when it has no offset); week and ordinal dates, and years past 9999, are refused. */
function parseTime(name: string, text: string): number {
  const ms = parseIsoInstant(text);
  if (Number.isNaN(ms)) {
    throw new InvalidQueryError([`${name} must be a calendar date or time in ISO 8601 between years 1 and 9999, e.g. 2026-03-01 or 2026-03-01T10:00:00Z`]);
  }
  return ms;
}
