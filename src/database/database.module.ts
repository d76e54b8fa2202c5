import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { resolve } from 'node:path';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { dataSourceOptions, DEFAULT_SCHEMA, type DatabaseServer } from './data-source-options';
import { databaseUrlTarget, DatabaseConnectError, describeConnectFailure, urlSecrets, type ConnectionTarget } from './database-connect-error';
import { Database } from './database';
import { ReadDatabase } from './read-database';
import { EmbeddedPostgresInUseError, EmbeddedPostgresServer } from './embedded-postgres';
import { RevertMigrationCommand, RunMigrationsCommand } from './migrations.commands';
import { SERVICE_DATA_SOURCE } from './service-data-source';

const EMBEDDED_SERVER = Symbol('embedded-postgres-server');

const EMBEDDED_DATABASE = 'whatsapp_notify';
/** What to do when another process already runs DATA_DIR's embedded PostgreSQL; refuse unless provided. */
const EMBEDDED_SERVER_IN_USE = Symbol('embedded-postgres-in-use');

/**
 * For short commands (the CLI): when a service is running on DATA_DIR, use its embedded
 * PostgreSQL instead of refusing to start. Such a command must not outlive that service.
 */
@Global()
@Module({ providers: [{ provide: EMBEDDED_SERVER_IN_USE, useValue: 'share' }], exports: [EMBEDDED_SERVER_IN_USE] })
export class ShareRunningEmbeddedServerModule {}

/** A second instance on one DATA_DIR is the operator's to fix, not a fault of the code: its one line says it all, without a stack. */
export class DataDirInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirInUseError';
    this.stack = `${this.name}: ${message}`;
  }
}

/** Where the embedded PostgreSQL keeps its data. */
export function embeddedDataDir(config: AppConfig): string {
  return resolve(config.get('DATA_DIR'), 'postgres');
}

interface DatabaseHandles {
  dataSource: DataSource;
  embedded?: EmbeddedPostgresServer;
  /** DATABASE_READ_URL's pool, when it is set. */
  replica?: ReadDatabase;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL when it is unset, and to
 * DATABASE_READ_URL when it is set, then applies pending migrations before anything else
 * starts. Closes the pools, then the embedded server.
 */
async function openDatabase(config: AppConfig, whenInUse: 'refuse' | 'share' | undefined): Promise<DatabaseHandles> {
  const logger = new Logger('Database');
  let server: DatabaseServer | undefined = config.get('DATABASE_URL') ?? sharedServer(config);
  let embedded: EmbeddedPostgresServer | undefined;
  if (!server) {
    const dataDir = embeddedDataDir(config);
    embedded = new EmbeddedPostgresServer({
      dataDir,
      port: config.get('EMBEDDED_POSTGRES_PORT'),
      whenInUse,
      log: (line) => logger.debug(line),
    });
    const inUse = await embedded.start().then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof EmbeddedPostgresInUseError) return error;
        throw error;
      },
    );
    if (inUse) {
      // Two instances on one embedded server: the second would lose its database when the first stops.
      throw new DataDirInUseError(
        `another instance is already running on DATA_DIR=${config.get('DATA_DIR')}` +
          (inUse.port ? ` (its embedded PostgreSQL is on 127.0.0.1:${inUse.port})` : '') +
          ': stop it first, give this instance another DATA_DIR, or point every instance at one PostgreSQL server with DATABASE_URL',
      );
    }
    await embedded.createDatabaseIfMissing(EMBEDDED_DATABASE).catch(async (error: unknown) => {
      await embedded?.stop();
      throw error;
    });
    const url = embedded.url(EMBEDDED_DATABASE);
    server = url;
    const kept = embedded.clusterDir && embedded.clusterDir !== dataDir ? `${dataDir}, which leads to ${embedded.clusterDir}` : dataDir;
    logger.log(`embedded PostgreSQL started on ${new URL(url).host}, data in ${kept}`);
  }
  const schema = config.get('DATABASE_SCHEMA');
  const dataSource = new DataSource(dataSourceOptions(server, config.get('DATABASE_POOL_SIZE'), config.get('DATABASE_CONNECT_TIMEOUT_MS'), schema));
  let replica: ReadDatabase | undefined;
  try {
    await dataSource.initialize().catch((error: unknown) => {
      // The driver's message (`connect ECONNREFUSED 127.0.0.1:5432`) names no setting: say which one points there.
      throw new DatabaseConnectError(describeConnectFailure(error, connectionTarget(config, server, embedded), secretsOf(server)), error);
    });
    replica = await openReplica(config);
    // A revert runs on the schema as it is: applying what is missing first would undo nothing but that.
    if (!config.leavesSchemaAlone) await bringSchemaUpToDate(dataSource, config, logger);
  } catch (error) {
    await replica?.close();
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return { dataSource, embedded, replica };
}

/**
 * DATABASE_READ_URL's pool. In a process that serves the query routes, its first connection is
 * made now, and one that fails stops start-up as DATABASE_URL's does (one line, exit code 69 or
 * 78). Workers and commands never read through it: a replica that is down does not stop them.
 */
async function openReplica(config: AppConfig): Promise<ReadDatabase | undefined> {
  const url = config.get('DATABASE_READ_URL');
  if (!url) return undefined;
  const connectTimeoutMs = config.get('DATABASE_CONNECT_TIMEOUT_MS');
  const replica = ReadDatabase.onReplica(url, config.get('DATABASE_POOL_SIZE'), connectTimeoutMs, config.get('DATABASE_SCHEMA'));
  if (!config.runs('api') || config.runsCommands) return replica;
  try {
    await replica.pool.query('SELECT 1');
  } catch (error) {
    await replica.close();
    throw new DatabaseConnectError(describeConnectFailure(error, databaseUrlTarget(url, connectTimeoutMs, 'DATABASE_READ_URL'), urlSecrets(url)), error);
  }
  return replica;
}

/** How the operator named the server the first connection went to, for its error message. */
function connectionTarget(config: AppConfig, server: DatabaseServer, embedded: EmbeddedPostgresServer | undefined): ConnectionTarget {
  const connectTimeoutMs = config.get('DATABASE_CONNECT_TIMEOUT_MS');
  const url = config.get('DATABASE_URL');
  if (url) return databaseUrlTarget(url, connectTimeoutMs);
  if (embedded && typeof server === 'string') {
    return { ...databaseUrlTarget(server, connectTimeoutMs), setting: `the embedded PostgreSQL of DATA_DIR=${config.get('DATA_DIR')}`, variable: 'DATA_DIR' };
  }
  const address = typeof server === 'string' ? databaseUrlTarget(server, connectTimeoutMs).address : server.host && `${server.host}:${server.port ?? 5432}`;
  return { setting: "the host application's dataSource", address, variable: 'the dataSource options', connectTimeoutMs };
}

function secretsOf(server: DatabaseServer): string[] {
  if (typeof server === 'string') return urlSecrets(server);
  return [...(server.url ? urlSecrets(server.url) : []), ...(typeof server.password === 'string' && server.password ? [server.password] : [])];
}

/** Applies the missing migrations, or with MIGRATIONS_RUN off refuses a schema that lacks some. */
async function bringSchemaUpToDate(dataSource: DataSource, config: AppConfig, logger: Logger): Promise<void> {
  const schema = config.get('DATABASE_SCHEMA');
  if (config.get('MIGRATIONS_RUN')) {
    if (schema !== DEFAULT_SCHEMA) await createSchemaIfMissing(dataSource, schema);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length) logger.log(`applied migrations${schema === DEFAULT_SCHEMA ? '' : ` in schema ${schema}`}: ${applied.map((m) => m.name).join(', ')}`);
  } else if (await lacksMigrations(dataSource)) {
    throw new Error(
      `the database schema "${schema}" lacks migrations of this version and MIGRATIONS_RUN is false (migrationsRun in a host application): apply them first (start once with migrations on)`,
    );
  }
}

/**
 * The server of a host application's DataSource: the service opens a pool of its own to it,
 * so that its connections carry its schema's search_path whatever the host's connections do.
 */
function sharedServer(config: AppConfig): DatabaseServer | undefined {
  const shared = config.host?.dataSource;
  if (!shared) return undefined;
  const options = shared.options;
  if (options.type !== 'postgres') throw new Error(`dataSource must be a PostgreSQL DataSource (got type "${options.type}")`);
  const { url, host, port, username, password, database, ssl } = options;
  return { url, host, port, username, password, database, ssl };
}

/** Without creating anything, unlike TypeORM's check, which first creates its table. */
async function lacksMigrations(dataSource: DataSource): Promise<boolean> {
  const [{ present }] = await dataSource.query<{ present: boolean }[]>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present");
  return !present || (await dataSource.showMigrations());
}

/** Two instances starting together may both try to create it: the loser finds it there. */
async function createSchemaIfMissing(dataSource: DataSource, schema: string): Promise<void> {
  try {
    await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } catch (error) {
    const [{ exists }] = await dataSource.query<{ exists: boolean }[]>('SELECT count(*) > 0 AS exists FROM pg_namespace WHERE nspname = $1', [schema]);
    if (!exists) throw error;
  }
}

@Global()
@Module({
  providers: [
    { provide: EMBEDDED_SERVER, useFactory: openDatabase, inject: [AppConfig, { token: EMBEDDED_SERVER_IN_USE, optional: true }] },
    { provide: SERVICE_DATA_SOURCE, useFactory: (h: DatabaseHandles) => h.dataSource, inject: [EMBEDDED_SERVER] },
    {
      provide: Database,
      // The pool TypeORM opened, shared: one set of connections for the whole service.
      useFactory: (dataSource: DataSource) => new Database((dataSource.driver as unknown as { master: Pool }).master),
      inject: [SERVICE_DATA_SOURCE],
    },
    {
      provide: ReadDatabase,
      useFactory: (handles: DatabaseHandles, primary: Database) => handles.replica ?? ReadDatabase.onPrimary(primary),
      inject: [EMBEDDED_SERVER, Database],
    },
    RunMigrationsCommand,
    RevertMigrationCommand,
  ],
  exports: [SERVICE_DATA_SOURCE, Database, ReadDatabase],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(EMBEDDED_SERVER) private readonly handles: DatabaseHandles,
    private readonly readDatabase: ReadDatabase,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.readDatabase.close().catch(() => undefined);
    if (this.handles.dataSource.isInitialized) await this.handles.dataSource.destroy();
    await this.handles.embedded?.stop();
  }
}
