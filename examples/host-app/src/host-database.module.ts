import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';

export const HOST_DATABASE_URL = Symbol('host-database-url');

/** The host's own TypeORM DataSource (its own tables, in `public`); the WhatsApp module shares its server. */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      useFactory: async (url: string) => {
        const dataSource = await new DataSource({ type: 'postgres', url, poolSize: 4 }).initialize();
        await dataSource.query(`
          CREATE TABLE IF NOT EXISTS order_message_statuses (
            id          bigserial PRIMARY KEY,
            app_id      text NOT NULL,
            message_id  text NOT NULL,
            status      text NOT NULL,
            previous    text,
            at          timestamptz NOT NULL,
            UNIQUE (message_id, status)
          )`);
        return dataSource;
      },
      inject: [HOST_DATABASE_URL],
    },
  ],
  exports: [DataSource],
})
export class HostDatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** After every module's onModuleDestroy: the event handlers' last writes are done. */
  async onApplicationShutdown(): Promise<void> {
    await this.dataSource.destroy();
  }
}
