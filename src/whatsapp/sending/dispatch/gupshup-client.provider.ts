import type { Provider } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { GupshupClient } from '../../gupshup/gupshup-client';

/**
 * The Gupshup client closed after the dispatcher has finished its calls in flight: Nest destroys
 * modules (onModuleDestroy) before it runs beforeApplicationShutdown, where the dispatcher drains,
 * so the client closes in onApplicationShutdown instead.
 */
export class DrainingGupshupClient extends GupshupClient {
  override async onModuleDestroy(): Promise<void> {}

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}

export const gupshupClientProvider: Provider = {
  provide: GupshupClient,
  useFactory: (config: AppConfig) =>
    new DrainingGupshupClient({
      baseUrl: config.get('GUPSHUP_API_BASE_URL'),
      timeoutMs: config.get('GUPSHUP_TIMEOUT_MS'),
      // Enough keep-alive connections for every job the workers may have in flight at once.
      connections: Math.min(256, Math.max(8, config.get('DISPATCH_WORKERS') * config.get('DISPATCH_BATCH_SIZE'))),
    }),
  inject: [AppConfig],
};
