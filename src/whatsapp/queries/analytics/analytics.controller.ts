import { Controller, Get, HttpStatus, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../../apps/apps.service';
import { AppApi } from '../../../apps/auth/app-api.decorator';
import { CurrentApp } from '../../../apps/auth/current-app.decorator';
import { ApiErrorResponses } from '../../../common/openapi';
import { GetWhatsAppAnalyticsQuery } from './get-whatsapp-analytics.query';
import { whatsAppAnalyticsQuerySchema, whatsAppAnalyticsSchema, type WhatsAppAnalyticsParams, type WhatsAppAnalyticsResponse } from './whatsapp-analytics.dto';

@ApiTags('Analytics')
@AppApi()
@Controller('v3/analytics')
export class AnalyticsController {
  constructor(private readonly queries: QueryBus) {}

  @Get('whatsapp')
  @ApiOperation({
    summary: 'WhatsApp messages sent, delivered, seen and discarded per UTC day, with delivery and seen rates',
    description:
      'A seen message counts as delivered too. Rates are fractions of sent (null when nothing was sent). ' +
      'A message whose failure is followed by proof of delivery counts as delivered, not discarded. ' +
      'category and template count only the messages of requests with that category or template; groupBy adds the totals of each.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The statistics per day and in all', standardSchema: whatsAppAnalyticsSchema })
  @ApiErrorResponses({ 400: 'from/to not dates, in the wrong order, or more than 366 days apart' })
  whatsapp(
    @CurrentApp() app: AuthenticatedApp,
    @Query({ schema: whatsAppAnalyticsQuerySchema }) params: WhatsAppAnalyticsParams,
  ): Promise<WhatsAppAnalyticsResponse> {
    return this.queries.execute(new GetWhatsAppAnalyticsQuery(app.id, params));
  }
}
