import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { EventStore } from '../../src/event-store';
import { startTestApp, type TestApp } from '../support/test-app';
import {
  appendRequest,
  appendToMessage,
  build,
  createApp,
  newMessageIds,
  waitForProjections,
  type TestAppCredentials,
} from '../projections/whatsapp-test-data';

describe('one app never sees another app’s data', () => {
  let t: TestApp;
  let appA: TestAppCredentials;
  let appB: TestAppCredentials;
  const requestOfB = randomUUID();
  let messageOfB: string;
  const day = '2026-07-01T12:00:00.000Z';

  beforeAll(async () => {
    t = await startTestApp();
    const store = t.app.get(EventStore);
    [appA, appB] = [await createApp(t, 'A'), await createApp(t, 'B')];
    const ids = newMessageIds(appB.id, requestOfB, 'shared-user');
    messageOfB = ids.messageId;
    await appendRequest(store, build.requested(appB.id, requestOfB, [ids], day));
    await appendToMessage(store, ids, [build.queued(ids, day), build.sent(ids, day), build.callback(ids, 'read', day)]);
    await waitForProjections(t);
  });
  afterAll(() => t?.close());

  it('B sees its own message, request and statistics', async () => {
    await request(t.url).get(`/v3/messages/${messageOfB}`).set(appB.headers).expect(200);
    await request(t.url).get(`/v3/notifications/${requestOfB}`).set(appB.headers).expect(200);
    const list = await request(t.url).get('/v3/messages').query({ recipient: 'shared-user' }).set(appB.headers).expect(200);
    expect(list.body.data).toHaveLength(1);
    const stats = await request(t.url).get('/v3/analytics/whatsapp').query({ from: '2026-07-01', to: '2026-07-01' }).set(appB.headers).expect(200);
    expect(stats.body.totals).toMatchObject({ sent: 1, delivered: 1, seen: 1 });
  });

  it('A gets 404 for B’s message and request, and nothing of B in lists or statistics', async () => {
    await request(t.url).get(`/v3/messages/${messageOfB}`).set(appA.headers).expect(404);
    await request(t.url).get(`/v3/notifications/${requestOfB}`).set(appA.headers).expect(404);
    for (const query of [{}, { recipient: 'shared-user' }, { requestId: requestOfB }, { status: 'seen' }]) {
      const list = await request(t.url).get('/v3/messages').query(query).set(appA.headers).expect(200);
      expect(list.body).toEqual({ data: [], nextCursor: null });
    }
    const stats = await request(t.url).get('/v3/analytics/whatsapp').query({ from: '2026-07-01', to: '2026-07-01' }).set(appA.headers).expect(200);
    expect(stats.body.totals).toEqual({ sent: 0, delivered: 0, seen: 0, discarded: 0, deliveryRate: null, seenRate: null, billable: 0, billableByCategory: {} });
  });

  it('A’s key with B’s secret is refused', async () => {
    await request(t.url)
      .get(`/v3/messages/${messageOfB}`)
      .set({ 'X-ENGAGESPOT-API-KEY': appA.apiKey, 'X-ENGAGESPOT-API-SECRET': appB.apiSecret })
      .expect(401);
  });
});
