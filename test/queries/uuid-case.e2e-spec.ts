import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { createTenant, eventually, postNotification, putUser, startSendingApp, startSimulator } from '../sending/sending-test-kit';
import { TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';

/**
 * A messageId or requestId written in capitals (as Swift's uuidString writes a UUID) names the
 * same message or request, as a webhook id in capitals already names the same webhook.
 */
describe('ids in capitals', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator, { env: { WEBHOOK_OUT_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('find the message, its request, its webhook deliveries, and cancel the request', async () => {
    const tenant = await createTenant(t, simulator);
    const webhook = await request(t.url).post('/v3/webhooks').set(tenant.headers).send({ url: 'http://127.0.0.1:9/hook', events: ['message.queued'] }).expect(201);
    await putUser(t, tenant, 'ada', { phoneNumber: '+919988776653' });
    const sent = await postNotification(t, tenant, { notification: { title: 'Hi' }, sendTo: { recipients: ['ada'] }, sendAt: '2099-01-01T00:00:00Z' }).expect(202);
    const { requestId } = sent.body as { requestId: string };
    const messageId = sent.body.messages[0].messageId as string;
    const get = (path: string) => request(t.url).get(path).set(tenant.headers);

    const message = await eventually(async () => {
      const res = await get(`/v3/messages/${messageId}`);
      return res.status === 200 ? res.body : undefined;
    }, 'the message to be readable');
    expect((await get(`/v3/messages/${messageId.toUpperCase()}`).expect(200)).body).toEqual(message);
    expect((await get(`/v3/notifications/${requestId.toUpperCase()}`).expect(200)).body.requestId).toBe(requestId);
    expect((await get(`/v3/messages?requestId=${requestId.toUpperCase()}`).expect(200)).body.data.map((m: { messageId: string }) => m.messageId)).toEqual([messageId]);

    const deliveries = (id: string) => get(`/v3/webhooks/${webhook.body.id}/deliveries?messageId=${id}`).expect(200);
    const lower = await eventually(async () => ((await deliveries(messageId)).body.data.length === 1 ? (await deliveries(messageId)).body : undefined), 'the queued delivery');
    expect((await deliveries(messageId.toUpperCase())).body.data.map((d: { id: string }) => d.id)).toEqual(lower.data.map((d: { id: string }) => d.id));

    const cancelled = await request(t.url).post(`/v3/notifications/${requestId.toUpperCase()}/cancel`).set(tenant.headers).expect(200);
    expect(cancelled.body).toEqual({ cancelled: 1 });
    await eventually(async () => ((await get(`/v3/messages/${messageId}`)).body.discardReason?.code === 'cancelled' ? true : undefined), 'the message to be cancelled');
  });

  it("list an app's parked callbacks by its appId in capitals", async () => {
    const tenant = await createTenant(t, simulator);
    await request(t.url).post(tenant.callbackPath).set('Content-Type', 'application/json').send('{"no": "callback"}').expect(200);
    const parked = (appId: string) => request(t.url).get('/admin/parked-callbacks').query({ appId }).set('Authorization', `Bearer ${TEST_ADMIN_TOKEN}`).expect(200);
    const lower = await eventually(async () => ((await parked(tenant.appId)).body.data.length === 1 ? (await parked(tenant.appId)).body : undefined), 'the callback to be parked');
    expect((await parked(tenant.appId.toUpperCase())).body).toEqual(lower);
  });
});
