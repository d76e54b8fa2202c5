import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { expectErrorBody } from '../apps/app-helpers';
import { createTenant, eventually, postNotification, putUser, startSendingApp, startSimulator } from '../sending/sending-test-kit';
import type { TestApp } from '../support/test-app';

/** `2026-03-01T10:00:00+05:30` for an instant, in India's time. */
function inIndia(ms: number): string {
  return `${new Date(ms + 5.5 * 3_600_000).toISOString().slice(0, 19)}+05:30`;
}

/** Query values on GET /v3/messages written as people type them into a URL. */
describe('GET /v3/messages query values as typed', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  /**
   * phoneNumber is read as the suppressions' filter reads it: E.164 with its `+` encoded, the `+`
   * left unencoded (which a query string turns into a space), or the digits alone. What is no
   * phone number is a 400 saying so, not an empty page.
   */
  describe('phoneNumber', () => {
    it('finds the message however the + of the number is written', async () => {
      const tenant = await createTenant(t, simulator);
      await putUser(t, tenant, 'ada', { phoneNumber: '+919988776651' });
      await putUser(t, tenant, 'bob', { phoneNumber: '+14155550111' });
      const sent = await postNotification(t, tenant, { notification: { title: 'Hi' }, sendTo: { recipients: ['ada', 'bob'] } }).expect(202);
      const ada = sent.body.messages.find((message: { recipient: string }) => message.recipient === 'ada').messageId as string;
      await eventually(async () => (await request(t.url).get('/v3/messages').set(tenant.headers)).body.data?.length === 2 || undefined, 'both messages to be listed');

      for (const written of ['%2B919988776651', '+919988776651', '919988776651', '%20919988776651']) {
        const res = await request(t.url).get(`/v3/messages?phoneNumber=${written}`).set(tenant.headers).expect(200);
        expect({ written, ids: res.body.data.map((message: { messageId: string }) => message.messageId) }).toEqual({ written, ids: [ada] });
      }
    });

    it.each(['abc', '(457)-746-846', '+91 99887 76651'])('answers 400 naming the E.164 rule for %j', async (value) => {
      const tenant = await createTenant(t, simulator);
      const res = await request(t.url).get('/v3/messages').query({ phoneNumber: value }).set(tenant.headers).expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(/^phoneNumber must be in E\.164 format: .*URL-encode a \+ as %2B/);
    });
  });

  /**
   * A time with a `+` offset, the `+` left unencoded as people type it (it then arrives as a
   * space), is read as the time it names: the same answer as with `%2B`.
   */
  describe('from and to with a + offset left unencoded', () => {
    it('GET /v3/messages and GET /v3/analytics/whatsapp answer as with %2B', async () => {
      const tenant = await createTenant(t, simulator);
      await putUser(t, tenant, 'ada', { phoneNumber: '+919988776652' });
      const sent = await postNotification(t, tenant, { notification: { title: 'Hi' }, sendTo: { recipients: ['ada'] } }).expect(202);
      const messageId = sent.body.messages[0].messageId as string;
      const queuedAt = await eventually(async () => (await request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers)).body.queuedAt as string | undefined, 'the message to be listed');
      const from = inIndia(Date.parse(queuedAt) - 60_000);
      const to = inIndia(Date.parse(queuedAt) + 60_000);

      const plain = await request(t.url).get(`/v3/messages?from=${from}&to=${to}`).set(tenant.headers).expect(200);
      expect(plain.body.data.map((message: { messageId: string }) => message.messageId)).toEqual([messageId]);
      const before = await request(t.url).get(`/v3/messages?to=${from}`).set(tenant.headers).expect(200);
      expect(before.body.data).toEqual([]);

      // The message's callbacks move the counts meanwhile: the two forms must agree on one reading,
      // and one that counts the message (a wrong window would count nothing).
      const analyticsFor = async (query: string) => (await request(t.url).get(`/v3/analytics/whatsapp?${query}`).set(tenant.headers).expect(200)).body;
      await eventually(async () => {
        const encoded = await analyticsFor(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
        const plainForm = await analyticsFor(`from=${from}&to=${to}`);
        return encoded.totals?.sent >= 1 && JSON.stringify(plainForm) === JSON.stringify(encoded) ? true : undefined;
      }, 'the same analytics with + as with %2B, counting the message');
    });
  });
});
