import { extname, join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

// Compiled code loads the compiled migrations; ts runners (tests, the CLI) load the sources.
const migrationFiles = join(__dirname, '..', '..', 'migrations', `*${extname(__filename)}`);

/** Where the server is: a connection URL, or the address and credentials of another DataSource. */
export type DatabaseServer = string | Pick<PostgresDataSourceOptions, 'url' | 'host' | 'port' | 'username' | 'password' | 'database' | 'ssl'>;

type PostgresDataSourceOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

/** The default schema: the service's tables live there unless DATABASE_SCHEMA names another. */
export const DEFAULT_SCHEMA = 'public';

export function dataSourceOptions(server: DatabaseServer, poolSize = 10, connectTimeoutMs = 5000, schema = DEFAULT_SCHEMA): DataSourceOptions {
  const { url, host, port, username, password, database, ssl } = typeof server === 'string' ? { url: server } : server;
  return {
    type: 'postgres',
    url,
    host,
    port,
    username,
    password,
    database,
    ssl,
    migrations: [migrationFiles],
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    poolSize,
    extra: {
      application_name: 'whatsapp-notify',
      connectionTimeoutMillis: connectTimeoutMs,
      // Every connection of the pool (and so every migration, function and query) resolves
      // unqualified names in the schema first: the SQL never names it.
      ...(schema === DEFAULT_SCHEMA ? {} : { options: `-c search_path=${schema}` }),
    },
  };
}
