import request from 'supertest';
import { GupshupProviderConfigService } from '../../src/apps';
import { startTestApp, type TestApp } from '../support/test-app';
import { createTestDatabase, type TestDatabase } from '../support/test-database';
import { appAuth, createApp, gupshupApiKey, type CreatedTestApp } from './app-helpers';

const PATH = '/v3/channels/whatsapp/providers/gupshup_whatsapp';

describe('Restart', () => {
  let database: TestDatabase;
  let t: TestApp | undefined;
  let app: CreatedTestApp;
  beforeAll(async () => (database = await createTestDatabase()));
  afterAll(async () => {
    await t?.close();
    await database.drop();
  });

  it('keeps apps, provider configuration and users across a restart on the same database', async () => {
    t = await startTestApp({ database });
    app = await createApp(t, 'Durable');
    const apiKey = gupshupApiKey('d0d0');
    const provider = await request(t.url).put(PATH).set(appAuth(app)).send({ enabled: true, config: { API_KEY: apiKey, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }).expect(200);
    const user = await request(t.url).put('/v3/users/ada').set(appAuth(app)).send({ phoneNumber: '+919988776655', firstName: 'Ada' }).expect(200);
    await t.close();

    t = await startTestApp({ database });
    expect((await request(t.url).get(PATH).set(appAuth(app)).expect(200)).body).toEqual(provider.body);
    expect((await request(t.url).get('/v3/users/ada').set(appAuth(app)).expect(200)).body).toEqual(user.body);
    expect(await t.app.get(GupshupProviderConfigService).getCredentials(app.id)).toEqual({ enabled: true, apiKey, source: '917834811114', srcName: 'DemoAPI' });
    // Still updatable after the restart, keeping the stored key.
    const renamed = await request(t.url).put(PATH).set(appAuth(app)).send({ enabled: true, config: { SRC_NAME: 'Renamed' } }).expect(200);
    expect(renamed.body.config).toEqual({ API_KEY: '****d0d0', SOURCE: '917834811114', SRC_NAME: 'Renamed' });
  });

  it('explains a stored key that no longer decrypts because SECRET_KEY changed, and lets a new PUT replace it', async () => {
    await t?.close();
    t = await startTestApp({ database, env: { SECRET_KEY: 'ab'.repeat(32) } });
    const providers = t.app.get(GupshupProviderConfigService);
    await expect(providers.getCredentials(app.id)).rejects.toThrow(/encrypted under another SECRET_KEY \(key id [\w-]{8}, current [\w-]{8}\)/);
    const apiKey = gupshupApiKey('n3w1');
    const res = await request(t.url).put(PATH).set(appAuth(app)).send({ enabled: true, config: { API_KEY: apiKey } }).expect(200);
    expect(res.body.config).toEqual({ API_KEY: '****n3w1', SOURCE: '917834811114', SRC_NAME: 'Renamed' });
    expect(await providers.getCredentials(app.id)).toEqual({ enabled: true, apiKey, source: '917834811114', srcName: 'Renamed' });

    // The callback token, encrypted under the old key, cannot be shown again: a new one is issued,
    // and the old URL keeps working for the grace period, so that Gupshup can be told the new one.
    expect(res.body.callbackUrl).not.toBe(app.callbackUrl);
    expect((await request(t.url).get(PATH).set(appAuth(app)).expect(200)).body.callbackUrl).toBe(res.body.callbackUrl);
    const callback = { app: 'DemoAPI', timestamp: Date.now(), version: 2, type: 'user-event', payload: { phone: '919988776655', type: 'sandbox-start' } };
    for (const url of [app.callbackUrl, res.body.callbackUrl]) {
      const { pathname, search } = new URL(url);
      await request(t.url).post(`${pathname}${search}`).set('Content-Type', 'application/json').send(callback).expect(200);
    }
    const [rotation] = await t.db.query<{ data: Record<string, unknown> }>(
      `SELECT data FROM es_events WHERE stream_id = $1 AND event_type = 'CallbackTokenRotated'`,
      [`app-${app.id}`],
    );
    expect(rotation.data).toMatchObject({ reason: 'undecryptable', actor: { type: 'system' } });
  });
});
