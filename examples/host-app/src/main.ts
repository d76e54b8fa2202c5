import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, type HostSettings } from './app.module';

/** The host application on a Fastify server (the module's routes and webhook need Fastify). */
export async function createHostApp(settings: HostSettings): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(settings), new FastifyAdapter(), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  return app;
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000);
  void createHostApp({
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    publicBaseUrl: process.env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`,
    gupshupApiBaseUrl: process.env.GUPSHUP_API_BASE_URL ?? 'https://api.gupshup.io',
    secretKey: process.env.SECRET_KEY ?? '',
  }).then((app) => app.listen(port, '127.0.0.1'));
}
