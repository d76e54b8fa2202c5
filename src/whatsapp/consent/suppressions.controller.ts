import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthenticatedApp } from '../../apps/apps.service';
import { AppApi } from '../../apps/auth/app-api.decorator';
import { CurrentApp } from '../../apps/auth/current-app.decorator';
import { ApiErrorResponses } from '../../common/openapi';
import type { Suppression } from './consent-records';
import {
  listSuppressionsQuerySchema,
  putSuppressionBodySchema,
  suppressedNumberSchema,
  suppressionPageSchema,
  suppressionSchema,
  type ListSuppressionsParams,
  type PutSuppressionBody,
  type SuppressionPage,
} from './suppressions.dto';
import { SuppressionsService } from './suppressions.service';

const PHONE = { schema: suppressedNumberSchema };

/** Numbers the app must not message: opt-outs, numbers not on WhatsApp, and the operators' own. */
@ApiTags('Consent')
@AppApi()
@Controller('v3/channels/whatsapp/suppressions')
export class SuppressionsController {
  constructor(private readonly suppressions: SuppressionsService) {}

  @Get()
  @ApiOperation({
    summary: 'The suppressions in force: messages to these numbers are discarded with the reason as code, never sent',
    description: 'Keyset-paginated: pass the nextCursor of a page as cursor to get the next one.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'A page of suppressions', standardSchema: suppressionPageSchema })
  @ApiErrorResponses({ 400: 'A parameter is invalid; the message says which and what it accepts' })
  list(@CurrentApp() app: AuthenticatedApp, @Query({ schema: listSuppressionsQuerySchema }) params: ListSuppressionsParams): Promise<SuppressionPage> {
    return this.suppressions.list(app.id, params);
  }

  @Put(':phoneNumber')
  @ApiOperation({
    summary: 'Suppress a number: its messages are discarded, including those already queued',
    description: 'Reason manual unless the body says otherwise. Suppressing a number again for the same reason keeps its first time.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The suppression as stored', standardSchema: suppressionSchema })
  @ApiErrorResponses({ 400: 'The phone number or the body is invalid; the message says what to fix' })
  suppress(
    @CurrentApp() app: AuthenticatedApp,
    @Param('phoneNumber', PHONE) phoneNumber: string,
    @Body({ schema: putSuppressionBodySchema }) body: PutSuppressionBody,
  ): Promise<Suppression> {
    return this.suppressions.suppress(app.id, phoneNumber, body);
  }

  @Delete(':phoneNumber')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Lift every suppression of a number: its next messages are sent again',
    description: 'A suppression from a Gupshup callback dated (by Gupshup’s timestamp) before this request, arriving after it, is not applied.',
  })
  @ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'Lifted' })
  @ApiErrorResponses({ 400: 'The phone number is invalid', 404: 'The number is not suppressed' })
  lift(@CurrentApp() app: AuthenticatedApp, @Param('phoneNumber', PHONE) phoneNumber: string): Promise<void> {
    return this.suppressions.lift(app.id, phoneNumber);
  }
}
