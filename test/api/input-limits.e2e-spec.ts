import { CommandBus } from '@nestjs/cqrs';
import request from 'supertest';
import { SendWhatsAppNotificationCommand, type SendNotificationBody } from '../../src/whatsapp/sending';
import { InvalidNotificationError } from '../../src/whatsapp/sending/errors';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import { adminAuth, expectErrorBody } from '../apps/app-helpers';
import { createTenant, postNotification, putUser, startSendingApp, startSimulator, type TestTenant } from '../sending/sending-test-kit';
import { eventually } from '../support/eventually';
import type { TestApp } from '../support/test-app';

/** `[[[ ... ]]]` nested `depth` levels, as JSON text: no JavaScript value is built, so no test code recurses. */
function deepArrayJson(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** `{"a": {"a": ... {}}}` nested `depth` levels, as JSON text. */
function deepObjectJson(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
}

/** A value nested `depth` objects deep, built without recursion. */
function deepObject(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Input that used to reach PostgreSQL or the call stack and came back as a 500: every one of
 * them is now a 400 (404 for the webhook's key) naming the field, and changes nothing.
 */
describe('Input the service cannot store or walk: a 4xx naming the field, never a 5xx', () => {
  let simulator: GupshupSimulator;
  let t: TestApp;
  let tenant: TestTenant;
  const send = { notification: { title: 'Hi' }, sendTo: { recipients: ['user-1'] } };

  beforeAll(async () => {
    simulator = await startSimulator();
    t = await startSendingApp(simulator);
    tenant = await createTenant(t, simulator);
    await putUser(t, tenant, 'user-1', { phoneNumber: '+919988776650' });
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  async function requestsOf(appId: string): Promise<number> {
    const [row] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM es_events WHERE event_type = 'NotificationRequested' AND data->>'appId' = $1`, [appId]);
    return row.n;
  }

  async function expectRejectedSend(body: unknown, ...fragments: string[]): Promise<string> {
    const own = await createTenant(t, simulator);
    const res = await postNotification(t, own, body).set('Content-Type', 'application/json').expect(400);
    expectErrorBody(res.body, 400);
    for (const fragment of fragments) expect(res.body.message).toContain(fragment);
    expect(await requestsOf(own.appId)).toBe(0);
    return res.body.message as string;
  }

  describe('POST /v3/notifications', () => {
    it.each([
      ['a NUL in notification.title', { ...send, notification: { title: 'a\u0000b' } }, 'notification.title contains a NUL character'],
      ['a NUL in notification.message', { ...send, notification: { title: 'Hi', message: '\u0000' } }, 'notification.message contains a NUL character'],
      ['an unpaired surrogate in notification.title', { ...send, notification: { title: 'a\ud800' } }, 'notification.title is not valid Unicode'],
      ['a NUL in a data value', { ...send, data: { order: { id: 'x\u0000' } } }, 'data.order.id contains a NUL character'],
      ['a NUL in a data key', { ...send, data: { order: { 'i\u0000d': 1 } } }, 'data.order has a key that contains a NUL character'],
      ['a NUL in a recipient', { ...send, sendTo: { recipients: ['user\u0000'] } }, 'sendTo.recipients[0]: A user identifier must be 1 to 128 characters'],
      ['a NUL in an inline user profile', { ...send, sendTo: { recipients: [{ identifier: 'u', city: '\u0000' }] } }, 'sendTo.recipients[0].city contains a NUL character'],
      ['a NUL in the override', { ...send, override: { gupshup_whatsapp: { message: { text: '\u0000' } } } }, 'override.gupshup_whatsapp.message.text contains a NUL character'],
      ['a NUL in an override _config value', { ...send, override: { gupshup_whatsapp: { _config: { SOURCE: '91\u0000' } } } }, 'override.gupshup_whatsapp._config.SOURCE contains a NUL character'],
      ['data nested 5,000 deep', `{"notification":{"title":"Hi"},"sendTo":{"recipients":["user-1"]},"data":${deepObjectJson(5000)}}`, 'data.a.a', 'is nested too deeply: at most 32 levels'],
      ['data nested 33 deep', { ...send, data: deepObject(33) }, 'is nested too deeply: at most 32 levels'],
      [
        'an override nested 5,000 deep',
        `{"notification":{"title":"Hi"},"sendTo":{"recipients":["user-1"]},"override":{"gupshup_whatsapp":{"message":${deepObjectJson(5000)}}}}`,
        'override.gupshup_whatsapp.message.a',
        'at most 32 levels',
      ],
      ['data over 64 KiB', { ...send, data: { blob: 'x'.repeat(70_000) } }, 'data is 70011 bytes as JSON: at most 65536 are allowed'],
      ['a sendAt in year 0', { ...send, sendAt: '0000-01-01T00:00:00Z' }, 'sendAt must be a time between years 1 and 9999'],
    ])('400 for %s', async (_what, body, ...fragments) => {
      await expectRejectedSend(body, ...(fragments as string[]));
    });

    it('accepts data nested exactly 32 levels deep', async () => {
      const own = await createTenant(t, simulator);
      await postNotification(t, own, { ...send, data: deepObject(32) }).expect(202);
    });

    it.each([
      ['data', `{"notification":{"title":"Hi"},"sendTo":{"recipients":["user-1"]},"data":{"deep":${deepArrayJson(100_000)}}}`, 'data.deep[0]'],
      ['an inline user', `{"notification":{"title":"Hi"},"sendTo":{"recipients":[{"identifier":"u","deep":${deepArrayJson(100_000)}}]}}`, 'sendTo.recipients[0].deep[0]'],
      ['an unknown field', `{"notification":{"title":"Hi"},"sendTo":{"recipients":["user-1"]},"deep":${deepArrayJson(100_000)}}`, 'deep is not a known field'],
    ])('400 for a body nested 100,000 deep in %s, parsed by Fastify', async (_where, text, fragment) => {
      const message = await expectRejectedSend(text, fragment);
      expect(message.length).toBeLessThan(2000);
      await request(t.url).get('/health').expect(200);
    });

    it('gives the command bus the same 400 for data nested 100,000 deep, built in memory', async () => {
      const body = { ...send, data: deepObject(100_000) } as unknown as SendNotificationBody;
      const error = await t.app.get(CommandBus).execute(new SendWhatsAppNotificationCommand(tenant.appId, body)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidNotificationError);
      expect((error as Error).message).toContain('is nested too deeply: at most 32 levels');
    });
  });

  describe('queries and path parameters', () => {
    it.each([
      ['/v3/messages?recipient=%00', 'recipient contains a NUL character'],
      ['/v3/messages?requestId=%00', 'requestId contains a NUL character'],
      ['/v3/messages?from=0000-01-01', 'from must be between 0001-01-01 and 9999-12-31 (got "0000-01-01")'],
      ['/v3/messages?to=0000-12-31T23:59:59Z', 'to must be between 0001-01-01 and 9999-12-31'],
      [`/v3/messages?cursor=${base64url(['0000-01-01T00:00:00.000Z', 'x'])}`, 'cursor is not valid'],
      [`/v3/messages?cursor=${base64url(['+275760-09-13T00:00:00.000Z', 'x'])}`, 'cursor is not valid'],
      [`/v3/messages?cursor=${base64url(['-271821-04-20T00:00:00.000Z', 'x'])}`, 'cursor is not valid'],
      [`/v3/messages?cursor=${base64url(['2026-01-01T00:00:00.000Z', 'x\u0000'])}`, 'cursor is not valid'],
      ['/v3/messages/%00', 'messageId contains a NUL character'],
      ['/v3/notifications/%00', 'requestId contains a NUL character'],
      ['/v3/notifications/a%00b', 'requestId contains a NUL character'],
      ['/v3/analytics/whatsapp?from=0000-01-01&to=0000-01-02', 'from must be between 0001-01-01 and 9999-12-31'],
      ['/v3/users/%00', 'identifier must be 1 to 128 characters'],
    ])('400 for GET %s', async (path, fragment) => {
      const res = await request(t.url).get(path).set(tenant.headers);
      expect(res.status).toBe(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toContain(fragment);
    });

    it('answers analytics ending in the first days of year 1 without reaching before it', async () => {
      const res = await request(t.url).get('/v3/analytics/whatsapp?to=0001-01-05').set(tenant.headers).expect(200);
      expect(res.body.from).toBe('0001-01-01');
      expect(res.body.days).toHaveLength(5);
    });

    it('400 for a NUL in GET /admin/parked-callbacks?appId=', async () => {
      const res = await request(t.url).get('/admin/parked-callbacks?appId=%00').set(adminAuth).expect(400);
      expect(res.body.message).toBe('appId must be an app id (a UUID), as listed by GET /admin/apps');
    });

    it('404, not 503, for a NUL in the webhook key', async () => {
      const res = await request(t.url).post('/api/v1/apps/%00/webhook/gupshup_whatsapp').set('Content-Type', 'application/json').send('{}').expect(404);
      expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: expect.stringMatching(/^No app has this API key/) });
      await request(t.url).post(`/api/v1/apps/${tenant.apiKey}%00/webhook/gupshup_whatsapp`).set('Content-Type', 'application/json').send('{}').expect(404);
    });
  });

  describe('other bodies', () => {
    it('400 for NUL or an unpaired surrogate in an app name, and for a provider value PostgreSQL cannot store; nothing stored', async () => {
      const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM apps');
      expect((await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'Ac\u0000me' }).expect(400)).body.message).toBe('name contains a NUL character');
      expect((await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'Acme\ud800' }).expect(400)).body.message).toBe(
        'name is not valid Unicode (an unpaired surrogate)',
      );
      expect(await t.db.query('SELECT count(*)::int AS n FROM apps')).toEqual(before);

      const own = await createTenant(t, simulator, { enable: false });
      const put = (config: Record<string, unknown>) =>
        request(t.url).put('/v3/channels/whatsapp/providers/gupshup_whatsapp').set(own.headers).send({ enabled: true, config });
      const full = { API_KEY: 'gs-0123456789abcdef', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' };
      for (const key of ['API_KEY', 'SOURCE', 'SRC_NAME']) {
        const res = await put({ ...full, [key]: `${full[key as keyof typeof full]}\u0000` }).expect(400);
        expect(res.body.message).toBe(`config.${key} contains a NUL character`);
      }
      await request(t.url).get('/v3/channels/whatsapp/providers/gupshup_whatsapp').set(own.headers).expect(404);
    });

    it.each([
      ['POST', '/admin/apps', 'admin'],
      ['PUT', '/v3/channels/whatsapp/providers/gupshup_whatsapp', 'app'],
      ['PUT', '/v3/users/deep-user', 'app'],
      ['POST', '/v3/notifications', 'app'],
    ])('400 for %s %s with a body that is an array nested 100,000 deep', async (method, path, auth) => {
      const client = request(t.url);
      const res = await (method === 'POST' ? client.post(path) : client.put(path))
        .set(auth === 'admin' ? adminAuth : tenant.headers)
        .set('Content-Type', 'application/json')
        .send(deepArrayJson(100_000));
      expect(res.status).toBe(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(/^the body must be a JSON object/);
    });
  });

  describe('GET /admin/parked-callbacks', () => {
    it('lists a stored callback nested 5,000 or 100,000 deep, its body as the text received', async () => {
      const own = await createTenant(t, simulator);
      const deepCallbacks = [deepArrayJson(5000), `{"payload":${deepArrayJson(100_000)}}`];
      for (const text of deepCallbacks) {
        await request(t.url).post(own.callbackPath).set('Content-Type', 'application/json').send(text).expect(200);
      }
      await request(t.url).post(own.callbackPath).set('Content-Type', 'application/json').send('{"shallow": [1]}').expect(200);
      // Kept once the translator has read them.
      const res = await eventually(async () => {
        const page = await request(t.url).get('/admin/parked-callbacks').query({ appId: own.appId }).set(adminAuth).expect(200);
        return page.body.data.length === 3 ? page : undefined;
      }, 'the three callbacks to be kept as invalid');
      expect(res.body.data.map((row: { body: unknown }) => row.body)).toEqual([{ shallow: [1] }, deepCallbacks[1], deepCallbacks[0]]);
      await request(t.url).get('/admin/parked-callbacks').set(adminAuth).expect(200);
    });
  });

  describe('messages', () => {
    it('say each problem once, naming the field and what is allowed, all in one answer', async () => {
      const res = await request(t.url).get('/v3/messages?limit=abc&status=read&colour=blue').set(tenant.headers).expect(400);
      expect(res.body.message).toBe(
        [
          'status must be one of queued, sent, delivered, seen, discarded (got "read")',
          'limit must be a whole number from 1 to 100 (got "abc")',
          'colour is not a known parameter: allowed parameters are status, recipient, requestId, phoneNumber, discardCode, category, template, from, to, limit, cursor',
        ].join('; '),
      );
      const repeated = await request(t.url).get('/v3/messages?limit=1&limit=2').set(tenant.headers).expect(400);
      expect(repeated.body.message).toBe('limit must be a whole number from 1 to 100 (got ["1","2"])');
    });

    it('name an unknown field by its path and list the allowed ones', async () => {
      const res = await request(t.url)
        .put('/v3/channels/whatsapp/providers/gupshup_whatsapp')
        .set(tenant.headers)
        .send({ enabled: 'yes', config: { APP_ID: 'x', SOURCE: 42 } })
        .expect(400);
      expect(res.body.message).toBe(
        ['enabled must be true or false', 'config.SOURCE must be a string (got a number)', 'config.APP_ID is not a known field: allowed fields are API_KEY, SOURCE, SRC_NAME'].join('; '),
      );
    });
  });
});
