import { Body, Controller, Headers, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApplicationBuses } from '../../common/application-cqrs';
import { ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentApp, type AuthenticatedApp } from '../../apps';
import { AppApi } from '../../apps/auth/app-api.decorator';
import { ApiErrorResponses } from '../../common/openapi';
import { IDEMPOTENCY_KEY_PATTERN, MAX_IDEMPOTENCY_KEY_LENGTH } from './idempotency';
import { MAX_RECIPIENTS_PER_REQUEST, notificationBodyJsonSchema } from './notification-request';
import { SendWhatsAppNotificationCommand, type SendNotificationBody, type SendNotificationResult } from './send-notification.command';
import { sendNotificationResultSchema } from './send-notification.dto';

@ApiTags('Sending')
@AppApi()
@Controller('v3/notifications')
export class NotificationsController {
  constructor(private readonly buses: ApplicationBuses) {}

  /**
   * The body is validated by the command handler, not by a pipe, so that the command bus and
   * HTTP answer the same errors; it is documented from the schema the handler checks it with.
   */
  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Send a WhatsApp notification through Gupshup',
    description:
      `One message per recipient (at most ${MAX_RECIPIENTS_PER_REQUEST} distinct ones), from sendTo.recipients and the older top-level recipients. ` +
      'Each is queued, or discarded at once with a reason when the recipient has no valid phone number.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH, pattern: IDEMPOTENCY_KEY_PATTERN.source },
    description: `Same key and body within 24 h: the first response again, nothing sent twice. 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters (a UUID is a good choice).`,
  })
  @ApiBody({ schema: notificationBodyJsonSchema() })
  @ApiResponse({ status: HttpStatus.ACCEPTED, description: 'Queued (or discarded at once, with a reason)', standardSchema: sendNotificationResultSchema })
  @ApiErrorResponses({
    400: 'The body or the Idempotency-Key is invalid; the message names every problem',
    409: 'The Idempotency-Key was used with a different body',
    422: 'The gupshup_whatsapp provider is not enabled',
  })
  send(
    @CurrentApp() app: AuthenticatedApp,
    @Body() body: Record<string, unknown>,
    @Headers('Idempotency-Key') idempotencyKey?: string,
  ): Promise<SendNotificationResult> {
    return this.buses.commandBus.execute(new SendWhatsAppNotificationCommand(app.id, body as unknown as SendNotificationBody, { idempotencyKey }));
  }
}
