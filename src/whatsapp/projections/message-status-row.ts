import {
  isTime,
  WHATSAPP_PROVIDER,
  type LastDispatchError,
  type MessagePricing,
  type MessageStatus,
  type MessageView,
  type TimelineEntry,
} from '../domain';

/** The fields of the domain's MessageView that message_status_view stores (provider is a constant). */
export type StoredMessageView = Omit<MessageView, 'provider'>;

/** A row of message_status_view as node-postgres returns it: values by column name. */
export type MessageStatusRow = Record<string, unknown> & { message_id: string; last_stream_position: string };

/** The JSON record a row is written from (see insertMessageStatusRecords). */
export type MessageStatusRecord = Record<string, unknown>;

/** The type of a column as json_to_recordset reads it from the written record. */
type RecordType = 'text' | 'timestamptz' | 'json' | 'integer' | 'bigint';

/**
 * One column of message_status_view: how it is written from the view and read back into it.
 * `field` is the view's field the column holds (read fills it from the whole row, so that a
 * field may span two columns); a column without one is read by another column's `read`.
 */
interface ViewColumn {
  readonly name: string;
  readonly type: RecordType;
  readonly write: (view: StoredMessageView, lastStreamPosition: number) => unknown;
  readonly field?: keyof StoredMessageView;
  readonly read?: (row: Record<string, unknown>) => unknown;
  /** Shown by the API (read by GET /v3/messages and friends); the others are internal. */
  readonly inResponse: boolean;
}

const text = (name: string, field: keyof StoredMessageView, inResponse: boolean): ViewColumn => ({
  name,
  type: 'text',
  field,
  inResponse,
  write: (view) => view[field],
  read: (row) => row[name] as string | null,
});

const time = (name: string, field: 'queuedAt' | 'sentAt' | 'deliveredAt' | 'seenAt' | 'discardedAt'): ViewColumn => ({
  name,
  type: 'timestamptz',
  field,
  inResponse: true,
  write: (view) => storableTime(view[field]),
  read: (row) => isoOrNull(row[name] as Date | string | null),
});

/**
 * message_status_view's columns: the one list that the projection's insert and upsert, the
 * rebuild, the projection's reads and the API's rows are made from. A new column is a line here
 * and its migration (columns are always named, so their order in the table does not matter).
 */
export const MESSAGE_STATUS_VIEW_COLUMNS: readonly ViewColumn[] = [
  text('message_id', 'messageId', true),
  text('app_id', 'appId', false),
  text('request_id', 'requestId', true),
  text('recipient', 'recipient', true),
  text('phone_number', 'phoneNumber', true),
  text('provider_message_id', 'providerMessageId', true),
  text('whatsapp_message_id', 'whatsappMessageId', false),
  { name: 'status', type: 'text', field: 'status', inResponse: true, write: (view) => view.status, read: (row) => row.status as MessageStatus },
  time('queued_at', 'queuedAt'),
  time('sent_at', 'sentAt'),
  time('delivered_at', 'deliveredAt'),
  time('seen_at', 'seenAt'),
  time('discarded_at', 'discardedAt'),
  {
    name: 'discard_code',
    type: 'text',
    field: 'discardReason',
    inResponse: true,
    write: (view) => view.discardReason?.code ?? null,
    read: (row) => (row.discard_code === null ? null : { code: row.discard_code as string, reason: (row.discard_reason as string | null) ?? '' }),
  },
  { name: 'discard_reason', type: 'text', inResponse: true, write: (view) => view.discardReason?.reason ?? null },
  // json columns give back exactly what was written: the domain's own objects.
  { name: 'timeline', type: 'json', field: 'timeline', inResponse: true, write: (view) => view.timeline, read: (row) => row.timeline as TimelineEntry[] },
  { name: 'attempts', type: 'integer', field: 'attempts', inResponse: false, write: (view) => view.attempts, read: (row) => row.attempts as number },
  { name: 'last_error', type: 'json', field: 'lastError', inResponse: false, write: (view) => view.lastError, read: (row) => row.last_error as LastDispatchError | null },
  { name: 'last_stream_position', type: 'bigint', inResponse: false, write: (_view, lastStreamPosition) => lastStreamPosition },
  text('category', 'category', true),
  text('template', 'template', true),
  { name: 'pricing', type: 'json', field: 'pricing', inResponse: true, write: (view) => view.pricing, read: (row) => (row.pricing as MessagePricing | null) ?? null },
];

const RESPONSE_COLUMNS = MESSAGE_STATUS_VIEW_COLUMNS.filter((column) => column.inResponse);

/** `m.`-prefixed column list for SELECTs. */
function selectList(columns: readonly ViewColumn[]): string {
  return columns.map((column) => `m.${column.name}`).join(', ');
}

/** Every column, for SELECTs (`m.` is the table alias). */
export const MESSAGE_STATUS_COLUMNS = selectList(MESSAGE_STATUS_VIEW_COLUMNS);

/** The columns the API shows, and nothing else: every extra column costs decoding on each row of each read. */
export const MESSAGE_RESPONSE_COLUMN_LIST = selectList(RESPONSE_COLUMNS);

type RowReader = (row: Record<string, unknown>) => Record<string, unknown>;

/**
 * A function that reads the fields `columns` hold from a row into one object literal, built once
 * from the list: every object it returns has the same shape, which keeps reading a row as cheap as
 * the hand-written literal it replaces (building the object key by key was ten times slower).
 * The keys are the view's own field names, from the list above, never input.
 */
function compileReader(columns: readonly ViewColumn[], extra: Record<string, unknown> = {}): RowReader {
  const readers = columns.filter((column) => column.field && column.read);
  const fields = readers.map((column, index) => `${JSON.stringify(column.field)}: read[${index}](row)`);
  const constants = Object.keys(extra).map((key) => `${JSON.stringify(key)}: extra[${JSON.stringify(key)}]`);
  const build = new Function('read', 'extra', `return (row) => ({ ${[...fields, ...constants].join(', ')} });`) as (
    read: ((row: Record<string, unknown>) => unknown)[],
    extra: Record<string, unknown>,
  ) => RowReader;
  return build(
    readers.map((column) => column.read!),
    extra,
  );
}

/** The record a row is written from, built the same way (see compileReader). */
function compileWriter(columns: readonly ViewColumn[]): (view: StoredMessageView, lastStreamPosition: number) => MessageStatusRecord {
  const values = columns.map((column, index) => `${JSON.stringify(column.name)}: write[${index}](view, position)`);
  const build = new Function('write', `return (view, position) => ({ ${values.join(', ')} });`) as (
    write: ViewColumn['write'][],
  ) => (view: StoredMessageView, lastStreamPosition: number) => MessageStatusRecord;
  return build(columns.map((column) => column.write));
}

const readView = compileReader(MESSAGE_STATUS_VIEW_COLUMNS, { provider: WHATSAPP_PROVIDER });
const readResponseFields = compileReader(RESPONSE_COLUMNS);
const writeRecord = compileWriter(MESSAGE_STATUS_VIEW_COLUMNS);

/** The domain's MessageView stored in a row, turned back into the same view. */
export function messageViewFromRow(row: MessageStatusRow): MessageView {
  return readView(row) as unknown as MessageView;
}

/** The fields of the view that the API shows, from a row of MESSAGE_RESPONSE_COLUMN_LIST. */
export function responseFieldsFromRow(row: Record<string, unknown>): Partial<StoredMessageView> {
  return readResponseFields(row);
}

export function messageStatusRecord(view: StoredMessageView, lastStreamPosition: number): MessageStatusRecord {
  return writeRecord(view, lastStreamPosition);
}

/**
 * The domain keeps a time it cannot parse as it was given; a timestamptz column cannot hold
 * it, and one malformed time must not stop the projection, so such a time is stored as null
 * (the timeline still shows it as received).
 */
export function storableTime(iso: string | null): string | null {
  return iso !== null && isTime(iso) ? iso : null;
}

/** node-postgres gives a Date by default; the API's reads ask for ISO text already (see queries/message-rows). */
function isoOrNull(time: Date | string | null): string | null {
  if (time === null) return null;
  return typeof time === 'string' ? time : time.toISOString();
}

const COLUMN_NAMES = MESSAGE_STATUS_VIEW_COLUMNS.map((column) => column.name).join(', ');
const RECORD_DEFINITION = MESSAGE_STATUS_VIEW_COLUMNS.map((column) => `${column.name} ${column.type}`).join(', ');

/** Inserts rows into `table` (message_status_view, or a table like it) from a JSON array of MessageStatusRecord ($1). */
export function insertMessageStatusRecords(table: string): string {
  return `INSERT INTO ${table} AS m (${COLUMN_NAMES}, updated_at)
  SELECT r.*, now() FROM json_to_recordset($1::json) AS r(${RECORD_DEFINITION})`;
}

/**
 * insertMessageStatusRecords into message_status_view, replacing a stored row with every column
 * of the new one, unless the stored row has already seen these events.
 */
export function upsertMessageStatusRecords(): string {
  const updates = MESSAGE_STATUS_VIEW_COLUMNS.filter((column) => column.name !== 'message_id').map((column) => `${column.name} = EXCLUDED.${column.name}`);
  return `${insertMessageStatusRecords('message_status_view')}
  ON CONFLICT (message_id) DO UPDATE SET ${updates.join(', ')}, updated_at = now()
  WHERE m.last_stream_position < EXCLUDED.last_stream_position`;
}
