import { ApiProperty } from '@nestjs/swagger';
import { MessageResponse } from '../message-response';
import { NOTIFICATION_MESSAGES_LIMIT } from './notification-limits';

export class StatusCountsResponse {
  @ApiProperty() queued!: number;
  @ApiProperty() sent!: number;
  @ApiProperty() delivered!: number;
  @ApiProperty() seen!: number;
  @ApiProperty() discarded!: number;
}

export class NotificationResponse {
  @ApiProperty()
  requestId!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When the send request was accepted' })
  createdAt!: string | null;

  @ApiProperty({ description: 'How many WhatsApp messages the request has (one per recipient)' })
  messageCount!: number;

  @ApiProperty({ type: StatusCountsResponse, description: 'Messages per current status; they add up to messageCount' })
  counts!: StatusCountsResponse;

  @ApiProperty({
    type: [MessageResponse],
    description: `The messages, oldest first; at most ${NOTIFICATION_MESSAGES_LIMIT} (for more, page through GET /v3/messages?requestId=...)`,
  })
  messages!: MessageResponse[];
}
