import { Controller, Get, HttpStatus, Param, Query } from '@nestjs/common';
import { ApplicationBuses } from '../../../common/application-cqrs';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../../apps/apps.service';
import { AppApi } from '../../../apps/auth/app-api.decorator';
import { CurrentApp } from '../../../apps/auth/current-app.decorator';
import { ApiErrorResponses } from '../../../common/openapi';
import { messageSchema, type MessageResponse } from '../message-response';
import { GetWhatsAppMessageQuery } from './get-message.query';
import { listMessagesQuerySchema, MESSAGE_ID_SCHEMA, messagePageSchema, type ListMessagesParams, type MessagePage } from './list-messages.dto';
import { ListWhatsAppMessagesQuery } from './list-messages.query';

@ApiTags('Delivery tracking')
@AppApi()
@Controller('v3/messages')
export class MessagesController {
  constructor(private readonly buses: ApplicationBuses) {}

  @Get()
  @ApiOperation({
    summary: "The app's WhatsApp messages, newest first",
    description:
      'Keyset-paginated: pass the nextCursor of a page as cursor to get the next one. from/to bound queuedAt, inclusive; ' +
      'a bare date as to includes that whole day, and a time without an offset is UTC.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'A page of messages', standardSchema: messagePageSchema })
  @ApiErrorResponses({ 400: 'A parameter is invalid; the message says which and what it accepts' })
  list(@CurrentApp() app: AuthenticatedApp, @Query({ schema: listMessagesQuerySchema }) params: ListMessagesParams): Promise<MessagePage> {
    return this.buses.queryBus.execute(new ListWhatsAppMessagesQuery(app.id, params));
  }

  @Get(':messageId')
  @ApiOperation({ summary: 'One message: its status, times and timeline' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The message', standardSchema: messageSchema })
  @ApiErrorResponses({ 400: 'The message id is not one this service could have given', 404: 'No such message in this app' })
  get(@CurrentApp() app: AuthenticatedApp, @Param('messageId', { schema: MESSAGE_ID_SCHEMA }) messageId: string): Promise<MessageResponse> {
    return this.buses.queryBus.execute(new GetWhatsAppMessageQuery(app.id, messageId));
  }
}
