import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '../../database/database';
import {
  EventStoreSubscription,
  eventTypeOf,
  toStoreEvent,
  type RecordedEvent,
  type SubscriptionHandler,
} from '../../event-store';
import {
  applyAllToMessageView,
  emptyMessageView,
  isMessageEvent,
  MESSAGE_EVENTS,
  MESSAGE_STATUSES,
  NotificationRequested,
  type MessageView,
  type WhatsAppMessageEvent,
} from '../domain';
import { MESSAGE_STATUS_COLUMNS, messageStatusRecord, messageViewFromRow, storableTime, type MessageStatusRow } from './message-status-row';
import {
  DAILY_METRICS,
  dailyStatsDeltas,
  statusCountDeltas,
  SUMMARY_COUNTERS,
  summaryDeltas,
  type MessageChange,
} from './view-deltas';

interface ProjectedChange extends MessageChange {
  lastStreamPosition: number;
}

/** What the batch's NotificationRequested events say about their requests. */
interface RequestFacts {
  appId: string;
  requestedAt: string | null;
}

/** The tables this projection builds, in the order they are cleared and compared. */
export const MESSAGE_VIEW_TABLES = [
  'message_status_view',
  'notification_summary_view',
  'whatsapp_daily_stats',
  'whatsapp_message_status_counts',
] as const;

/**
 * Builds every WhatsApp read model from one durable subscription, so that they commit together
 * with its checkpoint and never disagree: the message views (the domain's fold, stored column
 * by column), and from each message's view before and after a batch, the deltas of the
 * per-request summary, the daily statistics and the status counts.
 *
 * A batch costs a fixed number of statements whatever its size: one read of the affected
 * messages, then one set-based write per table (plus a clean-up of counters back at zero, only
 * when some went down). Events at or below a message's last applied stream position are
 * skipped, so a replayed batch changes nothing.
 */
@Injectable()
@EventStoreSubscription()
export class MessageViewsProjection implements SubscriptionHandler {
  readonly subscriptionName = 'whatsapp_message_views';
  readonly eventTypes = [NotificationRequested, ...MESSAGE_EVENTS].map((eventClass) => eventTypeOf(eventClass).type);
  readonly tables = MESSAGE_VIEW_TABLES;

  async handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    const requests = new Map<string, RequestFacts>();
    const byMessage = new Map<string, WhatsAppMessageEvent[]>();
    for (const recorded of events) {
      const event = toStoreEvent(recorded);
      if (event instanceof NotificationRequested) {
        const { requestId, appId, requestedAt } = event.data;
        requests.set(requestId, { appId, requestedAt: storableTime(requestedAt) });
      } else if (isMessageEvent(event)) {
        const list = byMessage.get(event.data.messageId);
        if (list) list.push(event);
        else byMessage.set(event.data.messageId, [event]);
      }
    }
    const changes = await this.foldMessages(byMessage, tx);
    await this.writeMessages(changes, tx);
    await this.writeSummaries(changes, requests, tx);
    await this.writeDailyStats(changes, tx);
    await this.writeStatusCounts(changes, tx);
  }

  async reset(tx: SqlExecutor): Promise<void> {
    await tx.query(`TRUNCATE ${MESSAGE_VIEW_TABLES.join(', ')}`);
  }

  /** Each message's stored view with the batch's new events applied; unchanged messages are left out. */
  private async foldMessages(byMessage: Map<string, WhatsAppMessageEvent[]>, tx: SqlExecutor): Promise<ProjectedChange[]> {
    if (byMessage.size === 0) return [];
    const rows = await tx.query<MessageStatusRow>(
      `SELECT ${MESSAGE_STATUS_COLUMNS} FROM message_status_view m WHERE m.message_id = ANY($1::text[])`,
      [[...byMessage.keys()]],
    );
    const stored = new Map(rows.map((row) => [row.message_id, row]));
    const changes: ProjectedChange[] = [];
    for (const [messageId, messageEvents] of byMessage) {
      const row = stored.get(messageId);
      const before: MessageView | null = row ? messageViewFromRow(row) : null;
      const position = row ? Number(row.last_stream_position) : 0;
      // The log hands each stream's events over in stream order.
      const fresh = messageEvents.filter((event) => event.recorded!.streamPosition > position);
      if (fresh.length === 0) continue;
      const after = applyAllToMessageView(before ?? emptyMessageView(), fresh);
      changes.push({ before, after, lastStreamPosition: fresh[fresh.length - 1].recorded!.streamPosition });
    }
    return changes;
  }

  private async writeMessages(changes: ProjectedChange[], tx: SqlExecutor): Promise<void> {
    if (changes.length === 0) return;
    const records = changes.map((change) => messageStatusRecord(change.after, change.lastStreamPosition));
    await tx.query(
      `INSERT INTO message_status_view AS m (
         message_id, app_id, request_id, recipient, phone_number, provider_message_id, whatsapp_message_id, status,
         queued_at, sent_at, delivered_at, seen_at, discarded_at, discard_code, discard_reason, timeline, attempts,
         last_error, last_stream_position, updated_at)
       SELECT r.message_id, r.app_id, r.request_id, r.recipient, r.phone_number, r.provider_message_id, r.whatsapp_message_id,
              r.status, r.queued_at, r.sent_at, r.delivered_at, r.seen_at, r.discarded_at, r.discard_code, r.discard_reason,
              r.timeline, r.attempts, r.last_error, r.last_stream_position, now()
         FROM json_to_recordset($1::json) AS r(
           message_id text, app_id text, request_id text, recipient text, phone_number text, provider_message_id text,
           whatsapp_message_id text, status text, queued_at timestamptz, sent_at timestamptz, delivered_at timestamptz,
           seen_at timestamptz, discarded_at timestamptz, discard_code text, discard_reason text, timeline json,
           attempts integer, last_error json, last_stream_position bigint)
       ON CONFLICT (message_id) DO UPDATE SET
         app_id = EXCLUDED.app_id, request_id = EXCLUDED.request_id, recipient = EXCLUDED.recipient,
         phone_number = EXCLUDED.phone_number, provider_message_id = EXCLUDED.provider_message_id,
         whatsapp_message_id = EXCLUDED.whatsapp_message_id, status = EXCLUDED.status, queued_at = EXCLUDED.queued_at,
         sent_at = EXCLUDED.sent_at, delivered_at = EXCLUDED.delivered_at, seen_at = EXCLUDED.seen_at,
         discarded_at = EXCLUDED.discarded_at, discard_code = EXCLUDED.discard_code,
         discard_reason = EXCLUDED.discard_reason, timeline = EXCLUDED.timeline, attempts = EXCLUDED.attempts,
         last_error = EXCLUDED.last_error, last_stream_position = EXCLUDED.last_stream_position, updated_at = now()
       WHERE m.last_stream_position < EXCLUDED.last_stream_position`,
      [JSON.stringify(records)],
    );
  }

  private async writeSummaries(changes: ProjectedChange[], requests: Map<string, RequestFacts>, tx: SqlExecutor): Promise<void> {
    const firstQueuedAt = new Map<string, string>();
    for (const { after } of changes) {
      const queuedAt = storableTime(after.queuedAt);
      if (!after.requestId || !queuedAt) continue;
      const current = firstQueuedAt.get(after.requestId);
      if (current === undefined || queuedAt < current) firstQueuedAt.set(after.requestId, queuedAt);
    }
    const records = new Map<string, Record<string, unknown>>();
    for (const { key, counts } of summaryDeltas(changes).changes(SUMMARY_COUNTERS)) {
      records.set(key.requestId, {
        request_id: key.requestId,
        app_id: key.appId,
        requested_at: null,
        first_queued_at: firstQueuedAt.get(key.requestId) ?? null,
        ...Object.fromEntries(MESSAGE_STATUSES.map((status) => [status, counts[status]])),
        message_count: counts.messages,
      });
    }
    for (const [requestId, facts] of requests) {
      const record = records.get(requestId);
      if (record) record.requested_at = facts.requestedAt;
      else {
        records.set(requestId, {
          request_id: requestId,
          app_id: facts.appId,
          requested_at: facts.requestedAt,
          first_queued_at: null,
          ...Object.fromEntries(MESSAGE_STATUSES.map((status) => [status, 0])),
          message_count: 0,
        });
      }
    }
    if (records.size === 0) return;
    // least() skips nulls: each time is the earliest ever seen, whatever the batches were.
    await tx.query(
      `INSERT INTO notification_summary_view AS s (
         request_id, app_id, requested_at, first_queued_at, queued, sent, delivered, seen, discarded, message_count, updated_at)
       SELECT r.request_id, r.app_id, r.requested_at, r.first_queued_at, r.queued, r.sent, r.delivered, r.seen, r.discarded,
              r.message_count, now()
         FROM json_to_recordset($1::json) AS r(
           request_id text, app_id text, requested_at timestamptz, first_queued_at timestamptz,
           queued integer, sent integer, delivered integer, seen integer, discarded integer, message_count integer)
       ON CONFLICT (request_id) DO UPDATE SET
         requested_at = least(s.requested_at, EXCLUDED.requested_at),
         first_queued_at = least(s.first_queued_at, EXCLUDED.first_queued_at),
         queued = s.queued + EXCLUDED.queued, sent = s.sent + EXCLUDED.sent,
         delivered = s.delivered + EXCLUDED.delivered, seen = s.seen + EXCLUDED.seen,
         discarded = s.discarded + EXCLUDED.discarded, message_count = s.message_count + EXCLUDED.message_count,
         updated_at = now()
       -- A NotificationRequested read again changes nothing, and then writes nothing.
       WHERE EXCLUDED.message_count <> 0 OR EXCLUDED.queued <> 0 OR EXCLUDED.sent <> 0 OR EXCLUDED.delivered <> 0
          OR EXCLUDED.seen <> 0 OR EXCLUDED.discarded <> 0
          OR s.requested_at IS DISTINCT FROM least(s.requested_at, EXCLUDED.requested_at)
          OR s.first_queued_at IS DISTINCT FROM least(s.first_queued_at, EXCLUDED.first_queued_at)`,
      [JSON.stringify([...records.values()])],
    );
  }

  private async writeDailyStats(changes: ProjectedChange[], tx: SqlExecutor): Promise<void> {
    const deltas = dailyStatsDeltas(changes).changes(DAILY_METRICS);
    if (deltas.length === 0) return;
    const records = JSON.stringify(deltas.map(({ key, counts }) => ({ app_id: key.appId, day: key.day, ...counts })));
    await tx.query(
      `INSERT INTO whatsapp_daily_stats AS d (app_id, day, sent, delivered, seen, discarded)
       SELECT r.app_id, r.day, r.sent, r.delivered, r.seen, r.discarded
         FROM json_to_recordset($1::json) AS r(app_id text, day date, sent integer, delivered integer, seen integer, discarded integer)
       ON CONFLICT (app_id, day) DO UPDATE SET
         sent = d.sent + EXCLUDED.sent, delivered = d.delivered + EXCLUDED.delivered,
         seen = d.seen + EXCLUDED.seen, discarded = d.discarded + EXCLUDED.discarded`,
      [records],
    );
    // A day whose every count went back to zero is dropped, as if it had never been counted:
    // the table then depends on the events only, not on how they were batched.
    if (deltas.some((delta) => delta.decreased)) {
      await tx.query(
        `DELETE FROM whatsapp_daily_stats d
          USING json_to_recordset($1::json) AS r(app_id text, day date)
          WHERE d.app_id = r.app_id AND d.day = r.day
            AND d.sent = 0 AND d.delivered = 0 AND d.seen = 0 AND d.discarded = 0`,
        [records],
      );
    }
  }

  private async writeStatusCounts(changes: ProjectedChange[], tx: SqlExecutor): Promise<void> {
    const deltas = statusCountDeltas(changes).changes(['messages']);
    if (deltas.length === 0) return;
    const records = JSON.stringify(deltas.map(({ key, counts }) => ({ app_id: key.appId, status: key.status, messages: counts.messages })));
    await tx.query(
      `INSERT INTO whatsapp_message_status_counts AS c (app_id, status, messages)
       SELECT r.app_id, r.status, r.messages FROM json_to_recordset($1::json) AS r(app_id text, status text, messages bigint)
       ON CONFLICT (app_id, status) DO UPDATE SET messages = c.messages + EXCLUDED.messages`,
      [records],
    );
    if (deltas.some((delta) => delta.decreased)) {
      await tx.query(
        `DELETE FROM whatsapp_message_status_counts c
          USING json_to_recordset($1::json) AS r(app_id text, status text)
          WHERE c.app_id = r.app_id AND c.status = r.status AND c.messages = 0`,
        [records],
      );
    }
  }
}
