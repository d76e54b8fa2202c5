export { AppsModule } from './apps.module';
export { AppsService, type AppSummary, type AuthenticatedApp, type CreatedApp } from './apps.service';
export { AppAuthGuard, API_KEY_HEADER, API_SECRET_HEADER } from './auth/app-auth.guard';
export { AdminGuard } from './admin/admin.guard';
export { CurrentApp } from './auth/current-app.decorator';
export { AppCreated, GupshupProviderConfigured, appStreamId, appProviderStreamId, type ConfigurationActor } from './app-events';
export { CredentialDecryptionError } from './providers/credential-cipher';
export { GUPSHUP_PROVIDER, maskSecret } from './providers/gupshup-config-rules';
export {
  GupshupProviderConfigService,
  notConfiguredMessage,
  type GupshupCredentials,
  type GupshupProviderView,
} from './providers/gupshup-provider-config.service';
export { ProviderPauseSource, type ProviderPause } from './providers/provider-pause-source';
export { CallbackTokenService, webhookPath, type CallbackVerdict } from './callback-tokens/callback-token.service';
export { CallbackTokenIssued, CallbackTokenRotated, LegacyCallbackUrlSet } from './callback-tokens/callback-token.events';
