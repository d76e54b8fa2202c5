import { Controller, Get, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../../apps/apps.service';
import { CurrentApp } from '../../../apps/auth/current-app.decorator';
import { AppApi } from '../app-api.decorator';
import { GetNotificationQuery } from './get-notification.query';
import { NotificationResponse } from './notification-response';

@ApiTags('Delivery tracking')
@AppApi()
@Controller('v3/notifications')
export class NotificationsController {
  constructor(private readonly queries: QueryBus) {}

  @Get(':requestId')
  @ApiOperation({ summary: 'One send request: how many of its messages are at each status, and the messages' })
  @ApiOkResponse({ type: NotificationResponse })
  @ApiNotFoundResponse({ description: 'No such request in this app' })
  get(@CurrentApp() app: AuthenticatedApp, @Param('requestId') requestId: string): Promise<NotificationResponse> {
    return this.queries.execute(new GetNotificationQuery(app.id, requestId));
  }
}
