import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { resolve } from 'node:path';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { Database } from './database';
import { EmbeddedPostgresServer } from './embedded-postgres';
import { RevertMigrationCommand, RunMigrationsCommand } from './migrations.commands';

const EMBEDDED_SERVER = Symbol('embedded-postgres-server');
const EMBEDDED_DATABASE = 'whatsapp_notify';

/** Where the embedded PostgreSQL keeps its data. */
export function embeddedDataDir(config: AppConfig): string {
  return resolve(config.get('DATA_DIR'), 'postgres');
}

interface DatabaseHandles {
  dataSource: DataSource;
  embedded?: EmbeddedPostgresServer;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL when it is unset, then applies
 * pending migrations before anything else starts. Closes the pool, then the embedded server.
 */
async function openDatabase(config: AppConfig): Promise<DatabaseHandles> {
  const logger = new Logger('Database');
  let url = config.get('DATABASE_URL');
  let embedded: EmbeddedPostgresServer | undefined;
  if (!url) {
    const dataDir = embeddedDataDir(config);
    embedded = new EmbeddedPostgresServer({
      dataDir,
      port: config.get('EMBEDDED_POSTGRES_PORT'),
      log: (line) => logger.debug(line),
    });
    await embedded.start();
    await embedded.createDatabaseIfMissing(EMBEDDED_DATABASE);
    url = embedded.url(EMBEDDED_DATABASE);
    logger.log(`embedded PostgreSQL started on ${new URL(url).host}, data in ${dataDir}`);
  }
  const dataSource = new DataSource(dataSourceOptions(url, config.get('DATABASE_POOL_SIZE')));
  try {
    await dataSource.initialize();
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length) logger.log(`applied migrations: ${applied.map((m) => m.name).join(', ')}`);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return { dataSource, embedded };
}

@Global()
@Module({
  providers: [
    { provide: EMBEDDED_SERVER, useFactory: openDatabase, inject: [AppConfig] },
    { provide: DataSource, useFactory: (h: DatabaseHandles) => h.dataSource, inject: [EMBEDDED_SERVER] },
    {
      provide: Database,
      // The pool TypeORM opened, shared: one set of connections for the whole service.
      useFactory: (dataSource: DataSource) => new Database((dataSource.driver as unknown as { master: Pool }).master),
      inject: [DataSource],
    },
    RunMigrationsCommand,
    RevertMigrationCommand,
  ],
  exports: [DataSource, Database],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(EMBEDDED_SERVER) private readonly handles: DatabaseHandles) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.handles.dataSource.isInitialized) await this.handles.dataSource.destroy();
    await this.handles.embedded?.stop();
  }
}
