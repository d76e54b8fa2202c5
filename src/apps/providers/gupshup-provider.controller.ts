import { Body, Controller, Get, HttpCode, HttpStatus, NotFoundException, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../../common/openapi';
import type { AuthenticatedApp } from '../apps.service';
import { AppApi } from '../auth/app-api.decorator';
import { CurrentApp } from '../auth/current-app.decorator';
import { CallbackTokenService } from '../callback-tokens/callback-token.service';
import { gupshupProviderViewSchema, putGupshupProviderBodySchema, rotatedCallbackTokenSchema, type PutGupshupProviderBody } from './gupshup-provider.dto';
import { GupshupProviderConfigService, notConfiguredMessage, type GupshupProviderView } from './gupshup-provider-config.service';

/** The app's own gupshup_whatsapp configuration; /v3 routes are authenticated by the app's key and secret. */
@ApiTags('Provider')
@AppApi()
@Controller('v3/channels/whatsapp/providers/gupshup_whatsapp')
export class GupshupProviderController {
  constructor(
    private readonly providers: GupshupProviderConfigService,
    private readonly callbackTokens: CallbackTokenService,
  ) {}

  @Put()
  @ApiOperation({
    summary: "Configure the app's gupshup_whatsapp provider: enable or disable it, set its credentials, accept the callback URL without token or not",
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The configuration as stored, the API key masked', standardSchema: gupshupProviderViewSchema })
  @ApiErrorResponses({ 400: 'The body is invalid, or enabling lacks a key; the message names every problem' })
  configure(@CurrentApp() app: AuthenticatedApp, @Body({ schema: putGupshupProviderBodySchema }) body: PutGupshupProviderBody): Promise<GupshupProviderView> {
    return this.providers.configure(app, body, { type: 'app', appId: app.id });
  }

  @Post('rotate-callback-token')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Replace the app's callback token",
    description: "Answers the new callback URL, to set as the Gupshup app's callback URL. The previous token keeps working for CALLBACK_TOKEN_GRACE_HOURS (24 by default).",
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The new callback URL', standardSchema: rotatedCallbackTokenSchema })
  async rotateCallbackToken(@CurrentApp() app: AuthenticatedApp): Promise<{ callbackUrl: string }> {
    return { callbackUrl: await this.callbackTokens.rotate(app, { type: 'app', appId: app.id }) };
  }

  @Get()
  @ApiOperation({ summary: "The app's gupshup_whatsapp configuration, the API key masked" })
  @ApiResponse({ status: HttpStatus.OK, description: 'The configuration', standardSchema: gupshupProviderViewSchema })
  @ApiErrorResponses({ 404: 'Not configured yet' })
  async get(@CurrentApp() app: AuthenticatedApp): Promise<GupshupProviderView> {
    const view = await this.providers.view(app);
    if (!view) throw new NotFoundException(notConfiguredMessage());
    return view;
  }
}
