import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AppsModule } from './apps/apps.module';
import { ApplicationCqrsModule } from './common/application-cqrs';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DatabaseModule } from './database/database.module';
import { EventStoreModule } from './event-store';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { UsersModule } from './users/users.module';
import { ConsentModule } from './whatsapp/consent/consent.module';
import { ProjectionsModule } from './whatsapp/projections/projections.module';
import { QueriesModule } from './whatsapp/queries/queries.module';
import { WhatsAppSendingModule } from './whatsapp/sending/sending.module';
import { TemplatesModule } from './whatsapp/templates/templates.module';
import { DeliveryTrackingModule } from './whatsapp/tracking/tracking.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/** Every module of the service. The service (main.ts, the CLI) and WhatsAppNotifyModule in another application are built from it. */
@Module({})
export class AppModule {
  /** Configured from the environment (or a test's own configuration). */
  static forRoot(config: AppConfig, extraImports: DynamicModule['imports'] = []): DynamicModule {
    return AppModule.around(ConfigModule.forRoot(config), [CqrsModule.forRoot(), ...(extraImports ?? [])]);
  }

  /**
   * Around a module that provides the AppConfig (globally). The CQRS buses are the application's
   * (ApplicationCqrsModule): a host's own CqrsModule.forRoot(), or one loaded when it has none.
   */
  static around(configModule: DynamicModule, extraImports: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        configModule,
        ApplicationCqrsModule,
        DatabaseModule,
        EventStoreModule,
        HealthModule,
        AppsModule,
        UsersModule,
        ProjectionsModule,
        QueriesModule,
        TemplatesModule,
        WhatsAppSendingModule,
        ConsentModule,
        DeliveryTrackingModule,
        WebhooksModule,
        MetricsModule,
        DashboardModule,
        ...extraImports,
      ],
    };
  }
}
