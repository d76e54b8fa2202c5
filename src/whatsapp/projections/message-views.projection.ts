import { Injectable } from '@nestjs/common';
import { mapInSlices, yieldToEventLoop } from '../../common/event-loop-slices';
import type { SqlExecutor } from '../../database/database';
import {
  EventStoreSubscription,
  eventTypeOf,
  toStoreEvent,
  type RecordedEvent,
  type WholeStreamHandler,
  type WholeStreamRebuild,
} from '../../event-store';
import { applyAllToMessageView, emptyMessageView, MESSAGE_EVENTS, NotificationRequested, type MessageView } from '../domain';
import { groupByMessage, messageRecordsJson, type MessageEvents, type ProjectedChange } from './message-batch';
import { MESSAGE_STATUS_COLUMNS, messageViewFromRow, upsertMessageStatusRecords, type MessageStatusRow } from './message-status-row';
import { notifyMessageViewsChanged } from './message-views-changed';
import { MessageViewsRebuild } from './message-views.rebuild';
import { ViewCounters } from './view-counters';

/** The tables this projection builds, in the order they are cleared and compared. */
export const MESSAGE_VIEW_TABLES = [
  'message_status_view',
  'notification_summary_view',
  'whatsapp_daily_stats',
  'whatsapp_message_status_counts',
  'whatsapp_daily_billable',
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
 *
 * A rebuild from zero goes stream by stream instead (startRebuild, see MessageViewsRebuild).
 */
@Injectable()
@EventStoreSubscription()
export class MessageViewsProjection implements WholeStreamHandler {
  readonly subscriptionName = 'whatsapp_message_views';
  readonly eventTypes = [NotificationRequested, ...MESSAGE_EVENTS].map((eventClass) => eventTypeOf(eventClass).type);
  /** Each message's events (all in its stream) decide what this does with them. */
  readonly partitionedByStream = true;
  readonly tables = MESSAGE_VIEW_TABLES;

  async handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    const counters = new ViewCounters();
    const byMessage = groupByMessage(events, toStoreEvent, counters);
    const changes = await this.foldMessages(byMessage, tx);
    await yieldToEventLoop();
    counters.addChanges(changes);
    await yieldToEventLoop();
    await this.writeMessages(changes, tx);
    await counters.write(tx);
  }

  async reset(tx: SqlExecutor): Promise<void> {
    await tx.query(`TRUNCATE ${MESSAGE_VIEW_TABLES.join(', ')}`);
  }

  startRebuild(session: SqlExecutor): Promise<WholeStreamRebuild> {
    return MessageViewsRebuild.start(session, this);
  }

  /** Each message's stored view with the batch's new events applied; unchanged messages are left out. */
  private async foldMessages(byMessage: Map<string, MessageEvents>, tx: SqlExecutor): Promise<ProjectedChange[]> {
    if (byMessage.size === 0) return [];
    const rows = await tx.query<MessageStatusRow>(
      `SELECT ${MESSAGE_STATUS_COLUMNS} FROM message_status_view m WHERE m.message_id = ANY($1::text[])`,
      [[...byMessage.keys()]],
    );
    const stored = new Map(rows.map((row) => [row.message_id, row]));
    const changes: ProjectedChange[] = [];
    await mapInSlices([...byMessage], ([messageId, { events: messageEvents }]) => {
      const row = stored.get(messageId);
      const before: MessageView | null = row ? messageViewFromRow(row) : null;
      const position = row ? Number(row.last_stream_position) : 0;
      // The log hands each stream's events over in stream order.
      const fresh = messageEvents.filter((event) => event.recorded!.streamPosition > position);
      if (fresh.length === 0) return;
      const after = applyAllToMessageView(before ?? emptyMessageView(), fresh);
      changes.push({ before, after, lastStreamPosition: fresh[fresh.length - 1].recorded!.streamPosition });
    });
    return changes;
  }

  private async writeMessages(changes: ProjectedChange[], tx: SqlExecutor): Promise<void> {
    if (changes.length === 0) return;
    await tx.query(upsertMessageStatusRecords(),
      [messageRecordsJson(changes)],
    );
    await notifyMessageViewsChanged(tx, changes.map(({ after }) => after));
  }
}
