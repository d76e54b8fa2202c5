import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { CreateWhatsAppAppCommand, WhatsAppNotifyModule, type WhatsAppNotifyModuleOptions } from '../../src';
import { ensureDashboardBuilt } from '../dashboard/browser-kit';
import { TEST_SECRET_KEY } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

/** A host with a dashboard of its own at /dashboard. */
@Controller('dashboard')
class HostDashboardController {
  @Get()
  page(): { dashboard: string } {
    return { dashboard: 'the host' };
  }
}

@Module({})
class RoutesHost {
  static with(options: WhatsAppNotifyModuleOptions): DynamicModule {
    return { module: RoutesHost, imports: [CqrsModule.forRoot(), WhatsAppNotifyModule.forRoot(options)], controllers: [HostDashboardController] };
  }
}

describe("WhatsAppNotifyModule's routes on the host's server", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    ensureDashboardBuilt();
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function startHost(options: Partial<WhatsAppNotifyModuleOptions>): Promise<NestFastifyApplication> {
    const all = { databaseUrl: database.url, workers: false, secretKey: TEST_SECRET_KEY, databasePoolSize: 2, ...options } as WhatsAppNotifyModuleOptions;
    const host = await NestFactory.create<NestFastifyApplication>(RoutesHost.with(all), new FastifyAdapter(), { logger: false, abortOnError: false });
    await host.listen(0, '127.0.0.1');
    return host;
  }

  it('with http: false, mounts no route at all: the dashboard pages included', async () => {
    const host = await startHost({ http: false });
    try {
      const server = host.getHttpServer();
      await request(server).get('/dashboard').expect(200, { dashboard: 'the host' });
      await request(server).get('/dashboard/').expect(404);
      await request(server).get('/dashboard/assets/index.js').expect(404);
      await request(server).get('/dashboard/api/session').expect(404);
    } finally {
      await host.close();
    }
  });

  it('with routePrefix, serves the dashboard, its assets, its session cookie and its API under the prefix', async () => {
    const host = await startHost({ routePrefix: 'wa', publicBaseUrl: 'https://shop.example' });
    try {
      const server = host.getHttpServer();
      await request(server).get('/dashboard').expect(200, { dashboard: 'the host' });

      const page = await request(server).get('/wa/dashboard').expect(200).expect('content-type', /text\/html/);
      const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) {
        expect(asset).toMatch(/^\/wa\/dashboard\/assets\//);
        await request(server).get(asset).expect(200);
      }
      await request(server).get('/wa/dashboard/').expect(200);

      const app = await host.get(CommandBus).execute(new CreateWhatsAppAppCommand({ name: 'Dashboard' }));
      const signedIn = await request(server).post('/wa/dashboard/api/session').set('X-Dashboard-Request', '1').send({ apiKey: app.apiKey, apiSecret: app.apiSecret }).expect(200);
      const cookie = signedIn.headers['set-cookie'] as unknown as string[];
      expect(cookie[0]).toContain('Path=/wa/dashboard;');
      const session = cookie[0].split(';', 1)[0];
      // The dashboard's API answers as the module's routes under the prefix do.
      await request(server).get('/wa/dashboard/api/v3/messages').set('Cookie', session).expect(200, { data: [], nextCursor: null });
      await request(server).get('/dashboard/api/v3/messages').set('Cookie', session).expect(404);
    } finally {
      await host.close();
    }
  });
});
