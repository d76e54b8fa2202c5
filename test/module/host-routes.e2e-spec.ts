import {
  Catch,
  Controller,
  ForbiddenException,
  Get,
  HttpException,
  Module,
  type ArgumentsHost,
  type DynamicModule,
  type ExceptionFilter,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import request from 'supertest';
import { CreateWhatsAppAppCommand, WhatsAppNotifyModule, type WhatsAppNotifyModuleOptions } from '../../src';
import { ConfigError } from '../../src/config/app-config';
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

/** A host with a health check of its own at /health. */
@Controller('health')
class HostHealthController {
  @Get()
  health(): { status: string } {
    return { status: 'the host is fine' };
  }
}

/** A host's own error shape, for every error Nest's exception layer hands it. */
@Catch()
class HostErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    void host.switchToHttp().getResponse<FastifyReply>().code(status).send({ hostError: status });
  }
}

@Module({})
class RoutesHost {
  static with(options: WhatsAppNotifyModuleOptions, controllers = [HostDashboardController]): DynamicModule {
    return { module: RoutesHost, imports: [CqrsModule.forRoot(), WhatsAppNotifyModule.forRoot(options)], controllers };
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

  async function startHost(
    options: Partial<WhatsAppNotifyModuleOptions>,
    controllers?: Parameters<typeof RoutesHost.with>[1],
    setUp?: (host: NestFastifyApplication) => void,
  ): Promise<NestFastifyApplication> {
    const all = { databaseUrl: database.url, workers: false, secretKey: TEST_SECRET_KEY, databasePoolSize: 2, ...options } as WhatsAppNotifyModuleOptions;
    const host = await NestFactory.create<NestFastifyApplication>(RoutesHost.with(all, controllers), new FastifyAdapter(), { logger: false, abortOnError: false });
    setUp?.(host);
    try {
      await host.listen(0, '127.0.0.1');
    } catch (error) {
      await host.close();
      throw error;
    }
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

  it.each([
    ['/health', [HostHealthController], 'GET /health'],
    ['/dashboard', [HostDashboardController], 'GET /dashboard'],
  ])("without routePrefix, a host route at %s stops start-up with a message naming the module and routePrefix", async (_path, controllers, route) => {
    const failed = await startHost({ publicBaseUrl: 'https://shop.example' }, controllers).then(
      async (host) => {
        await host.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(ConfigError);
    const message = (failed as Error).message;
    expect(message).toContain(`the application already declares ${route}, a route of WhatsAppNotifyModule`);
    expect(message).toMatch(/set routePrefix \(e\.g\. "whatsapp"\) to mount them under it, or http: false/);
    expect(message).toContain('/health, /metrics');
  });

  it('with routePrefix, the host keeps its own /health beside the module\'s', async () => {
    const host = await startHost({ publicBaseUrl: 'https://shop.example', routePrefix: 'wa' }, [HostHealthController]);
    try {
      await request(host.getHttpServer()).get('/health').expect(200, { status: 'the host is fine' });
      await request(host.getHttpServer()).get('/wa/health').expect((response) => expect([200, 503]).toContain(response.status));
    } finally {
      await host.close();
    }
  });

  it("answers a refused body on its routes as the service does, past the host's own filter, and leaves every other error to the host", async () => {
    const host = await startHost({ publicBaseUrl: 'https://shop.example', routePrefix: 'wa', bodyLimitBytes: 2048 }, [HostHealthController], (app) => {
      app.useGlobalFilters(new HostErrorFilter());
      // A check of the host's on every request, the module's routes included.
      app.use((request: FastifyRequest['raw'], _response: unknown, next: (error?: unknown) => void) =>
        next(request.headers['x-blocked'] ? new ForbiddenException('blocked by the host') : undefined),
      );
    });
    try {
      const server = host.getHttpServer();
      const tooLarge = await request(server).post('/wa/v3/notifications').set('Content-Type', 'application/json').send(JSON.stringify({ note: 'x'.repeat(4000) })).expect(413);
      expect(tooLarge.body).toEqual({ statusCode: 413, message: 'Request body is too large: the limit is 2048 bytes (BODY_LIMIT_BYTES)', error: 'Payload Too Large' });
      const malformed = await request(server).post('/wa/v3/notifications').set('Content-Type', 'application/json').send('{').expect(400);
      expect(malformed.body).toEqual({ statusCode: 400, message: expect.stringMatching(/^Body is not valid JSON/), error: 'Bad Request' });
      await request(server).post('/wa/v3/notifications').set('X-Blocked', '1').send({}).expect(403, { hostError: 403 });
      await request(server).post('/health').set('Content-Type', 'application/json').send('{').expect(400, { hostError: 400 });
    } finally {
      await host.close();
    }
  });
});
