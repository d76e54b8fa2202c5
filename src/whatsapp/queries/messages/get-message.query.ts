import { NotFoundException } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ReadDatabase } from '../../../database/read-database';
import type { MessageResponse } from '../message-response';
import { MESSAGE_RESPONSE_COLUMNS, messageResponseFromRow, queryMessageRows, type MessageResponseRow } from '../message-rows';

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

  async execute({ appId, messageId }: GetWhatsAppMessageQuery): Promise<MessageResponse> {
    const [row] = await queryMessageRows<MessageResponseRow>(this.db, GET_MESSAGE_SQL, [messageId, appId]);
    if (!row) {
      throw new NotFoundException(
        `No message ${messageId} in this app: use a messageId returned by POST /v3/notifications (a message just sent may take a moment to appear)`,
      );
    }
    return messageResponseFromRow(row);
  }
}
