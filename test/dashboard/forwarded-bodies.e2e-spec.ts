import request from 'supertest';
import { appAuth, createApp, expectErrorBody, type CreatedTestApp } from '../apps/app-helpers';
import { startTestApp, type TestApp } from '../support/test-app';

/** The dashboard's app API passes a body on to the /v3 route of the same path: odd bodies are answered as that route answers them, never 500. */
describe('Dashboard app API: bodies passed on to /v3', () => {
  let t: TestApp;
  let app: CreatedTestApp;
  let cookie: string;

  beforeAll(async () => {
    t = await startTestApp();
    app = await createApp(t, 'Forwarded bodies');
    const signedIn = await request(t.url)
      .post('/dashboard/api/session')
      .set({ 'X-Dashboard-Request': '1', Origin: t.url })
      .send({ apiKey: app.apiKey, apiSecret: app.apiSecret })
      .expect(200);
    cookie = String(signedIn.headers['set-cookie']).split(';', 1)[0];
  });
  afterAll(() => t?.close());

  const viaDashboard = (path: string, body: string) =>
    request(t.url).post(`/dashboard/api/v3${path}`).set({ Cookie: cookie, 'X-Dashboard-Request': '1', Origin: t.url, 'Content-Type': 'application/json' }).send(body);

  it('refuses a body nested thousands of levels deep with a 400 saying so, and sends nothing', async () => {
    const depth = 20_000;
    const nested = `{"notification":{"title":"T"},"sendTo":{"recipients":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    const res = await viaDashboard('/notifications', nested).expect(400);
    expectErrorBody(res.body, 400);
    expect(res.body.message).toMatch(/nests objects or lists too deeply/);
    expect((await request(t.url).get('/v3/messages').set(appAuth(app)).expect(200)).body.data).toEqual([]);
  });

  it('answers a body of the wrong shape as the /v3 route does', async () => {
    const body = JSON.stringify({ notification: [[[1]]], sendTo: { recipients: [[['a']]] } });
    const direct = await request(t.url).post('/v3/notifications').set({ ...appAuth(app), 'Content-Type': 'application/json' }).send(body).expect(400);
    const forwarded = await viaDashboard('/notifications', body).expect(400);
    expect(forwarded.body).toEqual(direct.body);
  });
});
