import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { MESSAGE_STATUSES, type MessageStatus } from '../../domain';
import { MessageResponse } from '../message-response';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** The query string of GET /v3/messages; every parameter is optional. */
export class ListMessagesParams {
  @ApiPropertyOptional({ enum: MESSAGE_STATUSES, description: 'Only messages now at this status' })
  @IsOptional()
  @IsIn(MESSAGE_STATUSES, { message: `status must be one of ${MESSAGE_STATUSES.join(', ')}` })
  status?: MessageStatus;

  @ApiPropertyOptional({ description: 'Only messages to this user identifier' })
  @IsOptional()
  @IsString({ message: 'recipient must be a user identifier (text)' })
  @Length(1, 512, { message: 'recipient must be a user identifier of 1 to 512 characters' })
  recipient?: string;

  @ApiPropertyOptional({ description: 'Only messages of this send request (the requestId of POST /v3/notifications)' })
  @IsOptional()
  @IsString({ message: 'requestId must be the requestId returned by POST /v3/notifications' })
  @Length(1, 512, { message: 'requestId must be the requestId returned by POST /v3/notifications' })
  requestId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only messages queued at or after this time (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date or time, e.g. 2026-03-01 or 2026-03-01T10:00:00Z' })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only messages queued at or before this time (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date or time, e.g. 2026-03-31 or 2026-03-31T23:59:59Z' })
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Messages per page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
  @Min(1, { message: `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
  @Max(MAX_PAGE_SIZE, { message: `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
  limit?: number;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page, unchanged; omit it for the first page' })
  @IsOptional()
  @IsString({ message: 'cursor must be the nextCursor of the previous page' })
  cursor?: string;
}

export class MessagePage {
  @ApiProperty({ type: [MessageResponse], description: 'Newest first (by queuedAt, then messageId)' })
  data!: MessageResponse[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass it as `cursor` for the next page; null on the last page' })
  nextCursor!: string | null;
}
