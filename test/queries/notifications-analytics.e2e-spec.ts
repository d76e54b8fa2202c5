import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { EventStore } from '../../src/event-store';
import { startTestApp, type TestApp } from '../support/test-app';
import {
  appendRequest,
  appendToMessage,
  at,
  build,
  createApp,
  newMessageIds,
  waitForProjections,
  type TestAppCredentials,
} from '../projections/whatsapp-test-data';

const FAILED = { code: '131026', reason: 'Message undeliverable' };

describe('GET /v3/notifications/{requestId} and GET /v3/analytics/whatsapp', () => {
  let t: TestApp;
  let store: EventStore;

  beforeAll(async () => {
    t = await startTestApp();
    store = t.app.get(EventStore);
  });
  afterAll(() => t?.close());

  describe('a notification request', () => {
    let app: TestAppCredentials;
    beforeAll(async () => {
      app = await createApp(t);
    });

    it('counts its messages per status and lists them, following status changes', async () => {
      const requestId = randomUUID();
      const t0 = '2026-05-01T09:00:00.000Z';
      const [a, b, c] = ['user-a', 'user-b', 'user-c'].map((user) => newMessageIds(app.id, requestId, user));
      await appendRequest(store, build.requested(app.id, requestId, [a, b, c], t0));
      for (const ids of [a, b, c]) await appendToMessage(store, ids, [build.queued(ids, at(t0, 10))]);
      await waitForProjections(t);

      const first = (await request(t.url).get(`/v3/notifications/${requestId}`).set(app.headers).expect(200)).body;
      expect(Object.keys(first).sort()).toEqual(['category', 'counts', 'createdAt', 'messageCount', 'messages', 'notification', 'requestId']);
      expect(first).toMatchObject({
        requestId,
        createdAt: t0,
        // Recorded as requests were before the whole notification was kept: its title and message.
        category: null,
        notification: { title: 'Your order shipped', message: 'Track it online' },
        messageCount: 3,
        counts: { queued: 3, sent: 0, delivered: 0, seen: 0, discarded: 0 },
      });
      expect(first.messages.map((m: { recipient: string; status: string }) => [m.recipient, m.status]).sort()).toEqual([
        ['user-a', 'queued'],
        ['user-b', 'queued'],
        ['user-c', 'queued'],
      ]);

      await appendToMessage(store, a, [build.sent(a, at(t0, 1000)), build.callback(a, 'read', at(t0, 9000))]);
      await appendToMessage(store, b, [build.sent(b, at(t0, 1000)), build.callback(b, 'failed', at(t0, 3000), FAILED)]);
      await appendToMessage(store, c, [build.sent(c, at(t0, 1000))]);
      await waitForProjections(t);
      const second = (await request(t.url).get(`/v3/notifications/${requestId}`).set(app.headers).expect(200)).body;
      expect(second.counts).toEqual({ queued: 0, sent: 1, delivered: 0, seen: 1, discarded: 1 });

      // Delivery evidence after the failure: the message moves from discarded to delivered.
      await appendToMessage(store, b, [build.callback(b, 'delivered', at(t0, 4000))]);
      await waitForProjections(t);
      const third = (await request(t.url).get(`/v3/notifications/${requestId}`).set(app.headers).expect(200)).body;
      expect(third.counts).toEqual({ queued: 0, sent: 1, delivered: 1, seen: 1, discarded: 0 });
      const messageB = third.messages.find((m: { messageId: string }) => m.messageId === b.messageId);
      expect(messageB).toMatchObject({ status: 'delivered', discardedAt: null, discardReason: null });
    });

    it('answers 404 for a request it does not know', async () => {
      const response = await request(t.url).get(`/v3/notifications/${randomUUID()}`).set(app.headers).expect(404);
      expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: expect.stringMatching(/^No notification .* in this app/) });
    });
  });

  describe('daily WhatsApp analytics', () => {
    let app: TestAppCredentials;
    const day1 = '2026-06-01T10:00:00.000Z';
    const day2 = '2026-06-02T10:00:00.000Z';
    const day3 = '2026-06-03T10:00:00.000Z';

    beforeAll(async () => {
      app = await createApp(t);
      const requestId = randomUUID();
      const make = () => newMessageIds(app.id, requestId);
      const [seen, delivered, sentOnly, failed, discardedThenDelivered, noPhone, readOnly] = Array.from({ length: 7 }, make);
      // Sent on day 1, delivered on day 1, read on day 2: sent 1 (d1), delivered 1 (d1), seen 1 (d2).
      await appendToMessage(store, seen, [build.queued(seen, day1), build.sent(seen, day1), build.callback(seen, 'delivered', day1)]);
      await appendToMessage(store, seen, [build.callback(seen, 'read', day2)]);
      // Sent on day 1, delivered on day 2.
      await appendToMessage(store, delivered, [build.queued(delivered, day1), build.sent(delivered, day1), build.callback(delivered, 'delivered', day2)]);
      // Sent on day 2 only.
      await appendToMessage(store, sentOnly, [build.queued(sentOnly, day2), build.sent(sentOnly, day2)]);
      // Sent on day 2, failed on day 2.
      await appendToMessage(store, failed, [build.queued(failed, day2), build.sent(failed, day2), build.callback(failed, 'failed', day2, FAILED)]);
      // Sent day 1, failed day 1, then delivered on day 3: delivered (d3), never discarded.
      await appendToMessage(store, discardedThenDelivered, [
        build.queued(discardedThenDelivered, day1),
        build.sent(discardedThenDelivered, day1),
        build.callback(discardedThenDelivered, 'failed', at(day1, 1000), FAILED),
      ]);
      await waitForProjections(t);
      await appendToMessage(store, discardedThenDelivered, [build.callback(discardedThenDelivered, 'delivered', day3)]);
      // Discarded before it was ever sent, on day 3.
      await appendToMessage(store, noPhone, [build.queued(noPhone, day3), build.discarded(noPhone, day3)]);
      // Only a read receipt, no sent or delivered record: counts as sent, delivered and seen on day 3.
      await appendToMessage(store, readOnly, [build.queued(readOnly, day3), build.callback(readOnly, 'read', day3)]);
      await waitForProjections(t);
    });

    it('counts each message once per status reached, on the day it reached it; seen counts as delivered', async () => {
      const response = await request(t.url).get('/v3/analytics/whatsapp').query({ from: '2026-05-31', to: '2026-06-03' }).set(app.headers).expect(200);
      expect(response.body).toEqual({
        from: '2026-05-31',
        to: '2026-06-03',
        days: [
          { date: '2026-05-31', sent: 0, delivered: 0, seen: 0, discarded: 0, deliveryRate: null, seenRate: null, billable: 0, billableByCategory: {} },
          { date: '2026-06-01', sent: 3, delivered: 1, seen: 0, discarded: 0, deliveryRate: 0.3333, seenRate: 0, billable: 0, billableByCategory: {} },
          { date: '2026-06-02', sent: 2, delivered: 1, seen: 1, discarded: 1, deliveryRate: 0.5, seenRate: 0.5, billable: 0, billableByCategory: {} },
          { date: '2026-06-03', sent: 1, delivered: 2, seen: 1, discarded: 1, deliveryRate: 2, seenRate: 1, billable: 0, billableByCategory: {} },
        ],
        totals: { sent: 6, delivered: 4, seen: 2, discarded: 2, deliveryRate: 0.6667, seenRate: 0.3333, billable: 0, billableByCategory: {} },
      });
    });

    it('takes ISO times as their UTC day, and defaults to the last 30 days', async () => {
      const response = await request(t.url)
        .get('/v3/analytics/whatsapp')
        .query({ from: '2026-06-02T23:30:00-02:00', to: '2026-06-03T00:00:00Z' })
        .set(app.headers)
        .expect(200);
      expect(response.body.days.map((d: { date: string }) => d.date)).toEqual(['2026-06-03']);

      const dayBefore = new Date().toISOString().slice(0, 10);
      const recent = (await request(t.url).get('/v3/analytics/whatsapp').set(app.headers).expect(200)).body;
      const dayAfter = new Date().toISOString().slice(0, 10);
      expect(recent.days).toHaveLength(30);
      // Today, UTC: the day the request was answered on, were it the one before midnight.
      expect([dayBefore, dayAfter]).toContain(recent.to);
    });

    it.each([
      [{ from: 'June' }, /from must be a date \(YYYY-MM-DD\) or an ISO 8601 time/],
      [{ to: '2026-02-30' }, /to must be a date \(YYYY-MM-DD\) or an ISO 8601 time/],
      [{ from: '2026-06-03', to: '2026-06-01' }, /from must be the earlier day/],
      [{ from: '2025-01-01', to: '2026-06-01' }, /ask for at most 366 days/],
      [{ app: 'other' }, /app is not a known parameter: allowed parameters are from, to/],
    ])('rejects %j with a 400 that says what to fix', async (query, message) => {
      const response = await request(t.url).get('/v3/analytics/whatsapp').query(query).set(app.headers).expect(400);
      expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) });
    });
  });
});
