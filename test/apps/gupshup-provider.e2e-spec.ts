import request from 'supertest';
import { GupshupProviderConfigService } from '../../src/apps';
import { startTestApp, type TestApp } from '../support/test-app';
import { adminAuth, appAuth, createApp, expectErrorBody, gupshupApiKey, type CreatedTestApp } from './app-helpers';

const PROVIDER = '/channels/whatsapp/providers/gupshup_whatsapp';
const PATH = `/v3${PROVIDER}`;

describe('Provider: gupshup_whatsapp', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ env: { PUBLIC_BASE_URL: 'https://notify.example.com' } })));
  afterAll(() => t.close());

  const put = (app: CreatedTestApp, body: unknown) => request(t.url).put(PATH).set(appAuth(app)).send(body as object);
  const get = (app: CreatedTestApp) => request(t.url).get(PATH).set(appAuth(app));
  const credentials = (app: CreatedTestApp) => t.app.get(GupshupProviderConfigService).getCredentials(app.id);
  const auditTrail = (app: CreatedTestApp) =>
    t.db
      .query<{ event_type: string; data: Record<string, unknown> }>(
        'SELECT event_type, data FROM es_events WHERE stream_id = $1 ORDER BY stream_position',
        [`app_provider-${app.id}`],
      )
      .then((rows) => rows.map((r) => ({ type: r.event_type, ...r.data })));

  it('answers 404 before any PUT, saying how to configure it', async () => {
    const app = await createApp(t);
    const res = await get(app).expect(404);
    expectErrorBody(res.body, 404);
    expect(res.body.message).toMatch(/not configured.*PUT \/v3\/channels\/whatsapp\/providers\/gupshup_whatsapp.*API_KEY.*SOURCE.*SRC_NAME/);
  });

  it('configures it: 200 with the API key masked and the callback URL; GET answers the same', async () => {
    const app = await createApp(t);
    const apiKey = gupshupApiKey('1a2b');
    const res = await put(app, { enabled: true, config: { API_KEY: apiKey, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }).expect(200);
    expect(res.body).toEqual({
      provider: 'gupshup_whatsapp',
      channel: 'whatsapp',
      enabled: true,
      config: { API_KEY: '****1a2b', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' },
      callbackUrl: app.callbackUrl,
      acceptLegacyCallbackUrl: false,
      enforceSessionWindow: false,
      updatedAt: expect.any(String),
      paused: null,
    });
    expect((await get(app).expect(200)).body).toEqual(res.body);
    expect(await credentials(app)).toEqual({ enabled: true, apiKey, source: '917834811114', srcName: 'DemoAPI' });
  });

  it('stores the API key only encrypted (AES-256-GCM), bound to its app', async () => {
    const app = await createApp(t);
    const apiKey = gupshupApiKey('9z9z');
    await put(app, { enabled: true, config: { API_KEY: apiKey, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }).expect(200);
    const [row] = await t.db.query<Record<string, unknown>>('SELECT * FROM app_provider_configs WHERE app_id = $1', [app.id]);
    expect(JSON.stringify(row)).not.toContain(apiKey);
    expect(row.api_key_encrypted).toMatch(/^v1\.[\w-]{8}\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
    // The same ciphertext moved to another app's row does not decrypt there.
    const thief = await createApp(t);
    await put(thief, { enabled: true, config: { API_KEY: gupshupApiKey('0000'), SOURCE: '14155550100', SRC_NAME: 'Thief' } }).expect(200);
    await t.db.query('UPDATE app_provider_configs SET api_key_encrypted = $1 WHERE app_id = $2', [row.api_key_encrypted, thief.id]);
    await expect(credentials(thief)).rejects.toThrow(/integrity check/);
  });

  it('strips a leading + from SOURCE and trims values', async () => {
    const app = await createApp(t);
    const res = await put(app, { enabled: true, config: { API_KEY: ` ${gupshupApiKey('abcd')} `, SOURCE: '+14155550100', SRC_NAME: ' Acme ' } }).expect(200);
    expect(res.body.config).toEqual({ API_KEY: '****abcd', SOURCE: '14155550100', SRC_NAME: 'Acme' });
  });

  describe('validation', () => {
    let app: CreatedTestApp;
    beforeAll(async () => (app = await createApp(t)));

    it.each([
      [{ enabled: true }, 'API_KEY, SOURCE, SRC_NAME'],
      [{ enabled: true, config: {} }, 'API_KEY, SOURCE, SRC_NAME'],
      [{ enabled: true, config: { API_KEY: 'abcdefgh1234' } }, 'SOURCE, SRC_NAME'],
      [{ enabled: true, config: { API_KEY: '', SOURCE: '917834811114', SRC_NAME: '  ' } }, 'API_KEY, SRC_NAME'],
      [{ enabled: true, config: { SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }, 'API_KEY'],
    ])('enabling with %j: one 400 naming every missing or empty key (%s)', async (body, missing) => {
      const res = await put(app, body).expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toContain(`Enabling gupshup_whatsapp needs config.API_KEY, config.SOURCE and config.SRC_NAME; missing or empty: ${missing}`);
      await get(app).expect(404);
    });

    it.each([
      [{ SOURCE: '7834' }, /config\.SOURCE must be the WhatsApp business number as digits, 8 to 15/],
      [{ SOURCE: '+91 78348 11114' }, /config\.SOURCE must be/],
      [{ SOURCE: '1234567890123456' }, /config\.SOURCE must be/],
      [{ SOURCE: 917834811114 }, /config\.SOURCE must be a string/],
      [{ API_KEY: 'short' }, /config\.API_KEY must be 8 to 512 characters without spaces/],
      [{ API_KEY: 'has a space inside' }, /config\.API_KEY must be 8 to 512 characters without spaces/],
      [{ API_KEY: '****1a2b' }, /config\.API_KEY looks masked/],
      [{ SRC_NAME: 'x'.repeat(201) }, /config\.SRC_NAME must be at most 200 characters/],
      [{ SRC_NAME: ['DemoAPI'] }, /config\.SRC_NAME must be a string/],
      [{ REGION: 'eu' }, /config\.REGION is not a known field: allowed fields are API_KEY, SOURCE, SRC_NAME/],
    ])('rejects config %j with a 400 that says what to fix, and stores nothing', async (config, message) => {
      const full = { API_KEY: gupshupApiKey(), SOURCE: '917834811114', SRC_NAME: 'DemoAPI', ...config };
      const res = await put(app, { enabled: true, config: full }).expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(message);
      await get(app).expect(404);
    });

    it.each([
      [{ config: { API_KEY: gupshupApiKey(), SOURCE: '917834811114', SRC_NAME: 'D' } }, /enabled is required/],
      [{ enabled: 'yes' }, /enabled must be true or false/],
      [{ enabled: true, config: 'API_KEY=x' }, /config must be an object/],
      [{ enabled: true, provider: 'gupshup_whatsapp' }, /provider is not a known field: allowed fields are enabled, config/],
    ])('rejects the body %j with a 400', async (body, message) => {
      const res = await put(app, body).expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(message);
    });

    it('reports a missing key and a bad SOURCE in the same 400', async () => {
      const res = await put(app, { enabled: true, config: { SOURCE: 'abc', SRC_NAME: 'DemoAPI' } }).expect(400);
      expect(res.body.message).toMatch(/missing or empty: API_KEY; config\.SOURCE must be/);
    });

    it('never repeats the API key in an error message', async () => {
      const apiKey = `${gupshupApiKey()} tail`;
      const res = await put(app, { enabled: true, config: { API_KEY: apiKey, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }).expect(400);
      expect(res.text).not.toContain(apiKey.split(' ')[0].slice(4));
    });
  });

  describe('updates', () => {
    it('keeps the stored API key when a PUT omits it, or sends back the masked value', async () => {
      const app = await createApp(t);
      const apiKey = gupshupApiKey('k33p');
      await put(app, { enabled: true, config: { API_KEY: apiKey, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }).expect(200);
      const res = await put(app, { enabled: true, config: { SOURCE: '14155550100', SRC_NAME: 'Renamed' } }).expect(200);
      expect(res.body.config).toEqual({ API_KEY: '****k33p', SOURCE: '14155550100', SRC_NAME: 'Renamed' });
      const echoed = await put(app, { enabled: true, config: { ...res.body.config, SRC_NAME: 'Again' } }).expect(200);
      expect(echoed.body.config).toEqual({ API_KEY: '****k33p', SOURCE: '14155550100', SRC_NAME: 'Again' });
      expect(await credentials(app)).toEqual({ enabled: true, apiKey, source: '14155550100', srcName: 'Again' });
    });

    it('enabled: false keeps the stored config; enabling again needs nothing more', async () => {
      const app = await createApp(t);
      const apiKey = gupshupApiKey('0ff0');
      await put(app, { enabled: true, config: { API_KEY: apiKey, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }).expect(200);
      const off = await put(app, { enabled: false }).expect(200);
      expect(off.body).toMatchObject({ enabled: false, config: { API_KEY: '****0ff0', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } });
      expect(await credentials(app)).toEqual({ enabled: false, apiKey, source: '917834811114', srcName: 'DemoAPI' });
      const on = await put(app, { enabled: true }).expect(200);
      expect(on.body).toMatchObject({ enabled: true, config: { API_KEY: '****0ff0', SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } });
    });

    it('accepts a disabled, partial configuration, and requires the rest to enable it', async () => {
      const app = await createApp(t);
      const res = await put(app, { enabled: false, config: { SOURCE: '917834811114' } }).expect(200);
      expect(res.body).toMatchObject({ enabled: false, config: { SOURCE: '917834811114' } });
      expect(await credentials(app)).toEqual({ enabled: false, apiKey: '', source: '917834811114', srcName: '' });
      expect((await put(app, { enabled: true, config: { SRC_NAME: 'DemoAPI' } }).expect(400)).body.message).toMatch(/missing or empty: API_KEY$/);
      const empty = await put(app, { enabled: false, config: { SRC_NAME: '' } }).expect(400);
      expect(empty.body.message).toMatch(/config\.SRC_NAME must not be empty: leave a key out to keep its stored value/);
    });

    it('moves updatedAt on a PUT that changes any setting, acceptLegacyCallbackUrl alone too, and not on one that changes nothing', async () => {
      const app = await createApp(t);
      const config = { API_KEY: gupshupApiKey('t1me'), SOURCE: '917834811114', SRC_NAME: 'DemoAPI' };
      const first = (await put(app, { enabled: true, config }).expect(200)).body as { updatedAt: string };
      const updatedAt = async (body: object) => {
        const res = await put(app, body).expect(200);
        expect((await get(app).expect(200)).body).toEqual(res.body);
        return Date.parse((res.body as { updatedAt: string }).updatedAt);
      };

      expect(await updatedAt({ enabled: true, config })).toBe(Date.parse(first.updatedAt));
      expect(await updatedAt({ acceptLegacyCallbackUrl: false })).toBe(Date.parse(first.updatedAt));
      const legacyAccepted = await updatedAt({ acceptLegacyCallbackUrl: true });
      expect(legacyAccepted).toBeGreaterThan(Date.parse(first.updatedAt));
      expect((await get(app).expect(200)).body.acceptLegacyCallbackUrl).toBe(true);
      expect(await updatedAt({ acceptLegacyCallbackUrl: true })).toBe(legacyAccepted);
      const enforced = await updatedAt({ enforceSessionWindow: true });
      expect(enforced).toBeGreaterThan(legacyAccepted);
      expect(await updatedAt({ enabled: true, config, acceptLegacyCallbackUrl: true, enforceSessionWindow: true })).toBe(enforced);
      const legacyRefused = await updatedAt({ acceptLegacyCallbackUrl: false });
      expect(legacyRefused).toBeGreaterThan(enforced);
      expect((await get(app).expect(200)).body.acceptLegacyCallbackUrl).toBe(false);
    });

    it('keeps an audit trail: who, when, which keys changed, the enabled flag, and no secret', async () => {
      const app = await createApp(t);
      const first = gupshupApiKey('aaaa');
      const second = gupshupApiKey('bbbb');
      await put(app, { enabled: true, config: { API_KEY: first, SOURCE: '917834811114', SRC_NAME: 'DemoAPI' } }).expect(200);
      await put(app, { enabled: true, config: { API_KEY: first, SOURCE: '917834811114' } }).expect(200); // no change
      await put(app, { enabled: true, config: { API_KEY: second } }).expect(200);
      await put(app, { enabled: false }).expect(200);
      await request(t.url).put(`/admin/apps/${app.id}${PROVIDER}`).set(adminAuth).send({ enabled: true, config: { SRC_NAME: 'ByAdmin' } }).expect(200);

      const trail = await auditTrail(app);
      expect(trail).toEqual([
        expect.objectContaining({ type: 'GupshupProviderConfigured', actor: { type: 'app', appId: app.id }, enabled: true, previouslyEnabled: null, changedKeys: ['API_KEY', 'SOURCE', 'SRC_NAME'] }),
        expect.objectContaining({ actor: { type: 'app', appId: app.id }, enabled: true, previouslyEnabled: true, changedKeys: ['API_KEY'] }),
        expect.objectContaining({ enabled: false, previouslyEnabled: true, changedKeys: [] }),
        expect.objectContaining({ actor: { type: 'admin' }, enabled: true, previouslyEnabled: false, changedKeys: ['SRC_NAME'], srcName: 'ByAdmin' }),
      ]);
      for (const event of trail) expect(Date.parse(event.at as string)).not.toBeNaN();
      expect(trail[0].apiKeyFingerprint).toMatch(/^\*\*\*\*aaaa sha256:[0-9a-f]{12}$/);
      expect(trail[1].apiKeyFingerprint).toMatch(/^\*\*\*\*bbbb sha256:[0-9a-f]{12}$/);
      const text = JSON.stringify(trail);
      expect(text).not.toContain(first);
      expect(text).not.toContain(second);
    });

    it('serialises concurrent changes of one app, each audited against the state before it', async () => {
      const app = await createApp(t);
      await put(app, { enabled: true, config: { API_KEY: gupshupApiKey(), SOURCE: '917834811114', SRC_NAME: 'Start' } }).expect(200);
      const names = Array.from({ length: 8 }, (_, i) => `Name${i}`);
      await Promise.all(names.map((SRC_NAME) => put(app, { enabled: true, config: { SRC_NAME } }).expect(200)));
      const trail = await auditTrail(app);
      expect(trail).toHaveLength(9);
      expect(trail.slice(1).every((e) => JSON.stringify(e.changedKeys) === '["SRC_NAME"]')).toBe(true);
      expect((await get(app).expect(200)).body.config.SRC_NAME).toBe(trail[8].srcName);
    });
  });

  describe('isolation between apps', () => {
    it("lets app A neither read nor change app B's configuration", async () => {
      const a = await createApp(t, 'A');
      const b = await createApp(t, 'B');
      const bKey = gupshupApiKey('bbbb');
      await put(b, { enabled: true, config: { API_KEY: bKey, SOURCE: '14155550100', SRC_NAME: 'B' } }).expect(200);
      await get(a).expect(404);
      await put(a, { enabled: true, config: { API_KEY: gupshupApiKey('aaaa'), SOURCE: '917834811114', SRC_NAME: 'A' } }).expect(200);
      expect((await get(b).expect(200)).body.config).toEqual({ API_KEY: '****bbbb', SOURCE: '14155550100', SRC_NAME: 'B' });
      expect((await get(a).expect(200)).body.callbackUrl).toContain(a.apiKey);
      for (const mixed of [{ ...b, apiSecret: a.apiSecret }, { ...a, apiSecret: b.apiSecret }]) {
        await request(t.url).get(PATH).set(appAuth(mixed)).expect(401);
        await put(mixed, { enabled: false }).expect(401);
      }
      expect(await credentials(b)).toEqual({ enabled: true, apiKey: bKey, source: '14155550100', srcName: 'B' });
    });
  });

  describe('admin routes', () => {
    it('shows and changes any app by id, with the admin token only', async () => {
      const app = await createApp(t);
      const path = `/admin/apps/${app.id}${PROVIDER}`;
      expect((await request(t.url).get(path).set(adminAuth).expect(404)).body.message).toMatch(/has not configured/);
      await request(t.url).put(path).set(adminAuth).send({ enabled: true, config: { API_KEY: gupshupApiKey('adm1'), SOURCE: '917834811114', SRC_NAME: 'A' } }).expect(200);
      expect((await get(app).expect(200)).body.config.API_KEY).toBe('****adm1');
      await request(t.url).get(path).set(appAuth(app)).expect(401);
      expect((await request(t.url).get(`/admin/apps/not-a-uuid${PROVIDER}`).set(adminAuth).expect(400)).body.message).toMatch(/appId must be an app id/);
      expect((await request(t.url).get(`/admin/apps/00000000-0000-4000-8000-000000000000${PROVIDER}`).set(adminAuth).expect(404)).body.message).toMatch(/No app with id/);
    });
  });
});
