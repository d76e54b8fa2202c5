import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';

export interface CreatedTestApp {
  id: string;
  name: string;
  apiKey: string;
  apiSecret: string;
  callbackUrl: string;
}

export const adminAuth = { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

/** Creates an app through the admin API, as an operator would. */
export async function createApp(t: TestApp, name = 'Acme'): Promise<CreatedTestApp> {
  const res = await request(t.url).post('/admin/apps').set(adminAuth).send({ name }).expect(201);
  return res.body as CreatedTestApp;
}

/** The headers that authenticate as `app` on the /v3 API. */
export function appAuth(app: Pick<CreatedTestApp, 'apiKey' | 'apiSecret'>): Record<string, string> {
  return { 'X-ENGAGESPOT-API-KEY': app.apiKey, 'X-ENGAGESPOT-API-SECRET': app.apiSecret };
}

/** Every error body has this shape. */
export function expectErrorBody(body: unknown, statusCode: number): void {
  expect(body).toEqual({ statusCode, message: expect.any(String), error: expect.any(String) });
}

/** A random Gupshup-like API key, 32 characters, ending in `lastFour`. */
export function gupshupApiKey(lastFour = '1a2b'): string {
  return `gs${randomBytes(13).toString('hex')}${lastFour}`;
}
