import { Injectable, Module } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import {
  CancelWhatsAppNotificationsCommand,
  IdempotencyKeyConflictError,
  NothingToCancelError,
  InvalidNotificationError,
  ProviderNotEnabledError,
  SendWhatsAppNotificationCommand,
  WhatsAppSendingModule,
  type SendNotificationBody,
  type SendNotificationResult,
} from '../../src/whatsapp/sending';
import type { TestApp } from '../support/test-app';
import { createTenant, eventTypes, jobInState, postNotification, putUser, requestsTo, startSendingApp, startSimulator, type TestTenant } from './sending-test-kit';

/** Another feature of the service that notifies users: it only knows the command bus. */
@Injectable()
class OrderNotifier {
  constructor(private readonly commandBus: CommandBus) {}

  notifyShipped(appId: string, user: string, idempotencyKey?: string): Promise<SendNotificationResult> {
    const body: SendNotificationBody = { notification: { title: 'Your order shipped', message: 'It arrives Friday' }, sendTo: { recipients: [user] } };
    return this.commandBus.execute(new SendWhatsAppNotificationCommand(appId, body, { idempotencyKey }));
  }

  send(appId: string, body: unknown): Promise<SendNotificationResult> {
    return this.commandBus.execute(new SendWhatsAppNotificationCommand(appId, body as SendNotificationBody));
  }
}

@Module({ imports: [WhatsAppSendingModule], providers: [OrderNotifier] })
class OrdersModule {}

describe('SendWhatsAppNotificationCommand through the command bus', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;
  let notifier: OrderNotifier;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, { imports: [OrdersModule] });
    tenant = await createTenant(t, simulator);
    notifier = t.app.get(OrderNotifier);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('queues and sends like POST /v3/notifications, and returns the same result object', async () => {
    await putUser(t, tenant, 'bus-1', { phoneNumber: '+919988779101' });
    await putUser(t, tenant, 'bus-2', { phoneNumber: '+919988779102' });

    const viaBus = await notifier.notifyShipped(tenant.appId, 'bus-1');
    const viaRest = await postNotification(t, tenant, {
      notification: { title: 'Your order shipped', message: 'It arrives Friday' },
      sendTo: { recipients: ['bus-2'] },
    }).expect(202);

    expect(viaBus).toEqual({ requestId: expect.any(String), messages: [{ messageId: expect.any(String), recipient: 'bus-1', status: 'queued' }] });
    expect(Object.keys(viaBus)).toEqual(Object.keys(viaRest.body));
    expect(Object.keys(viaBus.messages[0])).toEqual(Object.keys(viaRest.body.messages[0]));

    await jobInState(t, viaBus.messages[0].messageId, 'sent');
    expect(await eventTypes(t, viaBus.messages[0].messageId)).toEqual(['WhatsAppMessageQueued', 'WhatsAppMessageSent']);
    const [received] = requestsTo(simulator, '919988779101');
    expect(received.path).toBe('/wa/api/v1/msg');
    expect(received.headers.apikey).toBe(tenant.gupshupApiKey);
    expect(received.form.message).toBe(JSON.stringify({ type: 'text', text: 'Your order shipped\n\nIt arrives Friday' }));
    expect(requestsTo(simulator, '919988779101')).toHaveLength(1);
  });

  it('shares idempotency keys with the HTTP route: the same key and body give the first result again', async () => {
    await putUser(t, tenant, 'bus-3', { phoneNumber: '+919988779103' });
    const first = await notifier.notifyShipped(tenant.appId, 'bus-3', 'order-77');
    const again = await notifier.notifyShipped(tenant.appId, 'bus-3', 'order-77');
    expect(again).toEqual(first);
    const overHttp = await postNotification(
      t,
      tenant,
      { notification: { title: 'Your order shipped', message: 'It arrives Friday' }, sendTo: { recipients: ['bus-3'] } },
      { 'Idempotency-Key': 'order-77' },
    ).expect(202);
    expect(overHttp.body).toEqual(first);
    await jobInState(t, first.messages[0].messageId, 'sent');
    expect(requestsTo(simulator, '919988779103')).toHaveLength(1);
  });

  it('fails with the typed errors the HTTP route answers as 400, 409 and 422', async () => {
    const invalid = notifier.send(tenant.appId, { notification: { title: 'No one' } });
    await expect(invalid).rejects.toBeInstanceOf(InvalidNotificationError);
    await expect(invalid).rejects.toMatchObject({ status: 400, message: expect.stringContaining('at least one recipient') });

    await putUser(t, tenant, 'bus-4', { phoneNumber: '+919988779104' });
    await notifier.notifyShipped(tenant.appId, 'bus-4', 'reused-key');
    const conflict = notifier.send(tenant.appId, { notification: { title: 'Other' }, sendTo: { recipients: ['bus-4'] } });
    await expect(conflict).resolves.toBeDefined();
    const conflicting = t.app
      .get(CommandBus)
      .execute(new SendWhatsAppNotificationCommand(tenant.appId, { notification: { title: 'Other' }, sendTo: { recipients: ['bus-4'] } }, { idempotencyKey: 'reused-key' }));
    await expect(conflicting).rejects.toBeInstanceOf(IdempotencyKeyConflictError);
    await expect(conflicting).rejects.toMatchObject({ status: 409 });

    const disabled = await createTenant(t, simulator, { enable: false });
    const notEnabled = notifier.send(disabled.appId, { notification: { title: 'Hi' }, sendTo: { recipients: ['anyone'] } });
    await expect(notEnabled).rejects.toBeInstanceOf(ProviderNotEnabledError);
    await expect(notEnabled).rejects.toMatchObject({ status: 422, message: expect.stringContaining('gupshup_whatsapp') });
  });

  it('CancelWhatsAppNotificationsCommand cancels what is not yet sent, and fails with NothingToCancelError for what the app does not have', async () => {
    await putUser(t, tenant, 'bus-cancel', { phoneNumber: '+919988779121' });
    const later = new Date(Date.now() + 60 * 60 * 1000).toISOString();
    const queued = await notifier.send(tenant.appId, { notification: { title: 'Later' }, sendTo: { recipients: ['bus-cancel'] }, sendAt: later });
    const commandBus = t.app.get(CommandBus);
    expect(await commandBus.execute(new CancelWhatsAppNotificationsCommand(tenant.appId, { requestId: queued.requestId }))).toEqual({ cancelled: 1 });
    await jobInState(t, queued.messages[0].messageId, 'discarded');
    // Another app does not have this request.
    const other = await createTenant(t, simulator, { enable: false });
    await expect(commandBus.execute(new CancelWhatsAppNotificationsCommand(other.appId, { requestId: queued.requestId }))).rejects.toBeInstanceOf(NothingToCancelError);
    await expect(
      commandBus.execute(new CancelWhatsAppNotificationsCommand(tenant.appId, { workflowIdentifier: 'none', cancellationKey: 'none' })),
    ).rejects.toBeInstanceOf(NothingToCancelError);
  });
});
