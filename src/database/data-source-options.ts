import { extname, join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

// Compiled code loads the compiled migrations; ts runners (tests, the CLI) load the sources.
const migrationFiles = join(__dirname, '..', '..', 'migrations', `*${extname(__filename)}`);

export function dataSourceOptions(url: string, poolSize = 10, connectTimeoutMs = 5000): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    migrations: [migrationFiles],
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    poolSize,
    extra: { application_name: 'whatsapp-notify', connectionTimeoutMillis: connectTimeoutMs },
  };
}
