import request from 'supertest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../support/test-app';
import { adminAuth, appAuth, createApp, expectErrorBody } from './app-helpers';

describe('Admin API: apps', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ env: { PUBLIC_BASE_URL: 'https://notify.example.com' } })));
  afterAll(() => t.close());

  describe('POST /admin/apps', () => {
    it('creates an app: 201 with id, name, URL-safe API key, long secret and callback URL with its token', async () => {
      const res = await request(t.url).post('/admin/apps').set(adminAuth).send({ name: 'Acme' }).expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'Acme',
        apiKey: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
        apiSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        callbackUrl: expect.stringMatching(new RegExp(`^https://notify\\.example\\.com/api/v1/apps/${res.body.apiKey}/webhook/gupshup_whatsapp\\?token=[\\w-]{43}$`)),
        createdAt: expect.any(String),
      });
    });

    it('gives every app its own key and secret', async () => {
      const apps = await Promise.all(Array.from({ length: 5 }, (_, i) => createApp(t, `Same ${i % 2}`)));
      expect(new Set(apps.map((a) => a.apiKey)).size).toBe(5);
      expect(new Set(apps.map((a) => a.apiSecret)).size).toBe(5);
      expect(new Set(apps.map((a) => a.id)).size).toBe(5);
    });

    it('stores only a salted scrypt hash of the secret, and records AppCreated (without the secret) with the row', async () => {
      const app = await createApp(t, 'Hashed');
      const [row] = await t.db.query<{ secret_hash: string }>('SELECT secret_hash FROM apps WHERE id = $1', [app.id]);
      expect(row.secret_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
      expect(row.secret_hash).not.toContain(app.apiSecret);
      const events = await t.db.query<{ event_type: string; data: Record<string, unknown> }>(
        'SELECT event_type, data FROM es_events WHERE stream_id = $1',
        [`app-${app.id}`],
      );
      expect(events).toEqual([
        { event_type: 'AppCreated', data: expect.objectContaining({ appId: app.id, name: 'Hashed', apiKey: app.apiKey, via: 'admin-api' }) },
        { event_type: 'CallbackTokenIssued', data: expect.objectContaining({ appId: app.id, reason: 'app_created', fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) }) },
      ]);
      expect(JSON.stringify(events)).not.toContain(app.apiSecret);
    });

    it('trims the name', async () => {
      const res = await request(t.url).post('/admin/apps').set(adminAuth).send({ name: '  Spaced  ' }).expect(201);
      expect(res.body.name).toBe('Spaced');
    });

    it.each([
      [{}, /name is required/],
      [{ name: '' }, /name must not be empty/],
      [{ name: '   ' }, /name must not be empty/],
      [{ name: 42 }, /name must be a string/],
      [{ name: 'x'.repeat(201) }, /name must be 1 to 200 characters long \(got 201\)/],
      [{ name: 'bad\nname' }, /control characters/],
      [{ name: 'Acme', plan: 'pro' }, /plan is not a known field: allowed fields are name/],
    ])('rejects %j with a 400 saying what to fix, and creates nothing', async (body, message) => {
      const before = await t.db.query('SELECT count(*)::int AS n FROM apps');
      const res = await request(t.url).post('/admin/apps').set(adminAuth).send(body).expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(message);
      expect(await t.db.query('SELECT count(*)::int AS n FROM apps')).toEqual(before);
    });

    it('rejects a malformed JSON body with a 400 in the usual shape', async () => {
      const res = await request(t.url).post('/admin/apps').set(adminAuth).set('Content-Type', 'application/json').send('{"name": ').expect(400);
      expectErrorBody(res.body, 400);
      expect(res.body.message).toMatch(/not valid JSON/);
    });
  });

  describe('admin authentication', () => {
    it.each([
      ['no Authorization header', {}, /Missing Authorization header/],
      ['a wrong token', { Authorization: 'Bearer not-the-admin-token-at-all' }, /Invalid admin token/],
      ['the token with one character changed', { Authorization: `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}X` }, /Invalid admin token/],
      ['a token prefix', { Authorization: `Bearer ${TEST_ADMIN_TOKEN.slice(0, 8)}` }, /Invalid admin token/],
      ['another scheme', { Authorization: `Basic ${TEST_ADMIN_TOKEN}` }, /must be "Bearer <ADMIN_TOKEN>"/],
      ['the app credentials instead', { 'X-ENGAGESPOT-API-KEY': 'k', 'X-ENGAGESPOT-API-SECRET': 's' }, /Missing Authorization header/],
    ])('answers 401 to %s, on POST and GET, and creates nothing', async (_, headers, message) => {
      const before = await t.db.query('SELECT count(*)::int AS n FROM apps');
      const post = await request(t.url).post('/admin/apps').set(headers).send({ name: 'Intruder' }).expect(401);
      expectErrorBody(post.body, 401);
      expect(post.body.message).toMatch(message);
      expect(post.headers['www-authenticate']).toMatch(/^Bearer/);
      const get = await request(t.url).get('/admin/apps').set(headers).expect(401);
      expect(get.body.message).toMatch(message);
      expect(await t.db.query('SELECT count(*)::int AS n FROM apps')).toEqual(before);
    });

    it('accepts the bearer scheme in any case', async () => {
      await request(t.url).get('/admin/apps').set({ Authorization: `bearer ${TEST_ADMIN_TOKEN}` }).expect(200);
    });

    it('does not let app credentials into the admin API, nor the admin token into /v3', async () => {
      const app = await createApp(t, 'Scoped');
      await request(t.url).get('/admin/apps').set(appAuth(app)).expect(401);
      const res = await request(t.url).get('/v3/users/someone').set(adminAuth).expect(401);
      expect(res.body.message).toMatch(/Missing X-ENGAGESPOT-API-KEY and X-ENGAGESPOT-API-SECRET headers/);
    });
  });

  describe('GET /admin/apps', () => {
    it('lists every app with its key, never a secret, its hash or a callback token', async () => {
      const a = await createApp(t, 'Listed A');
      const b = await createApp(t, 'Listed B');
      const res = await request(t.url).get('/admin/apps').set(adminAuth).expect(200);
      const listed = res.body.data as Array<Record<string, unknown>>;
      for (const app of [a, b]) {
        expect(listed).toContainEqual({ id: app.id, name: app.name, apiKey: app.apiKey, createdAt: expect.any(String) });
        expect(res.text).not.toContain(app.apiSecret);
        expect(res.text).not.toContain(new URL(app.callbackUrl).searchParams.get('token'));
      }
      expect(res.text).not.toMatch(/secret|scrypt|token/i);
    });
  });
});

describe('Admin API without ADMIN_TOKEN (external database)', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp({ env: { ADMIN_TOKEN: '' } })));
  afterAll(() => t.close());

  it('answers 403 with how to enable it, whatever the Authorization header', async () => {
    for (const headers of [{}, adminAuth]) {
      const res = await request(t.url).post('/admin/apps').set(headers).send({ name: 'Acme' }).expect(403);
      expectErrorBody(res.body, 403);
      expect(res.body.message).toMatch(/admin API is disabled: set ADMIN_TOKEN/);
      expect(res.body.message).toContain('npm run cli -- apps:create NAME');
      await request(t.url).get('/admin/apps').set(headers).expect(403);
    }
    expect(await t.db.query('SELECT count(*)::int AS n FROM apps')).toEqual([{ n: 0 }]);
  });
});
