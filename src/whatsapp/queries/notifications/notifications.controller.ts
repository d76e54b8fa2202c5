import { Controller, Get, HttpStatus, Param } from '@nestjs/common';
import { ApplicationBuses } from '../../../common/application-cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../../apps/apps.service';
import { AppApi } from '../../../apps/auth/app-api.decorator';
import { CurrentApp } from '../../../apps/auth/current-app.decorator';
import { ApiErrorResponses } from '../../../common/openapi';
import { REQUEST_ID_SCHEMA } from '../messages/list-messages.dto';
import { GetWhatsAppNotificationQuery } from './get-notification.query';
import { notificationSchema, type NotificationResponse } from './notification-response';

@ApiTags('Delivery tracking')
@AppApi()
@Controller('v3/notifications')
export class NotificationsController {
  constructor(private readonly buses: ApplicationBuses) {}

  @Get(':requestId')
  @ApiOperation({ summary: 'One send request: how many of its messages are at each status, and the messages' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The send request', standardSchema: notificationSchema })
  @ApiErrorResponses({ 400: 'The request id is not one this service could have given', 404: 'No such request in this app' })
  get(@CurrentApp() app: AuthenticatedApp, @Param('requestId', { schema: REQUEST_ID_SCHEMA }) requestId: string): Promise<NotificationResponse> {
    return this.buses.queryBus.execute(new GetWhatsAppNotificationQuery(app.id, requestId));
  }
}
