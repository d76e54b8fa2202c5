import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule, QueryBus } from '@nestjs/cqrs';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import {
  CancelWhatsAppNotificationsCommand,
  CreateWhatsAppAppCommand,
  GetWhatsAppAnalyticsQuery,
  GetWhatsAppMessageQuery,
  GetWhatsAppNotificationQuery,
  InvalidCancellationError,
  InvalidNotificationError,
  InvalidQueryError,
  ListWhatsAppMessagesQuery,
  NothingToCancelError,
  ProviderNotEnabledError,
  SendWhatsAppNotificationCommand,
  UnknownAppError,
  WhatsAppNotifyModule,
  type AnalyticsFilters,
  type MessageFilters,
  type WhatsAppNotifyModuleOptions,
} from '../../src';
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

  it("checks the filters and ids given to its queries on the host's QueryBus with the REST routes' schemas, naming the bad field", async () => {
    const host = await startHost({ databaseUrl: database.url, workers: false, routePrefix: 'wa', publicBaseUrl: 'https://shop.example', secretKey: TEST_SECRET_KEY, databasePoolSize: 2 });
    try {
      await host.listen(0, '127.0.0.1');
      const app = await host.get(CommandBus).execute(new CreateWhatsAppAppCommand({ name: 'Queried' }));
      const auth = { 'X-ENGAGESPOT-API-KEY': app.apiKey, 'X-ENGAGESPOT-API-SECRET': app.apiSecret };
      const queries = host.get(QueryBus);
      const refusal = async (query: Parameters<QueryBus['execute']>[0]): Promise<InvalidQueryError> => {
        const error = await queries.execute(query).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(InvalidQueryError);
        expect(error).toMatchObject({ status: 400 });
        return error as InvalidQueryError;
      };
      // What other modules pass is not typed at run time: a host's values may be anything.
      const filters = (value: unknown) => value as MessageFilters;

      // The same rule as GET /v3/messages, word for word, with the field's place in the query.
      for (const [parameter, value] of [
        ['limit', '1000'],
        ['status', 'lost'],
        ['from', 'yesterday'],
        ['colour', 'red'],
      ]) {
        const rest = await request(host.getHttpServer()).get(`/wa/v3/messages?${parameter}=${value}`).set(auth).expect(400);
        const bus = await refusal(new ListWhatsAppMessagesQuery(app.id, filters({ [parameter]: value })));
        expect(bus.problems).toHaveLength(1);
        expect(bus.message).toBe(`filters.${(rest.body.message as string).replace('known parameter: allowed parameters', 'known field: allowed fields')}`);
      }
      expect((await refusal(new ListWhatsAppMessagesQuery(app.id, filters({ limit: 0 })))).message).toBe('filters.limit must be a whole number from 1 to 100 (got 0)');
      expect((await refusal(new ListWhatsAppMessagesQuery(app.id, filters({ phoneNumber: '+91\u0000' })))).message).toBe('filters.phoneNumber contains a NUL character');
      expect((await refusal(new ListWhatsAppMessagesQuery(app.id, filters('status=sent')))).message).toBe('filters must be an object (got a string)');
      // Every problem at once, each by its field.
      expect((await refusal(new ListWhatsAppMessagesQuery(app.id, filters({ limit: 2.5, requestId: 7 })))).problems).toEqual([
        'filters.requestId must be the requestId returned by POST /v3/notifications (got a number)',
        'filters.limit must be a whole number from 1 to 100 (got 2.5)',
      ]);
      expect((await refusal(new ListWhatsAppMessagesQuery(app.id, { from: '2026-03-02', to: '2026-03-01' }))).message).toMatch(/^from \(2026-03-02\) is after to/);
      expect((await refusal(new ListWhatsAppMessagesQuery(app.id, { cursor: 'not-a-cursor' }))).message).toMatch(/^cursor is not valid/);
      expect((await refusal(new ListWhatsAppMessagesQuery(undefined as unknown as string, {}))).message).toBe('appId is required');

      expect((await refusal(new GetWhatsAppMessageQuery(app.id, ''))).message).toBe('messageId must not be empty');
      expect((await refusal(new GetWhatsAppMessageQuery(app.id, 42 as unknown as string))).message).toBe(
        'messageId must be the messageId returned by POST /v3/notifications (got a number)',
      );
      expect((await refusal(new GetWhatsAppNotificationQuery(app.id, 'a\u0000b'))).message).toBe('requestId contains a NUL character');
      const analytics = (value: unknown) => value as AnalyticsFilters;
      expect((await refusal(new GetWhatsAppAnalyticsQuery(app.id, analytics({ groupBy: 'day' })))).message).toBe('filters.groupBy must be category or template');
      expect((await refusal(new GetWhatsAppAnalyticsQuery(app.id, analytics({ to: 20260301 })))).message).toBe(
        'filters.to must be a date (YYYY-MM-DD) or an ISO 8601 time, e.g. 2026-03-01 (got 20260301)',
      );
      expect((await refusal(new GetWhatsAppAnalyticsQuery(app.id, { from: '2025-01-01', to: '2026-03-01' }))).message).toMatch(/^from and to span 425 days/);

      // Good filters, typed as the REST query's parsed values or as its text, are answered.
      await expect(queries.execute(new ListWhatsAppMessagesQuery(app.id, { status: 'sent', limit: 5 }))).resolves.toEqual({ data: [], nextCursor: null });
      await expect(queries.execute(new ListWhatsAppMessagesQuery(app.id, filters({ limit: '5' })))).resolves.toEqual({ data: [], nextCursor: null });
      await expect(queries.execute(new ListWhatsAppMessagesQuery(app.id))).resolves.toEqual({ data: [], nextCursor: null });
      const today = new Date().toISOString().slice(0, 10);
      await expect(queries.execute(new GetWhatsAppAnalyticsQuery(app.id, { from: today, to: today, groupBy: 'category' }))).resolves.toMatchObject({ from: today, to: today, breakdown: [] });
      // The REST route keeps answering as before.
      await request(host.getHttpServer()).get('/wa/v3/messages?limit=5&status=sent').set(auth).expect(200, { data: [], nextCursor: null });
    } finally {
      await host.close();
    }
  });

  it.each([
    [{ gupshupRateLimt: 5 }, /^Invalid WhatsAppNotifyModule options: unknown option "gupshupRateLimt"/],
    [{ dispatchMaxAttempts: 0 }, /^Invalid WhatsAppNotifyModule options: dispatchMaxAttempts must be a whole number from 1 to 100/],
    // The module's lines go to the host's logger, whose levels are the host's to set.
    [{ logLevel: 'error' }, /^Invalid WhatsAppNotifyModule options: "logLevel" is not an option of the module inside an application: .*NestJS logger/],
  ])('stops start-up with one line naming a bad option: %j', async (bad, message) => {
    const failed = await startHost({ databaseUrl: database.url, http: false, ...bad } as WhatsAppNotifyModuleOptions).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ConfigError);
    expect((failed as Error).message).toMatch(message);
    expect((failed as Error).message).not.toContain('\n');
  });

  it('checks the app id and the cancellation target of its commands, naming what is wrong', async () => {
    const host = await startHost({ databaseUrl: database.url, http: false, workers: false, secretKey: TEST_SECRET_KEY, databasePoolSize: 2 });
    try {
      await host.init();
      const commands = host.get(CommandBus);
      const app = await commands.execute(new CreateWhatsAppAppCommand({ name: 'Commanded' }));
      const body = { notification: { title: 'Hi' }, sendTo: { recipients: ['ada'] } };
      const failure = (command: Parameters<CommandBus['execute']>[0]) => commands.execute(command).then(() => undefined, (error: unknown) => error as Error & { status: number });

      const malformed = await failure(new SendWhatsAppNotificationCommand('garbage', body));
      expect(malformed).toBeInstanceOf(InvalidNotificationError);
      expect(malformed).toMatchObject({ status: 400, message: 'appId must be the id of an app (a UUID), as CreateWhatsAppAppCommand returns it (got "garbage")' });
      const unknownId = randomUUID();
      const unknown = await failure(new SendWhatsAppNotificationCommand(unknownId, body));
      expect(unknown).toBeInstanceOf(UnknownAppError);
      expect(unknown).toMatchObject({ status: 404, message: expect.stringContaining(`No app with appId "${unknownId}"`) });
      // A real app without Gupshup is still told to enable it.
      expect(await failure(new SendWhatsAppNotificationCommand(app.id, body))).toBeInstanceOf(ProviderNotEnabledError);

      const cancel = (appId: string, target: unknown) => failure(new CancelWhatsAppNotificationsCommand(appId, target as { requestId: string }));
      const empty = await cancel(app.id, {});
      expect(empty).toBeInstanceOf(InvalidCancellationError);
      expect(empty).toMatchObject({ status: 400, message: expect.stringContaining('missing target.workflowIdentifier and target.cancellationKey (or target.requestId)') });
      expect((await cancel(app.id, { workflowIdentifier: 'order-shipped' }))!.message).toMatch(/missing target\.cancellationKey$/);
      expect((await cancel('garbage', { requestId: randomUUID() }))!.message).toMatch(/^appId must be the id of an app \(a UUID\)/);
      expect(await cancel(randomUUID(), { requestId: randomUUID() })).toBeInstanceOf(UnknownAppError);
      expect(await cancel(app.id, { requestId: randomUUID() })).toBeInstanceOf(NothingToCancelError);
    } finally {
      await host.close();
    }
  });

  it('stops start-up when the module is imported twice, whose second options would be ignored', async () => {
    const options: WhatsAppNotifyModuleOptions = { databaseUrl: database.url, http: false, workers: false, secretKey: TEST_SECRET_KEY, databasePoolSize: 2 };
    for (const second of [WhatsAppNotifyModule.forRoot({ ...options, schema: 'second' }), WhatsAppNotifyModule.forRootAsync({ useFactory: () => ({ ...options, schema: 'second' }) })]) {
      @Module({ imports: [WhatsAppNotifyModule.forRoot(options)] })
      class FirstModule {}
      @Module({ imports: [CqrsModule.forRoot(), FirstModule, second] })
      class TwiceHost {}
      const failed = await NestFactory.create(TwiceHost, new FastifyAdapter(), { logger: false, abortOnError: false }).then(
        async (host) => {
          await host.close();
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(ConfigError);
      expect((failed as Error).message).toMatch(/^WhatsAppNotifyModule is imported 2 times \(forRoot or forRootAsync, called more than once\): import it once/);
    }
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
