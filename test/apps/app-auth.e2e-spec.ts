import { Controller, Get, Module } from '@nestjs/common';
// The module object itself (a namespace import would be a copy), so that a spy on it is seen by the service.
import crypto from 'node:crypto';
import request from 'supertest';
import { CurrentApp, type AuthenticatedApp } from '../../src/apps';
import { startTestApp, type TestApp } from '../support/test-app';
import { appAuth, createApp, expectErrorBody, type CreatedTestApp } from './app-helpers';

/** A /v3 route of some other feature, declared without any guard of its own. */
@Controller('v3/auth-probe')
class AuthProbeController {
  @Get()
  whoAmI(@CurrentApp() app: AuthenticatedApp): AuthenticatedApp {
    return app;
  }
}

@Module({ controllers: [AuthProbeController] })
class AuthProbeModule {}

describe('App authentication on /v3', () => {
  let t: TestApp;
  let app: CreatedTestApp;
  let other: CreatedTestApp;
  beforeAll(async () => {
    t = await startTestApp({ imports: [AuthProbeModule] });
    [app, other] = await Promise.all([createApp(t, 'Auth A'), createApp(t, 'Auth B')]);
  });
  afterAll(() => t.close());

  const probe = (headers: Record<string, string>) => request(t.url).get('/v3/auth-probe').set(headers);

  it('authenticates every /v3 route, and gives it the app through @CurrentApp()', async () => {
    const res = await probe(appAuth(app)).expect(200);
    expect(res.body).toEqual({ id: app.id, name: 'Auth A', apiKey: app.apiKey });
    expect((await probe(appAuth(other)).expect(200)).body.id).toBe(other.id);
  });

  it.each([
    ['no credentials', {}, 'Missing X-ENGAGESPOT-API-KEY and X-ENGAGESPOT-API-SECRET headers'],
    ['no key', { 'X-ENGAGESPOT-API-SECRET': 'secret' }, 'Missing X-ENGAGESPOT-API-KEY header'],
    ['no secret', { 'X-ENGAGESPOT-API-KEY': 'key' }, 'Missing X-ENGAGESPOT-API-SECRET header'],
    ['an empty secret', { 'X-ENGAGESPOT-API-KEY': 'key', 'X-ENGAGESPOT-API-SECRET': '  ' }, 'Missing X-ENGAGESPOT-API-SECRET header'],
  ])('answers 401 naming the missing header: %s', async (_, headers, message) => {
    const res = await probe(headers).expect(401);
    expect(res.body).toEqual({ statusCode: 401, message: expect.stringContaining(message), error: 'Unauthorized' });
  });

  it('answers 401 to a wrong secret, an unknown key, and a secret of another app', async () => {
    const cases = [
      { ...app, apiSecret: `${app.apiSecret.slice(0, -1)}${app.apiSecret.endsWith('A') ? 'B' : 'A'}` },
      { ...app, apiKey: 'unknown-key-000000000000000000000' },
      { ...app, apiKey: other.apiKey },
      { ...other, apiKey: app.apiKey },
      { ...app, apiSecret: app.apiKey },
    ];
    for (const credentials of cases) {
      const res = await probe(appAuth(credentials)).expect(401);
      expectErrorBody(res.body, 401);
      expect(res.body.message).toMatch(/^Authentication failed: the X-ENGAGESPOT-API-KEY and X-ENGAGESPOT-API-SECRET headers do not match any app/);
    }
  });

  it('reads the header names case-insensitively', async () => {
    await probe({ 'x-engagespot-api-key': app.apiKey, 'x-engagespot-api-secret': app.apiSecret }).expect(200);
  });

  /** The scrypt computations `work` causes: key length and cost of each (the work it takes, whatever the machine's speed). */
  async function scryptRuns(work: () => Promise<unknown>): Promise<{ keyLength: number; N?: number; r?: number; p?: number }[]> {
    const scrypt = jest.spyOn(crypto, 'scrypt');
    try {
      await work();
      return scrypt.mock.calls.map(([, , keyLength, options]) => {
        const { N, r, p } = (typeof options === 'object' ? options : {}) as crypto.ScryptOptions;
        return { keyLength, N, r, p };
      });
    } finally {
      scrypt.mockRestore();
    }
  }

  it('does the same work for an unknown key as for a wrong secret: one scrypt of the same cost', async () => {
    // The first unknown key also makes the dummy hash it is checked against, once per process.
    await probe(appAuth({ apiKey: 'no-such-key-warm-up', apiSecret: 'guess' })).expect(401);
    const unknownKey = await scryptRuns(() => probe(appAuth({ apiKey: 'no-such-key-1', apiSecret: 'guess-1' })).expect(401));
    const wrongSecret = await scryptRuns(() => probe(appAuth({ apiKey: app.apiKey, apiSecret: 'guess-1' })).expect(401));
    expect(wrongSecret).toHaveLength(1);
    expect(unknownKey).toEqual(wrongSecret);
  });

  it('does not run scrypt again for credentials verified moments ago', async () => {
    const fresh = await createApp(t, 'Cache');
    expect(await scryptRuns(() => probe(appAuth(fresh)).expect(200))).toHaveLength(1);
    expect(
      await scryptRuns(async () => {
        for (let i = 0; i < 20; i++) await probe(appAuth(fresh)).expect(200);
      }),
    ).toEqual([]);
  });

  it('checks a burst of requests with new credentials correctly', async () => {
    const fresh = await createApp(t, 'Burst');
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => probe(appAuth(fresh))),
      ...Array.from({ length: 5 }, () => probe(appAuth({ ...fresh, apiSecret: 'wrong' }))),
    ]);
    expect(results.map((r) => r.status)).toEqual([...Array(20).fill(200), ...Array(5).fill(401)]);
  });

  it('leaves routes outside /v3 alone', async () => {
    await request(t.url).get('/health').expect(200);
  });
});
