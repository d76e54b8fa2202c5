import { Controller, Get, HttpStatus, Query } from '@nestjs/common';
import { ApplicationBuses } from '../../../common/application-cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../../apps/apps.service';
import { AppApi } from '../../../apps/auth/app-api.decorator';
import { CurrentApp } from '../../../apps/auth/current-app.decorator';
import { ApiErrorResponses } from '../../../common/openapi';
import { GetWhatsAppAnalyticsQuery } from './get-whatsapp-analytics.query';
import { GetWhatsAppDiscardReasonsQuery } from './get-discard-reasons.query';
import {
  discardReasonsQuerySchema,
  discardReasonsSchema,
  whatsAppAnalyticsQuerySchema,
  whatsAppAnalyticsSchema,
  type DiscardReasonsParams,
  type DiscardReasonsResponse,
  type WhatsAppAnalyticsParams,
  type WhatsAppAnalyticsResponse,
} from './whatsapp-analytics.dto';

@ApiTags('Analytics')
@AppApi()
@Controller('v3/analytics')
export class AnalyticsController {
  constructor(private readonly buses: ApplicationBuses) {}

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
    return this.buses.queryBus.execute(new GetWhatsAppAnalyticsQuery(app.id, params));
  }

  @Get('whatsapp/discard-reasons')
  @ApiOperation({
    summary: 'WhatsApp messages discarded over a range of UTC days, counted by discard code',
    description: 'from/to as for /v3/analytics/whatsapp; a message counts on the day it was discarded.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The counts per discard code', standardSchema: discardReasonsSchema })
  @ApiErrorResponses({ 400: 'from/to not dates, in the wrong order, or more than 366 days apart' })
  discardReasons(@CurrentApp() app: AuthenticatedApp, @Query({ schema: discardReasonsQuerySchema }) params: DiscardReasonsParams): Promise<DiscardReasonsResponse> {
    return this.buses.queryBus.execute(new GetWhatsAppDiscardReasonsQuery(app.id, params.from, params.to));
  }
}
