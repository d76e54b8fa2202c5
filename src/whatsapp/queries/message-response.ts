import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MESSAGE_STATUSES, PROVIDER_STATUSES, WHATSAPP_PROVIDER, type MessageStatus, type MessageView, type ProviderStatus } from '../domain';

// API.md's message, as classes so that the OpenAPI description shows its exact shape.

export class TimelineEntryResponse {
  @ApiProperty({ enum: MESSAGE_STATUSES, description: "This service's status for the event" })
  status!: MessageStatus;

  @ApiPropertyOptional({ enum: PROVIDER_STATUSES, description: "Gupshup's own word; absent for this service's own events such as queued" })
  providerStatus?: ProviderStatus;

  @ApiProperty({ format: 'date-time', description: "When it happened: the provider's own timestamp for callbacks" })
  at!: string;

  @ApiProperty({ format: 'date-time', description: 'When this service received it' })
  receivedAt!: string;

  @ApiPropertyOptional({ example: '1002', description: 'Failure code, for failures' })
  code?: string;

  @ApiPropertyOptional({ example: 'Number does not exist on WhatsApp', description: 'Failure reason, for failures' })
  reason?: string;
}

export class DiscardReasonResponse {
  @ApiProperty({ example: '1002' })
  code!: string;

  @ApiProperty({ example: 'Number does not exist on WhatsApp' })
  reason!: string;
}

export class MessageResponse {
  @ApiProperty()
  messageId!: string;

  @ApiProperty({ type: String, nullable: true })
  requestId!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The user identifier' })
  recipient!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '+919988776655' })
  phoneNumber!: string | null;

  @ApiProperty({ enum: [WHATSAPP_PROVIDER] })
  provider!: typeof WHATSAPP_PROVIDER;

  @ApiProperty({ type: String, nullable: true, description: "Gupshup's messageId, once Gupshup accepted the message" })
  providerMessageId!: string | null;

  @ApiProperty({ enum: MESSAGE_STATUSES })
  status!: MessageStatus;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  queuedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  sentAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  deliveredAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  seenAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  discardedAt!: string | null;

  @ApiProperty({ type: DiscardReasonResponse, nullable: true })
  discardReason!: DiscardReasonResponse | null;

  @ApiProperty({ type: [TimelineEntryResponse], description: 'One entry per distinct event, ordered by `at`' })
  timeline!: TimelineEntryResponse[];
}

/** The public part of the domain's view: no app id, attempts or dispatch errors. */
export function messageResponse(view: MessageView): MessageResponse {
  return {
    messageId: view.messageId,
    requestId: view.requestId,
    recipient: view.recipient,
    phoneNumber: view.phoneNumber,
    provider: view.provider,
    providerMessageId: view.providerMessageId,
    status: view.status,
    queuedAt: view.queuedAt,
    sentAt: view.sentAt,
    deliveredAt: view.deliveredAt,
    seenAt: view.seenAt,
    discardedAt: view.discardedAt,
    discardReason: view.discardReason ? { code: view.discardReason.code, reason: view.discardReason.reason } : null,
    timeline: view.timeline.map((entry) => ({ ...entry })),
  };
}
