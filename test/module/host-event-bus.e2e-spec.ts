import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule, EventBus, EventsHandler, ofType, type IEventHandler } from '@nestjs/cqrs';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { CreateWhatsAppAppCommand, SendWhatsAppNotificationCommand, WhatsAppMessageStatusChanged, WhatsAppNotifyModule } from '../../src';
import { eventually } from '../support/eventually';
import { TEST_SECRET_KEY } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';

const handled: WhatsAppMessageStatusChanged[] = [];

/** A host's own handler of the module's events. */
@Injectable()
@EventsHandler(WhatsAppMessageStatusChanged)
class HostStatusHandler implements IEventHandler<WhatsAppMessageStatusChanged> {
  handle(event: WhatsAppMessageStatusChanged): void {
    handled.push(event);
  }
}

@Module({})
class EventHost {
  static with(databaseUrl: string, importsCqrs: boolean): DynamicModule {
    const whatsApp = WhatsAppNotifyModule.forRoot({
      databaseUrl,
      routePrefix: 'wa',
      publicBaseUrl: 'https://shop.example',
      gupshupApiBaseUrl: 'http://127.0.0.1:9',
      secretKey: TEST_SECRET_KEY,
      subscriptionPollMs: 20,
      dispatchPollMs: 20,
    });
    return { module: EventHost, imports: importsCqrs ? [CqrsModule.forRoot(), whatsApp] : [whatsApp], providers: [HostStatusHandler] };
  }
}

describe("WhatsAppNotifyModule's events on the host's EventBus", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.each([
    ['a host that imports CqrsModule.forRoot()', true],
    ['a host that does not import CqrsModule', false],
  ])('%s: one CqrsModule in the application, and app.get(EventBus) sees every status change once', async (_name, importsCqrs) => {
    handled.length = 0;
    const host = await NestFactory.create<NestFastifyApplication>(EventHost.with(database.url, importsCqrs), new FastifyAdapter(), { logger: false, abortOnError: false });
    try {
      await host.listen(0, '127.0.0.1');
      const cqrsModules = [...host.get(ModulesContainer).values()].filter((moduleRef) => moduleRef.metatype === CqrsModule);
      expect(cqrsModules).toHaveLength(1);

      const seen: WhatsAppMessageStatusChanged[] = [];
      const subscription = host.get(EventBus).pipe(ofType(WhatsAppMessageStatusChanged)).subscribe((event) => seen.push(event));
      try {
        const app = await host.get(CommandBus).execute(new CreateWhatsAppAppCommand({ name: `Events ${String(importsCqrs)}` }));
        await request(host.getHttpServer())
          .put('/wa/v3/channels/whatsapp/providers/gupshup_whatsapp')
          .set({ 'X-ENGAGESPOT-API-KEY': app.apiKey, 'X-ENGAGESPOT-API-SECRET': app.apiSecret })
          .send({ enabled: true, config: { API_KEY: 'gs-key-events', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } })
          .expect(200);
        // No phone number: queued, then discarded, without a call to Gupshup.
        const sent = await host.get(CommandBus).execute(new SendWhatsAppNotificationCommand(app.id, { notification: { title: 'Hi' }, sendTo: { recipients: [{ identifier: 'no-phone' }] } }));
        const messageId = sent.messages[0].messageId as string;
        const statuses = (events: WhatsAppMessageStatusChanged[]) => events.filter((event) => event.messageId === messageId).map((event) => event.status);
        await eventually(() => (statuses(seen).includes('discarded') ? true : undefined), 'the discarded status on app.get(EventBus)');
        await eventually(() => (statuses(handled).includes('discarded') ? true : undefined), "the discarded status at the host's handler");
        expect(statuses(seen)).toEqual(['queued', 'discarded']);
        expect(statuses(handled)).toEqual(['queued', 'discarded']);
      } finally {
        subscription.unsubscribe();
      }
    } finally {
      await host.close();
    }
  });
});
