import { Controller, Get, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../../apps/apps.service';
import { CurrentApp } from '../../../apps/auth/current-app.decorator';
import { AppApi } from '../app-api.decorator';
import { MessageResponse } from '../message-response';
import { GetMessageQuery } from './get-message.query';
import { ListMessagesParams, MessagePage } from './list-messages.dto';
import { ListMessagesQuery } from './list-messages.query';

@ApiTags('Delivery tracking')
@AppApi()
@Controller('v3/messages')
export class MessagesController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @ApiOperation({
    summary: "The app's WhatsApp messages, newest first",
    description:
      'Keyset-paginated: pass the nextCursor of a page as cursor to get the next one. from/to bound queuedAt, inclusive; ' +
      'a bare date as to includes that whole day, and a time without an offset is UTC.',
  })
  @ApiOkResponse({ type: MessagePage })
  @ApiBadRequestResponse({ description: 'A parameter is invalid; the message says which and what it accepts' })
  list(@CurrentApp() app: AuthenticatedApp, @Query() params: ListMessagesParams): Promise<MessagePage> {
    return this.queries.execute(new ListMessagesQuery(app.id, params));
  }

  @Get(':messageId')
  @ApiOperation({ summary: 'One message: its status, times and timeline' })
  @ApiOkResponse({ type: MessageResponse })
  @ApiNotFoundResponse({ description: 'No such message in this app' })
  get(@CurrentApp() app: AuthenticatedApp, @Param('messageId') messageId: string): Promise<MessageResponse> {
    return this.queries.execute(new GetMessageQuery(app.id, messageId));
  }
}
