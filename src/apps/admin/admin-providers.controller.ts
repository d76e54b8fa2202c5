import { BadRequestException, Body, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Put, UseGuards } from '@nestjs/common';
import { PutGupshupProviderDto } from '../providers/gupshup-provider.dto';
import { GupshupProviderConfigService, type GupshupProviderView } from '../providers/gupshup-provider-config.service';
import { AdminGuard } from './admin.guard';

const appIdPipe = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('appId must be an app id (a UUID), as listed by GET /admin/apps'),
});

/** An operator's view of any app's provider; changes made here are audited with the actor "admin". */
@Controller('admin/apps/:appId/channels/whatsapp/providers/gupshup_whatsapp')
@UseGuards(AdminGuard)
export class AdminProvidersController {
  constructor(private readonly providers: GupshupProviderConfigService) {}

  @Put()
  async configure(@Param('appId', appIdPipe) appId: string, @Body() body: PutGupshupProviderDto): Promise<GupshupProviderView> {
    return this.providers.configure(await this.providers.appById(appId), body, { type: 'admin' });
  }

  @Get()
  async get(@Param('appId', appIdPipe) appId: string): Promise<GupshupProviderView> {
    const view = await this.providers.view(await this.providers.appById(appId));
    if (!view) throw new NotFoundException(`App ${appId} has not configured the gupshup_whatsapp provider yet`);
    return view;
  }
}
