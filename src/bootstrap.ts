import { type DynamicModule, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { createLogger } from './common/logger';
import { createValidationPipe } from './common/validation';
import { AppConfig } from './config/app-config';

export interface CreateAppOptions {
  logger?: LoggerService;
  /** Extra modules, e.g. a test's own module that uses the command bus. */
  imports?: DynamicModule['imports'];
}

/** Builds the whole service; main.ts listens on it, tests drive it in-process. */
export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.get('BODY_LIMIT_BYTES'),
    // Health checks and callbacks keep working while a shutdown drains the requests in flight.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options.imports ?? []), adapter, {
    logger: options.logger ?? createLogger(config.get('LOG_LEVEL')),
    abortOnError: false,
  });
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  return app;
}
