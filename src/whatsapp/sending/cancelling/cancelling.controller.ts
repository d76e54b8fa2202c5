import { applyDecorators, Body, Controller, HttpCode, HttpStatus, Param, Patch, Post } from '@nestjs/common';
import { ApplicationBuses } from '../../../common/application-cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentApp, type AuthenticatedApp } from '../../../apps';
import { AppApi } from '../../../apps/auth/app-api.decorator';
import { text } from '../../../common/input-schemas';
import { ApiErrorResponses } from '../../../common/openapi';
import { MAX_NAME_LENGTH, MAX_RECIPIENTS_PER_REQUEST } from '../notification-request';
import { CancelWhatsAppNotificationsCommand, type CancelNotificationsResult } from './cancel-notifications.command';

const cancelledSchema = z
  .object({ cancelled: z.number().int().meta({ description: 'Messages discarded as cancelled: those not yet handed to Gupshup' }) })
  .meta({ id: 'CancelResult' });

const paramSchemas = {
  workflow: text({ max: MAX_NAME_LENGTH, what: 'a workflow identifier' }).meta({ description: 'The workflow.identifier the notifications were sent with', example: 'order_shipped' }),
  requestId: text({ max: 64, what: 'a request id' }).meta({ description: 'The requestId POST /v3/notifications answered', format: 'uuid' }),
};

const cancelRunSchema = z
  .strictObject(
    {
      cancellationKey: text({ max: MAX_NAME_LENGTH, what: 'a cancellation key (text)' }).meta({ description: 'notification.workflow.cancellationKey of the send requests', example: 'order-1234' }),
      cancelFor: z
        .strictObject(
          {
            recipients: z
              .array(text({ max: 256, what: 'a user identifier' }), { error: 'must be a list of user identifiers' })
              .max(MAX_RECIPIENTS_PER_REQUEST, `must have at most ${MAX_RECIPIENTS_PER_REQUEST} entries`)
              .optional()
              .meta({ description: 'Only these recipients\' messages; all when absent' }),
          },
          { error: (issue) => (issue.code === 'invalid_type' ? 'must be an object {"recipients": [...]}' : undefined) },
        )
        .optional(),
    },
    { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object {"cancellationKey", "cancelFor"}' : undefined) },
  )
  .meta({ example: { cancellationKey: 'order-1234', cancelFor: { recipients: ['user-1'] } } });

/** What a workflow run's cancellation answers, in either of its forms. */
const CancelRunAnswers = () =>
  applyDecorators(
    HttpCode(HttpStatus.OK),
    ApiResponse({ status: HttpStatus.OK, description: 'How many messages were cancelled', standardSchema: cancelledSchema }),
    ApiErrorResponses({ 400: 'The body is invalid; the message names every problem', 404: 'No request of this workflow was sent with this cancellation key in this app' }),
  );

/** Cancelling queued messages, by send request or by workflow run (API.md "Cancelling"). */
@ApiTags('Sending')
@AppApi()
@Controller()
export class CancellingController {
  constructor(private readonly buses: ApplicationBuses) {}

  @Post('v4/workflows/:identifier/cancel-run')
  @CancelRunAnswers()
  @ApiOperation({
    summary: 'Cancel the messages of a workflow run not yet handed to Gupshup',
    description:
      'Every message of the requests sent with this workflow.identifier and workflow.cancellationKey (only those of cancelFor.recipients, when given) ' +
      'that Gupshup has not been asked to send is discarded with code cancelled; one already sent is left as it is.',
  })
  cancelRun(
    @CurrentApp() app: AuthenticatedApp,
    @Param('identifier', { schema: paramSchemas.workflow }) workflowIdentifier: string,
    @Body({ schema: cancelRunSchema }) body: z.output<typeof cancelRunSchema>,
  ): Promise<CancelNotificationsResult> {
    return this.buses.commandBus.execute(
      new CancelWhatsAppNotificationsCommand(app.id, {
        workflowIdentifier,
        cancellationKey: body.cancellationKey,
        ...(body.cancelFor?.recipients ? { recipients: body.cancelFor.recipients } : {}),
      }),
    );
  }

  /**
   * What @engagespot/node's workflows.cancelRun calls: PATCH on its v4 client, which is the v3
   * baseUrl when one is given (so /v3/workflows/{identifier} as well).
   */
  @Patch(['v4/workflows/:identifier', 'v3/workflows/:identifier'])
  @CancelRunAnswers()
  @ApiOperation({ summary: 'Cancel a workflow run (the form @engagespot/node\'s workflows.cancelRun sends): as POST /v4/workflows/{identifier}/cancel-run' })
  cancelRunFromSdk(
    @CurrentApp() app: AuthenticatedApp,
    @Param('identifier', { schema: paramSchemas.workflow }) workflowIdentifier: string,
    @Body({ schema: cancelRunSchema }) body: z.output<typeof cancelRunSchema>,
  ): Promise<CancelNotificationsResult> {
    return this.cancelRun(app, workflowIdentifier, body);
  }

  @Post('v3/notifications/:requestId/cancel')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Cancel the messages of a send request not yet handed to Gupshup',
    description: 'Each is discarded with code cancelled; one already sent is left as it is.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'How many messages were cancelled', standardSchema: cancelledSchema })
  @ApiErrorResponses({ 400: 'The requestId is not one this service could have given (empty, too long, a NUL character)', 404: 'No such request in this app' })
  cancelRequest(@CurrentApp() app: AuthenticatedApp, @Param('requestId', { schema: paramSchemas.requestId }) requestId: string): Promise<CancelNotificationsResult> {
    return this.buses.commandBus.execute(new CancelWhatsAppNotificationsCommand(app.id, { requestId }));
  }
}
