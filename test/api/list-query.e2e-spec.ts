import request from 'supertest';
import { adminAuth, expectErrorBody } from '../apps/app-helpers';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The lists without parameters refuse one, naming it, as GET /v3/messages and the other lists
 * refuse a parameter they do not have: a filter or page size the caller believes in is not
 * silently ignored.
 */
describe('Lists that take no query parameters', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it.each([
    ['/v3/channels/whatsapp/templates', 'app'],
    ['/v3/webhooks', 'app'],
    ['/admin/apps', 'admin'],
  ])('GET %s?status=approved&limit=5 is a 400 naming both; without them a 200', async (path, auth) => {
    const created = await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'Lists' }).expect(201);
    const headers = auth === 'admin' ? adminAuth : { 'X-ENGAGESPOT-API-KEY': created.body.apiKey, 'X-ENGAGESPOT-API-SECRET': created.body.apiSecret };
    const res = await request(t.url).get(`${path}?status=approved&limit=5`).set(headers).expect(400);
    expectErrorBody(res.body, 400);
    expect(res.body.message).toBe('status is not a known parameter: none are accepted here; limit is not a known parameter: none are accepted here');
    await request(t.url).get(path).set(headers).expect(200);
  });
});

/**
 * A parameter named like a property every JavaScript object has is a parameter the list does not
 * have: refused as any other is, by name, not dropped on the way and ignored.
 */
describe('Lists given a parameter named __proto__, constructor or prototype', () => {
  let t: TestApp;

  beforeAll(async () => {
    // An endpoint on loopback, whose deliveries are listed.
    t = await startTestApp({ env: { WEBHOOK_OUT_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(() => t?.close());

  it.each([
    ['/v3/messages', 'app'],
    ['/v3/analytics/whatsapp', 'app'],
    ['/v3/analytics/whatsapp/discard-reasons', 'app'],
    ['/v3/channels/whatsapp/suppressions', 'app'],
    ['/v3/channels/whatsapp/templates', 'app'],
    ['/v3/webhooks', 'app'],
    ['/v3/webhooks/{id}/deliveries', 'app'],
    ['/admin/apps', 'admin'],
    ['/admin/parked-callbacks', 'admin'],
  ])('GET %s refuses each with the 400 another unknown parameter gets, naming it', async (route, auth) => {
    const created = await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'Lists' }).expect(201);
    const headers = auth === 'admin' ? adminAuth : { 'X-ENGAGESPOT-API-KEY': created.body.apiKey, 'X-ENGAGESPOT-API-SECRET': created.body.apiSecret };
    let path = route;
    if (route.includes('{id}')) {
      const endpoint = await request(t.url).post('/v3/webhooks').set(headers).send({ url: 'http://127.0.0.1:9/status' }).expect(201);
      path = route.replace('{id}', endpoint.body.id as string);
    }
    const unknown = await request(t.url).get(`${path}?colour=x`).set(headers).expect(400);
    expect(unknown.body.message).toMatch(/^colour is not a known parameter: /);
    const naming = (name: string) => (unknown.body.message as string).replace(/^colour /, `${name} `);
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const res = await request(t.url).get(`${path}?${name}=x`).set(headers).expect(400);
      expect(res.body).toEqual({ ...unknown.body, message: naming(name) });
    }
    // Beside another unknown parameter: each named, in the order given.
    const both = await request(t.url).get(`${path}?__proto__=x&colour=x`).set(headers).expect(400);
    expect(both.body.message).toBe(`${naming('__proto__')}; ${unknown.body.message}`);
    await request(t.url).get(path).set(headers).expect(200);
  });
});
