import request from 'supertest';
import { expectErrorBody } from '../apps/app-helpers';
import { startTestApp, type TestApp } from '../support/test-app';

/** POST /dashboard/api/session with a body that cannot sign anyone in: a 400 that reads as a sentence saying what to send. */
describe('Dashboard sign-in body', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  const signIn = (body: unknown) => request(t.url).post('/dashboard/api/session').set({ 'X-Dashboard-Request': '1', Origin: t.url }).send(body as object);

  it.each([
    [{}, 'the body must hold apiKey and apiSecret (to sign in as an app), or adminToken (as the admin)'],
    [{ apiKey: 'ak', apiSecret: 'as', adminToken: 'x' }, 'the body must hold either apiKey and apiSecret, or adminToken, not both'],
    [{ apiKey: 'ak' }, 'apiSecret is missing: an app signs in with both its API key and its API secret'],
    [{ apiSecret: 'as' }, 'apiKey is missing: an app signs in with both its API key and its API secret'],
  ])('400 for %j', async (body, message) => {
    const res = await signIn(body).expect(400);
    expectErrorBody(res.body, 400);
    expect(res.body.message).toBe(message);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});
