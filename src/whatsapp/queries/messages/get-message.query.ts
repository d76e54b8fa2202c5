import { NotFoundException } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { Database } from '../../../database/database';
import { ReadDatabase } from '../../../database/read-database';
import type { MessageResponse } from '../message-response';
import { MESSAGE_RESPONSE_COLUMNS, messageResponseFromRow, queryMessageRows, type MessageResponseRow } from '../message-rows';
import { appIdSchema, checkedQueryInput } from '../query-input';
import { MESSAGE_ID_SCHEMA } from './list-messages.dto';

/** The read behind GET /v3/messages/{id}: $1 the message id, $2 the app id (the primary key, then the app). */
export const GET_MESSAGE_SQL = `SELECT ${MESSAGE_RESPONSE_COLUMNS} FROM message_status_view m WHERE m.message_id = $1 AND m.app_id = $2`;

/** One message of the app; another app's message is not found, as if it did not exist. */
export class GetWhatsAppMessageQuery extends Query<MessageResponse> {
  constructor(
    readonly appId: string,
    readonly messageId: string,
  ) {
    super();
  }
}

@QueryHandler(GetWhatsAppMessageQuery)
export class GetMessageHandler implements IQueryHandler<GetWhatsAppMessageQuery, MessageResponse> {
  constructor(private readonly db: ReadDatabase) {}

  async execute(query: GetWhatsAppMessageQuery): Promise<MessageResponse> {
    // As GET /v3/messages/{messageId} checks its path: a caller of the QueryBus may pass anything.
    const appId = checkedQueryInput(appIdSchema, query.appId, 'appId');
    const messageId = checkedQueryInput(MESSAGE_ID_SCHEMA, query.messageId, 'messageId');
    const [row] = await queryMessageRows<MessageResponseRow>(this.db, GET_MESSAGE_SQL, [messageId, appId]);
    if (!row) {
      throw new NotFoundException(
        `No message ${messageId} in this app: use a messageId returned by POST /v3/notifications (a message just sent may take a moment to appear)`,
      );
    }
    return messageResponseFromRow(row);
  }
}

/** The read behind GetWhatsAppMessagesQuery: $1 the message ids, $2 the app id. */
export const GET_MESSAGES_SQL = `SELECT ${MESSAGE_RESPONSE_COLUMNS} FROM message_status_view m WHERE m.message_id = ANY($1::text[]) AND m.app_id = $2`;

/** Several messages of the app at once (those that exist), for a live view told which ones changed. */
export class GetWhatsAppMessagesQuery extends Query<MessageResponse[]> {
  constructor(
    readonly appId: string,
    readonly messageIds: readonly string[],
  ) {
    super();
  }
}

@QueryHandler(GetWhatsAppMessagesQuery)
export class GetMessagesHandler implements IQueryHandler<GetWhatsAppMessagesQuery, MessageResponse[]> {
  // The primary, not a replica: it is asked right after the primary said these rows changed.
  constructor(private readonly db: Database) {}

  async execute({ appId, messageIds }: GetWhatsAppMessagesQuery): Promise<MessageResponse[]> {
    if (messageIds.length === 0) return [];
    const rows = await queryMessageRows<MessageResponseRow>(this.db, GET_MESSAGES_SQL, [messageIds, appId]);
    return rows.map(messageResponseFromRow);
  }
}
