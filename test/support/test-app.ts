import type { DynamicModule, LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/bootstrap';
import type { LogDestination } from '../../src/common/logger';
import { AppConfig } from '../../src/config/app-config';
import { Database } from '../../src/database/database';
import { makeTempDir, removeTempDir } from './temp-dirs';
import { SLOW_MACHINE_ENV } from './slow-machine-env';
import { createTestDatabase, type TestDatabase } from './test-database';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const TEST_SECRET_KEY = '0f'.repeat(32);


export interface TestApp {
  app: NestFastifyApplication;
  /** http://127.0.0.1:port of the running service. */
  url: string;
  db: Database;
  database: TestDatabase;
  config: AppConfig;
  /** Stops the service; drops the database unless it was passed in. */
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse a database (e.g. to restart the service on it); it is then not dropped on close. */
  database?: TestDatabase;
  imports?: DynamicModule['imports'];
  logger?: LoggerService;
  /** Where the service's own logger writes (LOG_FORMAT and LOG_LEVEL applied) instead of stdout. */
  logDestination?: LogDestination;
}

/** The whole service on a real PostgreSQL database of its own, listening on a loopback port. */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.database ?? (await createTestDatabase());
  const dataDir = options.env?.DATA_DIR ? undefined : makeTempDir('data-');
  const config = AppConfig.fromEnv({
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SECRET_KEY: TEST_SECRET_KEY,
    LOG_LEVEL: 'warn',
    SUBSCRIPTION_POLL_MS: '20',
    DISPATCH_POLL_MS: '20',
    DATABASE_POOL_SIZE: '10',
    ...SLOW_MACHINE_ENV,
    ...options.env,
  });
  const app = await createApp(config, { imports: options.imports, logger: options.logger, logDestination: options.logDestination });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    db: app.get(Database),
    database,
    config,
    async close() {
      await app.close();
      if (!options.database) await database.drop();
      if (dataDir) removeTempDir(dataDir);
    },
  };
}
