/**
 * The ingestion benchmark's baseline: a NestJS application on the same Fastify adapter as the
 * service, with one POST route that reads the JSON body and answers 200 with an empty body, and
 * nothing else (no database, no validation). Started as its own process by ingestion.ts.
 */
import 'reflect-metadata';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

@Controller()
class NoopController {
  @Post('noop')
  @HttpCode(200)
  receive(): void {}

  @Get('health')
  health(): { status: string } {
    return { status: 'ok' };
  }
}

@Module({ controllers: [NoopController] })
class NoopModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(NoopModule, new FastifyAdapter(), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
}

void main();
