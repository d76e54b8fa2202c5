import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { CreateWhatsAppAppCommand, WhatsAppNotifyModule, type WhatsAppNotifyModuleOptions } from '../../src';
import { ConfigError } from '../../src/config/app-config';
import { startTestApp, TEST_ADMIN_TOKEN, TEST_SECRET_KEY, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/** A route of the host's own, where the module's API has its routes when it is mounted without a prefix. */
@Controller('v3/orders')
class HostOrdersController {
  @Get()
  list(): { orders: string[] } {
    return { orders: ['A-1'] };
  }
}

@Module({})
class HostModule {
  static with(options: WhatsAppNotifyModuleOptions): DynamicModule {
    return { module: HostModule, imports: [CqrsModule.forRoot(), WhatsAppNotifyModule.forRoot(options)], controllers: [HostOrdersController] };
  }
}

function startHost(options: WhatsAppNotifyModuleOptions): Promise<NestFastifyApplication> {
  return NestFactory.create<NestFastifyApplication>(HostModule.with(options), new FastifyAdapter(), { logger: false, abortOnError: false });
}

describe('WhatsAppNotifyModule inside another application', () => {
  let database: TestDatabase;
  let service: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The service on its own, in the default schema of the same database.
    service = await startTestApp({ database });
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });

  it('without http and workers: no route of its own, its commands on the host bus, its tables in its schema beside the service', async () => {
    await request(service.url).post('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).send({ name: 'Standalone' }).expect(201);
    const host = await startHost({ databaseUrl: database.url, http: false, workers: false, secretKey: TEST_SECRET_KEY, databasePoolSize: 2 });
    try {
      await host.listen(0, '127.0.0.1');
      await request(host.getHttpServer()).get('/admin/apps').set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(404);
      await request(host.getHttpServer()).post('/v3/notifications').send({}).expect(404);

      const created = await host.get(CommandBus).execute(new CreateWhatsAppAppCommand({ name: '  Inside  ' }));
      expect(created).toEqual({
        id: expect.any(String),
        name: 'Inside',
        apiKey: expect.any(String),
        apiSecret: expect.any(String),
        createdAt: expect.any(String),
        callbackUrl: expect.stringContaining(`/api/v1/apps/${created.apiKey}/webhook/gupshup_whatsapp?token=`),
      });
      await expect(host.get(CommandBus).execute(new CreateWhatsAppAppCommand({ name: '' }))).rejects.toMatchObject({ status: 400 });

      const apps = await service.db.query<{ schema: string; name: string }>(
        `SELECT 'public' AS schema, name FROM public.apps UNION ALL SELECT 'whatsapp_notify', name FROM whatsapp_notify.apps ORDER BY 1, 2`,
      );
      expect(apps).toEqual([
        { schema: 'public', name: 'Standalone' },
        { schema: 'whatsapp_notify', name: 'Inside' },
      ]);
      const [{ subscriptions }] = await service.db.query<{ subscriptions: number }>('SELECT count(*)::int AS subscriptions FROM whatsapp_notify.es_subscriptions');
      expect(subscriptions).toBe(0);
    } finally {
      await host.close();
    }
  });

  it('with http: its routes under routePrefix, checked and answered in its own error shape; none outside it', async () => {
    const host = await startHost({
      databaseUrl: database.url,
      workers: false,
      routePrefix: 'wa',
      publicBaseUrl: 'https://shop.example',
      secretKey: TEST_SECRET_KEY,
      databasePoolSize: 2,
    });
    try {
      await host.listen(0, '127.0.0.1');
      const created = await host.get(CommandBus).execute(new CreateWhatsAppAppCommand({ name: 'Routed' }));
      expect(created.callbackUrl).toMatch(new RegExp(`^https://shop\\.example/wa/api/v1/apps/${created.apiKey}/webhook/gupshup_whatsapp\\?token=`));
      const auth = { 'X-ENGAGESPOT-API-KEY': created.apiKey, 'X-ENGAGESPOT-API-SECRET': created.apiSecret };
      const server = host.getHttpServer();

      await request(server).get('/wa/v3/messages').set(auth).expect(200, { data: [], nextCursor: null });
      const tooMany = await request(server).get('/wa/v3/messages?limit=1000').set(auth).expect(400);
      expect(tooMany.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringContaining('limit') });
      const missing = await request(server).put('/wa/v3/channels/whatsapp/providers/gupshup_whatsapp').set(auth).send({ enabled: true, config: {} }).expect(400);
      expect(missing.body.message).toEqual(expect.stringContaining('API_KEY'));
      await request(server).get('/wa/v3/messages').expect(401);
      await request(server).get('/v3/messages').set(auth).expect(404);
      // The host's own routes are the host's: no app credentials asked for.
      await request(server).get('/v3/orders').expect(200, { orders: ['A-1'] });
    } finally {
      await host.close();
    }
  });

  it.each([
    [{ gupshupRateLimt: 5 }, /^Invalid WhatsAppNotifyModule options: unknown option "gupshupRateLimt"/],
    [{ dispatchMaxAttempts: 0 }, /^Invalid WhatsAppNotifyModule options: dispatchMaxAttempts must be a whole number from 1 to 100/],
  ])('stops start-up with one line naming a bad option: %j', async (bad, message) => {
    const failed = await startHost({ databaseUrl: database.url, http: false, ...bad } as WhatsAppNotifyModuleOptions).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ConfigError);
    expect((failed as Error).message).toMatch(message);
    expect((failed as Error).message).not.toContain('\n');
  });

  it('with migrationsRun: false, refuses a schema that lacks migrations instead of creating it', async () => {
    const failed = await startHost({ databaseUrl: database.url, http: false, workers: false, schema: 'never_migrated', migrationsRun: false, secretKey: TEST_SECRET_KEY }).catch(
      (error: unknown) => error,
    );
    const message = /the database schema "never_migrated" lacks migrations of this version and MIGRATIONS_RUN is false/;
    expect((failed as Error).message).toMatch(message);
    const [{ schemas }] = await service.db.query<{ schemas: number }>("SELECT count(*)::int AS schemas FROM pg_namespace WHERE nspname = 'never_migrated'");
    expect(schemas).toBe(0);
  });
});
