import { EngagespotClient, type CreateEngagespotClient } from '@engagespot/node';
import type { IEngagespotSendParams } from '@engagespot/node/lib/types';
import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import { createTenant, eventually, requestsTo, startSendingApp, startSimulator, type TestTenant } from '../sending/sending-test-kit';

/**
 * The official Node SDK, unchanged, against the service: an Engagespot user switches by giving
 * the SDK this service's root plus /v3 as its baseUrl.
 */
describe('@engagespot/node 1.7 against the service', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;
  let client: CreateEngagespotClient;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    tenant = await createTenant(t, simulator);
    client = EngagespotClient({ apiKey: tenant.apiKey, apiSecret: tenant.apiSecret, baseUrl: `${t.url}/v3` });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  /** The SDK prints the response of a failed call before it throws; the test checks the error itself. */
  async function sdkError(call: Promise<unknown>): Promise<{ status: number; message: string }> {
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await call;
    } catch (error) {
      const { response } = error as { response?: { status: number; data: { message: string } } };
      if (!response) throw error;
      return { status: response.status, message: response.data.message };
    } finally {
      printed.mockRestore();
    }
    throw new Error('the call succeeded');
  }

  /** The request once the views show it (they are built from the events a moment later). */
  const readNotification = (requestId: string) =>
    eventually(async () => {
      const response = await request(t.url).get(`/v3/notifications/${requestId}`).set(tenant.headers);
      return response.status === 200 ? response.body : undefined;
    }, `request ${requestId} in GET /v3/notifications`);
  const listMessages = (query: Record<string, string>) => request(t.url).get('/v3/messages').query(query).set(tenant.headers).expect(200);

  it('createOrUpdateUser without a profile creates the user with none; with one, sets it', async () => {
    await client.createOrUpdateUser('patient_uuid_001');
    expect((await request(t.url).get('/v3/users/patient_uuid_001').set(tenant.headers).expect(200)).body).toEqual({
      identifier: 'patient_uuid_001',
      phoneNumber: null,
    });
    // The SDK README's own example.
    await client.createOrUpdateUser('patient_uuid_001', { firstName: 'Ben', country: 'US' });
    await client.users.createOrUpdateUser('patient_uuid_001', { phoneNumber: '+919988776601' });
    expect((await request(t.url).get('/v3/users/patient_uuid_001').set(tenant.headers).expect(200)).body).toEqual({
      identifier: 'patient_uuid_001',
      phoneNumber: '+919988776601',
      firstName: 'Ben',
      country: 'US',
    });
  });

  it('sends with category, url, icon and data: the message goes to Gupshup, the request keeps them, category filters', async () => {
    await client.createOrUpdateUser('sdk-user-1', { phoneNumber: '+919988776602', email: 'ada@example.com' });
    const params: IEngagespotSendParams = {
      notification: {
        title: 'Your order shipped',
        message: 'Track it on the site',
        url: 'https://example.com/orders/1234',
        icon: 'https://example.com/icon.png',
        category: 'order-updates',
      },
      data: { orderId: '1234', attachments: [{ name: 'invoice.pdf', contentType: 'application/pdf', content: 'JVBERi0xLjQK' }] },
      sendTo: { recipients: ['sdk-user-1'] },
    };
    const answer = (await client.send(params)) as unknown as { requestId: string; messages: { messageId: string; status: string }[] };
    expect(answer.messages).toEqual([expect.objectContaining({ recipient: 'sdk-user-1', status: 'queued' })]);

    const [sent] = await eventually(() => {
      const requests = requestsTo(simulator, '919988776602');
      return requests.length > 0 ? requests : undefined;
    }, 'the message at Gupshup');
    expect(JSON.parse(sent.form.message as string)).toEqual({ type: 'text', text: 'Your order shipped\n\nTrack it on the site' });

    expect(await readNotification(answer.requestId)).toMatchObject({ category: 'order-updates', notification: params.notification, messageCount: 1 });

    const [messageId] = answer.messages.map((message) => message.messageId);
    const byCategory = await eventually(async () => {
      const page = (await listMessages({ category: 'order-updates' })).body as { data: { messageId: string; category: string | null }[] };
      return page.data.length > 0 ? page : undefined;
    }, 'the message listed under its category');
    expect(byCategory.data).toEqual([expect.objectContaining({ messageId, category: 'order-updates', template: null })]);
    expect((await listMessages({ category: 'other' })).body.data).toEqual([]);
  });

  it('the README workflow example names a template: 400 naming it, as for any template not registered', async () => {
    const error = await sdkError(
      client.send({
        notification: { workflow: { identifier: 'appointment_reminder' } },
        data: { doctor: { name: 'Dr. Brian' }, dateTime: '27 Jul, 13:30' },
        sendTo: { recipients: ['patient_uuid_001'] },
      }),
    );
    expect(error.status).toBe(400);
    expect(error.message).toContain('unknown template "appointment_reminder"');
  });

  it('the README workflow example sends the template registered under the workflow identifier, and workflows.cancelRun cancels a run', async () => {
    await request(t.url)
      .put('/v3/channels/whatsapp/templates/appointment_reminder')
      .set(tenant.headers)
      .send({ gupshupTemplateId: 'tpl-appointment', params: ['{{recipient.firstName}}', '{{data.doctor.name}}', '{{data.dateTime}}'] })
      .expect(200);
    await client.createOrUpdateUser('sdk-patient', { phoneNumber: '+919988776605', firstName: 'Ben' });
    const data = { doctor: { name: 'Dr. Brian' }, dateTime: '27 Jul, 13:30' };
    const answer = (await client.send({
      notification: { workflow: { identifier: 'appointment_reminder' } },
      data,
      sendTo: { recipients: ['sdk-patient'] },
    })) as unknown as { messages: { status: string }[] };
    expect(answer.messages).toEqual([expect.objectContaining({ recipient: 'sdk-patient', status: 'queued' })]);
    const [sent] = await eventually(() => {
      const requests = requestsTo(simulator, '919988776605');
      return requests.length > 0 ? requests : undefined;
    }, 'the template message at Gupshup');
    expect(sent.path).toBe('/wa/api/v1/template/msg');
    expect(JSON.parse(sent.form.template as string)).toEqual({ id: 'tpl-appointment', params: ['Ben', 'Dr. Brian', '27 Jul, 13:30'] });

    // A reminder for later, with a cancellation key, cancelled through the SDK before it is due.
    const later = (await client.send({
      notification: { workflow: { identifier: 'appointment_reminder', cancellationKey: 'appointment-99' } },
      data,
      sendTo: { recipients: ['sdk-patient'] },
      sendAt: new Date(Date.now() + 60 * 60 * 1000).toISOString(),
    })) as unknown as { messages: { messageId: string }[] };
    expect(await client.workflows.cancelRun('appointment_reminder', { cancellationKey: 'appointment-99', cancelFor: { recipients: ['sdk-patient'] } })).toEqual({
      cancelled: 1,
    });
    const cancelled = await eventually(async () => {
      const response = await request(t.url).get(`/v3/messages/${later.messages[0].messageId}`).set(tenant.headers);
      return response.body.status === 'discarded' ? response.body : undefined;
    }, 'the reminder to be cancelled');
    expect(cancelled.discardReason).toMatchObject({ code: 'cancelled' });
    expect(requestsTo(simulator, '919988776605')).toHaveLength(1);
  });

  it('keeps a top-level category and a workflow with its cancellation key, ignores other channels\' overrides; override.channels without whatsapp sends nothing', async () => {
    await client.createOrUpdateUser('sdk-user-2', { phoneNumber: '+919988776603' });
    const notification = { title: 'Hello', message: 'From the SDK', workflow: { identifier: 'welcome', cancellationKey: 'signup-42' } };
    const answer = (await client.send({
      notification,
      category: 'greetings',
      override: { channels: ['email', 'inApp'], channel: { email: { cc: ['abc@abc.com'] } } },
      sendTo: { recipients: ['sdk-user-2'] },
    })) as unknown as { requestId: string; messages: unknown[] };
    expect(answer.messages).toEqual([]);
    expect(await readNotification(answer.requestId)).toMatchObject({ category: 'greetings', notification, messageCount: 0, messages: [] });
    expect(requestsTo(simulator, '919988776603')).toEqual([]);
  });

  it("users.delete deletes the user (the SDK leaves the slash out of the path), and a deleted user is an unknown recipient for later sends", async () => {
    await client.createOrUpdateUser('sdk-user-3', { phoneNumber: '+919988776604' });
    await client.users.delete('sdk-user-3');
    await request(t.url).get('/v3/users/sdk-user-3').set(tenant.headers).expect(404);
    const answer = (await client.send({ notification: { title: 'Anyone there?' }, sendTo: { recipients: ['sdk-user-3'] } })) as unknown as {
      messages: { status: string; discardReason?: { code: string } }[];
    };
    expect(answer.messages).toEqual([expect.objectContaining({ status: 'discarded', discardReason: expect.objectContaining({ code: 'unknown_recipient' }) })]);
  });

  it('sendTo.topics: 422 saying topics are not supported', async () => {
    const error = await sdkError(client.send({ notification: { title: 'To a topic' }, sendTo: { topics: ['weekly-digest'] } }));
    expect(error).toEqual({ status: 422, message: expect.stringContaining('topics are not supported') });
  });
});
