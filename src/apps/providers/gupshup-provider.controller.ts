import { Body, Controller, Get, NotFoundException, Put } from '@nestjs/common';
import type { AuthenticatedApp } from '../apps.service';
import { CurrentApp } from '../auth/current-app.decorator';
import { PutGupshupProviderDto } from './gupshup-provider.dto';
import { GupshupProviderConfigService, notConfiguredMessage, type GupshupProviderView } from './gupshup-provider-config.service';

/** The app's own gupshup_whatsapp configuration; /v3 routes are authenticated by the app's key and secret. */
@Controller('v3/channels/whatsapp/providers/gupshup_whatsapp')
export class GupshupProviderController {
  constructor(private readonly providers: GupshupProviderConfigService) {}

  @Put()
  configure(@CurrentApp() app: AuthenticatedApp, @Body() body: PutGupshupProviderDto): Promise<GupshupProviderView> {
    return this.providers.configure(app, body, { type: 'app', appId: app.id });
  }

  @Get()
  async get(@CurrentApp() app: AuthenticatedApp): Promise<GupshupProviderView> {
    const view = await this.providers.view(app);
    if (!view) throw new NotFoundException(notConfiguredMessage());
    return view;
  }
}
