import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional } from 'class-validator';

export const DEFAULT_ANALYTICS_DAYS = 30;
export const MAX_ANALYTICS_DAYS = 366;

export class WhatsAppAnalyticsParams {
  @ApiPropertyOptional({
    example: '2026-03-01',
    description: `First day (UTC), inclusive: a date, or a time whose UTC day is taken. Default: ${DEFAULT_ANALYTICS_DAYS - 1} days before to`,
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be a date (YYYY-MM-DD) or an ISO 8601 time, e.g. 2026-03-01' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-03-30', description: 'Last day (UTC), inclusive. Default: today (UTC)' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be a date (YYYY-MM-DD) or an ISO 8601 time, e.g. 2026-03-30' })
  to?: string;
}

export class WhatsAppStatsResponse {
  @ApiProperty({ description: 'Messages Gupshup accepted' }) sent!: number;
  @ApiProperty({ description: 'Messages delivered to the phone (seen ones included)' }) delivered!: number;
  @ApiProperty({ description: 'Messages read by the user' }) seen!: number;
  @ApiProperty({ description: 'Messages that will not be delivered' }) discarded!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 0.9412,
    description: 'delivered / sent, rounded to 4 decimals; null when nothing was sent',
  })
  deliveryRate!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 0.5, description: 'seen / sent, rounded to 4 decimals; null when nothing was sent' })
  seenRate!: number | null;
}

export class WhatsAppDailyStatsResponse extends WhatsAppStatsResponse {
  @ApiProperty({ example: '2026-03-01', description: 'The UTC day' })
  date!: string;
}

export class WhatsAppAnalyticsResponse {
  @ApiProperty({ example: '2026-03-01' }) from!: string;
  @ApiProperty({ example: '2026-03-30' }) to!: string;

  @ApiProperty({
    type: [WhatsAppDailyStatsResponse],
    description:
      'Every day from `from` to `to`, oldest first. A message counts once per status it reached, on the UTC day it reached it, ' +
      'so a day\'s rates compare that day\'s deliveries with that day\'s sends and can exceed 1 when messages sent earlier are delivered that day',
  })
  days!: WhatsAppDailyStatsResponse[];

  @ApiProperty({ type: WhatsAppStatsResponse, description: 'The sums over the whole range' })
  totals!: WhatsAppStatsResponse;
}
