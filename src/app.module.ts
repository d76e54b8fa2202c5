import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { EventStoreModule } from './event-store';
import { HealthModule } from './health/health.module';
import { ProjectionsModule } from './whatsapp/projections/projections.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, extraImports: DynamicModule['imports'] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        CqrsModule.forRoot(),
        DatabaseModule,
        EventStoreModule,
        HealthModule,
        ProjectionsModule,
        ...extraImports,
      ],
    };
  }
}
