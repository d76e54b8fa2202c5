import { Body, Controller, Get, HttpCode, HttpStatus, NotFoundException, Param, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../../common/openapi';
import { CallbackTokenService } from '../callback-tokens/callback-token.service';
import {
  appIdParamSchema,
  gupshupProviderViewSchema,
  putGupshupProviderBodySchema,
  rotatedCallbackTokenSchema,
  type PutGupshupProviderBody,
} from '../providers/gupshup-provider.dto';
import { GupshupProviderConfigService, type GupshupProviderView } from '../providers/gupshup-provider-config.service';
import { AdminApi } from './admin-api.decorator';

/** An operator's view of any app's provider; changes made here are audited with the actor "admin". */
@ApiTags('Admin')
@AdminApi()
@Controller('admin/apps/:appId/channels/whatsapp/providers/gupshup_whatsapp')
export class AdminProvidersController {
  constructor(
    private readonly providers: GupshupProviderConfigService,
    private readonly callbackTokens: CallbackTokenService,
  ) {}

  @Put()
  @ApiOperation({ summary: "Configure any app's gupshup_whatsapp provider, as the app itself would" })
  @ApiResponse({ status: HttpStatus.OK, description: 'The configuration as stored, the API key masked', standardSchema: gupshupProviderViewSchema })
  @ApiErrorResponses({ 400: 'The app id or the body is invalid; the message names every problem', 404: 'No app with this id' })
  async configure(
    @Param('appId', { schema: appIdParamSchema }) appId: string,
    @Body({ schema: putGupshupProviderBodySchema }) body: PutGupshupProviderBody,
  ): Promise<GupshupProviderView> {
    return this.providers.configure(await this.providers.appById(appId), body, { type: 'admin' });
  }

  @Post('rotate-callback-token')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Replace any app's callback token; the previous one keeps working for CALLBACK_TOKEN_GRACE_HOURS" })
  @ApiResponse({ status: HttpStatus.OK, description: 'The new callback URL', standardSchema: rotatedCallbackTokenSchema })
  @ApiErrorResponses({ 400: 'The app id is not a UUID', 404: 'No app with this id' })
  async rotateCallbackToken(@Param('appId', { schema: appIdParamSchema }) appId: string): Promise<{ callbackUrl: string }> {
    return { callbackUrl: await this.callbackTokens.rotate(await this.providers.appById(appId), { type: 'admin' }) };
  }

  @Get()
  @ApiOperation({ summary: "Any app's gupshup_whatsapp configuration, the API key masked" })
  @ApiResponse({ status: HttpStatus.OK, description: 'The configuration', standardSchema: gupshupProviderViewSchema })
  @ApiErrorResponses({ 400: 'The app id is not a UUID', 404: 'No app with this id, or its provider is not configured yet' })
  async get(@Param('appId', { schema: appIdParamSchema }) appId: string): Promise<GupshupProviderView> {
    const view = await this.providers.view(await this.providers.appById(appId));
    if (!view) throw new NotFoundException(`App ${appId} has not configured the gupshup_whatsapp provider yet`);
    return view;
  }
}
