import { NotFoundException } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ReadDatabase } from '../../../database/read-database';
import { MESSAGE_RESPONSE_COLUMNS, messageResponseFromRow, queryMessageRows, type MessageResponseRow } from '../message-rows';
import { REQUEST_ID_SCHEMA } from '../messages/list-messages.dto';
import { appIdSchema, checkedQueryInput } from '../query-input';
import { NOTIFICATION_MESSAGES_LIMIT } from './notification-limits';
import type { NotificationResponse } from './notification-response';

/** One send request of the app with its messages; another app's request is not found. */
export class GetWhatsAppNotificationQuery extends Query<NotificationResponse> {
  constructor(
    readonly appId: string,
    readonly requestId: string,
  ) {
    super();
  }
}

interface SummaryRow {
  request_id: string;
  created_at: Date | null;
  category: string | null;
  notification: Record<string, unknown> | null;
  queued: number;
  sent: number;
  delivered: number;
  seen: number;
  discarded: number;
  message_count: number;
}

@QueryHandler(GetWhatsAppNotificationQuery)
export class GetNotificationHandler implements IQueryHandler<GetWhatsAppNotificationQuery, NotificationResponse> {
  constructor(private readonly db: ReadDatabase) {}

  async execute(query: GetWhatsAppNotificationQuery): Promise<NotificationResponse> {
    // As GET /v3/notifications/{requestId} checks its path: a caller of the QueryBus may pass anything.
    const appId = checkedQueryInput(appIdSchema, query.appId, 'appId');
    const requestId = checkedQueryInput(REQUEST_ID_SCHEMA, query.requestId, 'requestId');
    const [summary] = await this.db.query<SummaryRow>(
      `SELECT request_id, created_at, category, notification, queued, sent, delivered, seen, discarded, message_count
         FROM notification_summary_view WHERE request_id = $1 AND app_id = $2`,
      [requestId, appId],
    );
    if (!summary) {
      throw new NotFoundException(
        `No notification ${requestId} in this app: use the requestId returned by POST /v3/notifications (a request just sent may take a moment to appear)`,
      );
    }
    const rows = await queryMessageRows<MessageResponseRow>(
      this.db,
      `SELECT ${MESSAGE_RESPONSE_COLUMNS} FROM message_status_view m
        WHERE m.request_id = $1 AND m.app_id = $2
        ORDER BY m.queued_at, m.message_id
        LIMIT $3`,
      [requestId, appId, NOTIFICATION_MESSAGES_LIMIT],
    );
    return {
      requestId: summary.request_id,
      createdAt: summary.created_at?.toISOString() ?? null,
      category: summary.category,
      notification: summary.notification,
      messageCount: summary.message_count,
      counts: {
        queued: summary.queued,
        sent: summary.sent,
        delivered: summary.delivered,
        seen: summary.seen,
        discarded: summary.discarded,
      },
      messages: rows.map(messageResponseFromRow),
    };
  }
}
