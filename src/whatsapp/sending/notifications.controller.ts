import { Body, Controller, Headers, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { AppAuthGuard, CurrentApp, type AuthenticatedApp } from '../../apps';
import { MAX_RECIPIENTS_PER_REQUEST, notificationBodyJsonSchema } from './notification-request';
import { SendWhatsAppNotificationCommand, type SendNotificationBody, type SendNotificationResult } from './send-notification.command';

@ApiTags('Sending')
@ApiSecurity({ apiKey: [], apiSecret: [] })
@UseGuards(AppAuthGuard)
@Controller('v3/notifications')
export class NotificationsController {
  constructor(private readonly commandBus: CommandBus) {}

  /**
   * The body is validated by the command handler, not by the global ValidationPipe, so that the
   * command bus and HTTP answer the same errors; a plain object type keeps the pipe out of it.
   */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Send a WhatsApp notification through Gupshup',
    description:
      `One message per recipient (at most ${MAX_RECIPIENTS_PER_REQUEST} distinct ones), from sendTo.recipients and the older top-level recipients. ` +
      'Each is queued, or discarded at once with a reason when the recipient has no valid phone number.',
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Same key and body within 24 h: the first response again, nothing sent twice.' })
  @ApiBody({ schema: notificationBodyJsonSchema() })
  @ApiResponse({ status: 202, description: '{requestId, messages: [{messageId, recipient, status, discardReason?}]}' })
  @ApiResponse({ status: 400, description: 'The body is invalid; the message names every problem.' })
  @ApiResponse({ status: 401, description: 'Missing or wrong app credentials.' })
  @ApiResponse({ status: 409, description: 'The Idempotency-Key was used with a different body.' })
  @ApiResponse({ status: 422, description: 'The gupshup_whatsapp provider is not enabled.' })
  send(
    @CurrentApp() app: AuthenticatedApp,
    @Body() body: Record<string, unknown>,
    @Headers('Idempotency-Key') idempotencyKey?: string,
  ): Promise<SendNotificationResult> {
    return this.commandBus.execute(new SendWhatsAppNotificationCommand(app.id, body as unknown as SendNotificationBody, idempotencyKey));
  }
}
