import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { WhatsAppNotifyModule, type WhatsAppNotifyModuleOptions } from 'whatsapp-notify';
import { HOST_DATABASE_URL, HostDatabaseModule } from './host-database.module';
import { OrderNotesController } from './order-notes.controller';
import { OrderNotifier } from './order-notifier';
import { StatusLogHandler } from './status-log.handler';

export interface HostSettings {
  databaseUrl: string;
  /** Where Gupshup reaches this application. */
  publicBaseUrl: string;
  gupshupApiBaseUrl: string;
  /** 64 hex digits: encrypts the Gupshup credentials the module stores. */
  secretKey: string;
  /** More of the module's settings (poll intervals, ...). */
  whatsApp?: WhatsAppNotifyModuleOptions;
}

@Module({})
export class AppModule {
  static forRoot(settings: HostSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CqrsModule.forRoot(),
        { module: HostDatabaseModule, providers: [{ provide: HOST_DATABASE_URL, useValue: settings.databaseUrl }], exports: [HOST_DATABASE_URL] },
        WhatsAppNotifyModule.forRootAsync({
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => ({
            dataSource,
            routePrefix: 'whatsapp',
            publicBaseUrl: settings.publicBaseUrl,
            gupshupApiBaseUrl: settings.gupshupApiBaseUrl,
            secretKey: settings.secretKey,
            databasePoolSize: 4,
            ...settings.whatsApp,
          }),
        }),
      ],
      controllers: [OrderNotesController],
      providers: [OrderNotifier, StatusLogHandler],
    };
  }
}
