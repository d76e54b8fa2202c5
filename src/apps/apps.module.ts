import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminAppsController } from './admin/admin-apps.controller';
import { AdminProvidersController } from './admin/admin-providers.controller';
import { AdminToken } from './admin/admin-token';
import { AdminGuard } from './admin/admin.guard';
import { CreateAppCommand } from './admin/create-app.command';
import { CreateWhatsAppAppHandler } from './admin/create-whatsapp-app.command';
import { ListAppsCommand } from './admin/list-apps.command';
import { AppsService } from './apps.service';
import { AppApiGuard, AppAuthGuard } from './auth/app-auth.guard';
import { CallbackTokenMetrics, callbackTokenMetricProviders } from './callback-tokens/callback-token.metrics';
import { CallbackTokenService } from './callback-tokens/callback-token.service';
import { CredentialCipher } from './providers/credential-cipher';
import { GupshupProviderConfigService } from './providers/gupshup-provider-config.service';
import { GupshupProviderController } from './providers/gupshup-provider.controller';
import { ProviderPauseSource } from './providers/provider-pause-source';

/**
 * Apps (tenants) and their credentials, the admin API and `apps:create` and `apps:list` commands, each app's
 * gupshup_whatsapp configuration and its callback tokens. Global: every feature can inject AppsService,
 * GupshupProviderConfigService, AppAuthGuard and AdminGuard without importing this module; every /v3 route is
 * authenticated by the global AppApiGuard.
 */
@Global()
@Module({
  controllers: [AdminAppsController, AdminProvidersController, GupshupProviderController],
  providers: [
    AppsService,
    AppAuthGuard,
    { provide: APP_GUARD, useClass: AppApiGuard },
    AdminToken,
    AdminGuard,
    CredentialCipher,
    GupshupProviderConfigService,
    ProviderPauseSource,
    CreateAppCommand,
    CreateWhatsAppAppHandler,
    ListAppsCommand,
    CallbackTokenService,
    CallbackTokenMetrics,
    ...callbackTokenMetricProviders,
  ],
  exports: [AppsService, AppAuthGuard, AdminGuard, AdminToken, CredentialCipher, GupshupProviderConfigService, ProviderPauseSource, CallbackTokenService],
})
export class AppsModule {}
