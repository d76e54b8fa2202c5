import { Injectable, Module } from '@nestjs/common';
import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import {
  NotificationRequested,
  WhatsAppMessageDiscarded,
  WhatsAppMessageQueued,
  WhatsAppMessageSent,
  WhatsAppMessageStatusChanged,
} from '../../src';
import { HostEventsModule } from '../../src/whatsapp/host-events/host-events.module';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import type { TestApp } from '../support/test-app';
import { createTenant, eventually, postNotification, putUser, startSendingApp, startSimulator, type TestTenant } from '../sending/sending-test-kit';

const seen: object[] = [];

/** What a host's handlers would see: every event of interest, in the order published. */
@Injectable()
@EventsHandler(NotificationRequested, WhatsAppMessageQueued, WhatsAppMessageSent, WhatsAppMessageDiscarded, WhatsAppMessageStatusChanged)
class Collector implements IEventHandler {
  handle(event: object): void {
    seen.push(event);
  }
}

@Module({ imports: [HostEventsModule], providers: [Collector] })
class ListenerModule {}

const describeEvent = (event: object) =>
  event instanceof WhatsAppMessageStatusChanged ? `status ${event.previousStatus ?? '-'}>${event.status}` : event.constructor.name;

describe('the WhatsApp events on the EventBus', () => {
  let simulator: GupshupSimulator;
  let database: TestDatabase;
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    simulator = await startSimulator();
    database = await createTestDatabase();
    t = await startSendingApp(simulator, { database, imports: [ListenerModule] });
    tenant = await createTenant(t, simulator);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
    await database?.drop();
  });

  const eventsOf = (messageId: string) => seen.filter((event) => (event as { data?: { messageId?: string }; messageId?: string }).data?.messageId === messageId || (event as { messageId?: string }).messageId === messageId);

  it('publishes the domain events and each status rise in log order, and goes on after a restart from where it was', async () => {
    await putUser(t, tenant, 'no-phone', {});
    const first = await postNotification(t, tenant, { notification: { title: 'Hi' }, sendTo: { recipients: ['no-phone'] } }).expect(202);
    const discarded = first.body.messages[0].messageId as string;
    await eventually(() => (eventsOf(discarded).length >= 4 ? true : undefined), 'the discarded message to be published');
    expect(eventsOf(discarded).map(describeEvent)).toEqual(['WhatsAppMessageQueued', 'status ->queued', 'WhatsAppMessageDiscarded', 'status queued>discarded']);
    const change = eventsOf(discarded)[3] as WhatsAppMessageStatusChanged;
    expect(change).toMatchObject({ appId: tenant.appId, messageId: discarded, requestId: first.body.requestId, recipient: 'no-phone', discardReason: { code: expect.any(String) } });
    expect(seen.filter((event) => event instanceof NotificationRequested).map((event) => (event as NotificationRequested).data.requestId)).toEqual([first.body.requestId]);

    // Restarted: published events are not published again, new ones are (callbacks are other tests' business: sent is enough).
    await t.close();
    const before = seen.length;
    t = await startSendingApp(simulator, { database, imports: [ListenerModule] });
    await putUser(t, tenant, 'ada', { phoneNumber: '+919988771001' });
    const second = await postNotification(t, tenant, { notification: { title: 'Hi' }, sendTo: { recipients: ['ada'] } }).expect(202);
    const sent = second.body.messages[0].messageId as string;
    await eventually(() => (eventsOf(sent).some((event) => event instanceof WhatsAppMessageStatusChanged && event.status === 'sent') ? true : undefined), 'ada to be sent');
    expect(eventsOf(sent).filter((event) => event instanceof WhatsAppMessageStatusChanged).map(describeEvent)).toEqual([
      'status ->queued',
      'status queued>sent',
    ]);
    expect(seen.slice(before).some((event) => eventsOf(discarded).includes(event))).toBe(false);
  });
});
