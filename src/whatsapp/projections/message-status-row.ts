import {
  isTime,
  WHATSAPP_PROVIDER,
  type LastDispatchError,
  type MessageStatus,
  type MessageView,
  type TimelineEntry,
} from '../domain';

/** A row of message_status_view as node-postgres returns it. */
export interface MessageStatusRow {
  message_id: string;
  app_id: string;
  request_id: string | null;
  recipient: string | null;
  phone_number: string | null;
  provider_message_id: string | null;
  whatsapp_message_id: string | null;
  status: MessageStatus;
  queued_at: Date | null;
  sent_at: Date | null;
  delivered_at: Date | null;
  seen_at: Date | null;
  discarded_at: Date | null;
  discard_code: string | null;
  discard_reason: string | null;
  timeline: TimelineEntry[];
  attempts: number;
  last_error: LastDispatchError | null;
  last_stream_position: string;
}

/** Every column the view is read back from, for SELECTs (`m.` is the table alias). */
export const MESSAGE_STATUS_COLUMNS = [
  'message_id',
  'app_id',
  'request_id',
  'recipient',
  'phone_number',
  'provider_message_id',
  'whatsapp_message_id',
  'status',
  'queued_at',
  'sent_at',
  'delivered_at',
  'seen_at',
  'discarded_at',
  'discard_code',
  'discard_reason',
  'timeline',
  'attempts',
  'last_error',
  'last_stream_position',
]
  .map((column) => `m.${column}`)
  .join(', ');

/** The domain's MessageView stored in a row, turned back into the same view. */
export function messageViewFromRow(row: MessageStatusRow): MessageView {
  return {
    appId: row.app_id,
    messageId: row.message_id,
    requestId: row.request_id,
    recipient: row.recipient,
    phoneNumber: row.phone_number,
    provider: WHATSAPP_PROVIDER,
    providerMessageId: row.provider_message_id,
    whatsappMessageId: row.whatsapp_message_id,
    status: row.status,
    queuedAt: isoOrNull(row.queued_at),
    sentAt: isoOrNull(row.sent_at),
    deliveredAt: isoOrNull(row.delivered_at),
    seenAt: isoOrNull(row.seen_at),
    discardedAt: isoOrNull(row.discarded_at),
    discardReason: row.discard_code === null ? null : { code: row.discard_code, reason: row.discard_reason ?? '' },
    // json columns give back exactly what was written: the domain's own objects.
    timeline: row.timeline,
    attempts: row.attempts,
    lastError: row.last_error,
  };
}

/** The view as the JSON record message_status_view is written from (see MessageStatusProjection). */
export interface MessageStatusRecord {
  message_id: string;
  app_id: string;
  request_id: string | null;
  recipient: string | null;
  phone_number: string | null;
  provider_message_id: string | null;
  whatsapp_message_id: string | null;
  status: MessageStatus;
  queued_at: string | null;
  sent_at: string | null;
  delivered_at: string | null;
  seen_at: string | null;
  discarded_at: string | null;
  discard_code: string | null;
  discard_reason: string | null;
  timeline: readonly TimelineEntry[];
  attempts: number;
  last_error: LastDispatchError | null;
  last_stream_position: number;
}

export function messageStatusRecord(view: MessageView, lastStreamPosition: number): MessageStatusRecord {
  return {
    message_id: view.messageId,
    app_id: view.appId,
    request_id: view.requestId,
    recipient: view.recipient,
    phone_number: view.phoneNumber,
    provider_message_id: view.providerMessageId,
    whatsapp_message_id: view.whatsappMessageId,
    status: view.status,
    queued_at: storableTime(view.queuedAt),
    sent_at: storableTime(view.sentAt),
    delivered_at: storableTime(view.deliveredAt),
    seen_at: storableTime(view.seenAt),
    discarded_at: storableTime(view.discardedAt),
    discard_code: view.discardReason?.code ?? null,
    discard_reason: view.discardReason?.reason ?? null,
    timeline: view.timeline,
    attempts: view.attempts,
    last_error: view.lastError,
    last_stream_position: lastStreamPosition,
  };
}

/**
 * The domain keeps a time it cannot parse as it was given; a timestamptz column cannot hold
 * it, and one malformed time must not stop the projection, so such a time is stored as null
 * (the timeline still shows it as received).
 */
export function storableTime(iso: string | null): string | null {
  return iso !== null && isTime(iso) ? iso : null;
}

function isoOrNull(time: Date | null): string | null {
  return time === null ? null : time.toISOString();
}

/** Inserts rows into `table` (message_status_view, or a table like it) from a JSON array of MessageStatusRecord ($1). */
export function insertMessageStatusRecords(table: string): string {
  return `INSERT INTO ${table} AS m (
    message_id, app_id, request_id, recipient, phone_number, provider_message_id, whatsapp_message_id, status,
    queued_at, sent_at, delivered_at, seen_at, discarded_at, discard_code, discard_reason, timeline, attempts,
    last_error, last_stream_position, updated_at)
  SELECT r.*, now()
    FROM json_to_recordset($1::json) AS r(
      message_id text, app_id text, request_id text, recipient text, phone_number text, provider_message_id text,
      whatsapp_message_id text, status text, queued_at timestamptz, sent_at timestamptz, delivered_at timestamptz,
      seen_at timestamptz, discarded_at timestamptz, discard_code text, discard_reason text, timeline json,
      attempts integer, last_error json, last_stream_position bigint)`;
}
