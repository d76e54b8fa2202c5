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
  type MessageIds,
  type TestAppCredentials,
} from '../projections/whatsapp-test-data';

const MESSAGE_KEYS = [
  'category',
  'template',
  'messageId',
  'requestId',
  'recipient',
  'phoneNumber',
  'provider',
  'providerMessageId',
  'status',
  'queuedAt',
  'sentAt',
  'deliveredAt',
  'seenAt',
  'discardedAt',
  'discardReason',
  'pricing',
  'timeline',
].sort();

describe('GET /v3/messages', () => {
  let t: TestApp;
  let store: EventStore;
  let app: TestAppCredentials;

  beforeAll(async () => {
    t = await startTestApp();
    store = t.app.get(EventStore);
    app = await createApp(t);
  });
  afterAll(() => t?.close());

  const get = (path: string) => request(t.url).get(path).set(app.headers);

  it('returns a delivered and read message in API.md shape, with its timeline in order', async () => {
    const requestId = randomUUID();
    const ids = newMessageIds(app.id, requestId, 'user-1');
    const t0 = '2026-03-01T10:00:00.000Z';
    await appendRequest(store, build.requested(app.id, requestId, [ids], t0));
    await appendToMessage(store, ids, [build.queued(ids, t0)]);
    await appendToMessage(store, ids, [build.sent(ids, at(t0, 1250))]);
    await appendToMessage(store, ids, [build.callback(ids, 'enqueued', at(t0, 2000))]);
    // Out of order: read before delivered, and a duplicate delivered.
    await appendToMessage(store, ids, [build.callback(ids, 'read', at(t0, 60_000))]);
    await appendToMessage(store, ids, [build.callback(ids, 'delivered', at(t0, 5000))]);
    await waitForProjections(t);

    const response = await get(`/v3/messages/${ids.messageId}`).expect(200);
    expect(Object.keys(response.body).sort()).toEqual(MESSAGE_KEYS);
    expect(response.body).toEqual({
      messageId: ids.messageId,
      requestId,
      recipient: 'user-1',
      phoneNumber: '+919988776655',
      provider: 'gupshup_whatsapp',
      providerMessageId: ids.providerMessageId,
      status: 'seen',
      queuedAt: t0,
      sentAt: at(t0, 1250),
      deliveredAt: at(t0, 5000),
      seenAt: at(t0, 60_000),
      discardedAt: null,
      discardReason: null,
      category: null,
      template: null,
      pricing: null,
      timeline: [
        { status: 'queued', at: t0, receivedAt: t0 },
        { status: 'sent', at: at(t0, 1250), receivedAt: at(t0, 1250) },
        { status: 'sent', providerStatus: 'enqueued', at: at(t0, 2000), receivedAt: at(t0, 3000) },
        { status: 'delivered', providerStatus: 'delivered', at: at(t0, 5000), receivedAt: at(t0, 6000) },
        { status: 'seen', providerStatus: 'read', at: at(t0, 60_000), receivedAt: at(t0, 61_000) },
      ],
    });
    // Keys of timeline entries in the order API.md shows them.
    expect(Object.keys(response.body.timeline[2])).toEqual(['status', 'providerStatus', 'at', 'receivedAt']);
  });

  it('shows a discarded message with its reason, and a failure after delivery only in the timeline', async () => {
    const requestId = randomUUID();
    const noPhone = { ...newMessageIds(app.id, requestId), phoneNumber: null };
    const lateFailure = newMessageIds(app.id, requestId);
    const t0 = '2026-03-02T08:00:00.000Z';
    await appendToMessage(store, noPhone, [build.queued(noPhone, t0), build.discarded(noPhone, t0)]);
    await appendToMessage(store, lateFailure, [
      build.queued(lateFailure, t0),
      build.sent(lateFailure, at(t0, 1000)),
      build.callback(lateFailure, 'delivered', at(t0, 3000)),
      build.callback(lateFailure, 'failed', at(t0, 4000), { code: '1002', reason: 'Number does not exist on WhatsApp' }),
    ]);
    await waitForProjections(t);

    const discarded = (await get(`/v3/messages/${noPhone.messageId}`).expect(200)).body;
    expect(discarded).toMatchObject({
      status: 'discarded',
      phoneNumber: null,
      sentAt: null,
      discardedAt: t0,
      discardReason: { code: 'no_phone_number', reason: 'The user has no phone number' },
    });
    const delivered = (await get(`/v3/messages/${lateFailure.messageId}`).expect(200)).body;
    expect(delivered).toMatchObject({ status: 'delivered', discardedAt: null, discardReason: null, deliveredAt: at(t0, 3000) });
    expect(delivered.timeline.at(-1)).toEqual({
      status: 'delivered',
      providerStatus: 'failed',
      at: at(t0, 4000),
      receivedAt: at(t0, 5000),
      code: '1002',
      reason: 'Number does not exist on WhatsApp',
    });
  });

  it('answers 404 with a clear message for an unknown message', async () => {
    const response = await get(`/v3/messages/${randomUUID()}`).expect(404);
    expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: expect.stringMatching(/^No message .* in this app/) });
  });

  it('needs the app credentials', async () => {
    await request(t.url).get('/v3/messages').expect(401);
    await request(t.url).get(`/v3/messages/${randomUUID()}`).set({ 'X-ENGAGESPOT-API-KEY': app.apiKey, 'X-ENGAGESPOT-API-SECRET': 'wrong' }).expect(401);
  });

  describe('filters and pagination', () => {
    let filterApp: TestAppCredentials;
    const all: Array<MessageIds & { queuedAt: string; status: string }> = [];
    const t0 = Date.parse('2026-04-01T00:00:00.000Z');

    beforeAll(async () => {
      filterApp = await createApp(t);
      const requestIds = [randomUUID(), randomUUID(), randomUUID()];
      // 75 messages, several sharing a queuedAt (ties broken by messageId), 3 requests, 4 recipients, 4 statuses.
      for (let i = 0; i < 75; i++) {
        const ids = newMessageIds(filterApp.id, requestIds[i % 3], `user-${i % 4}`);
        const queuedAt = new Date(t0 + Math.floor(i / 3) * 60_000).toISOString();
        const events = [build.queued(ids, queuedAt)];
        let status = 'queued';
        if (i % 5 >= 1) {
          events.push(build.sent(ids, at(queuedAt, 1000)));
          status = 'sent';
        }
        if (i % 5 === 2) {
          events.push(build.callback(ids, 'delivered', at(queuedAt, 2000)));
          status = 'delivered';
        }
        if (i % 5 === 3) {
          events.push(build.callback(ids, 'failed', at(queuedAt, 2000), { code: '1002', reason: 'Number does not exist on WhatsApp' }));
          status = 'discarded';
        }
        all.push({ ...ids, queuedAt, status });
        await appendToMessage(store, ids, events);
      }
      await waitForProjections(t);
    });

    const newestFirst = (list: typeof all) =>
      [...list].sort((a, b) => (a.queuedAt === b.queuedAt ? (a.messageId < b.messageId ? 1 : -1) : a.queuedAt < b.queuedAt ? 1 : -1));

    async function pageThrough(query: Record<string, string | number>, onPage?: (page: number) => Promise<void>): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 100; page++) {
        const response = await request(t.url)
          .get('/v3/messages')
          .query({ ...query, ...(cursor && { cursor }) })
          .set(filterApp.headers)
          .expect(200);
        expect(Object.keys(response.body).sort()).toEqual(['data', 'nextCursor']);
        seen.push(...response.body.data.map((m: { messageId: string }) => m.messageId));
        cursor = response.body.nextCursor;
        if (!cursor) return seen;
        await onPage?.(page);
      }
      throw new Error('too many pages');
    }

    it('pages through every message newest first, without duplicates or gaps', async () => {
      const ids = await pageThrough({ limit: 7 });
      expect(ids).toEqual(newestFirst(all).map((m) => m.messageId));
    });

    it('defaults to 20 per page, in the full message shape', async () => {
      const response = await request(t.url).get('/v3/messages').set(filterApp.headers).expect(200);
      expect(response.body.data).toHaveLength(20);
      expect(Object.keys(response.body.data[0]).sort()).toEqual(MESSAGE_KEYS);
      expect(typeof response.body.nextCursor).toBe('string');
    });

    it('stays stable when messages are queued while paging', async () => {
      const added: string[] = [];
      const ids = await pageThrough({ limit: 10 }, async (page) => {
        if (page > 2) return;
        // Newer than every listed message: must not show up on later pages nor push others into them twice.
        const fresh = newMessageIds(filterApp.id, randomUUID());
        await appendToMessage(store, fresh, [build.queued(fresh, new Date(t0 + 86_400_000 + page).toISOString())]);
        added.push(fresh.messageId);
        await waitForProjections(t);
      });
      expect(ids).toEqual(newestFirst(all).map((m) => m.messageId));
      const first = await request(t.url).get('/v3/messages').query({ limit: 3 }).set(filterApp.headers).expect(200);
      expect(first.body.data.map((m: { messageId: string }) => m.messageId).sort()).toEqual([...added].sort());
    });

    it('filters by status, recipient, requestId and queued time, and combines them', async () => {
      const byStatus = await pageThrough({ status: 'discarded', limit: 4 });
      expect(byStatus).toEqual(newestFirst(all.filter((m) => m.status === 'discarded')).map((m) => m.messageId));

      const byRecipient = await pageThrough({ recipient: 'user-2', limit: 100 });
      expect(byRecipient).toEqual(newestFirst(all.filter((m) => m.recipient === 'user-2')).map((m) => m.messageId));

      const requestId = all[0].requestId;
      const byRequest = await pageThrough({ requestId, status: 'sent' });
      expect(byRequest).toEqual(newestFirst(all.filter((m) => m.requestId === requestId && m.status === 'sent')).map((m) => m.messageId));

      const from = new Date(t0 + 5 * 60_000).toISOString();
      const to = new Date(t0 + 10 * 60_000).toISOString();
      const byTime = await pageThrough({ from, to, limit: 5 });
      expect(byTime).toEqual(newestFirst(all.filter((m) => m.queuedAt >= from && m.queuedAt <= to)).map((m) => m.messageId));

      // A time without an offset is UTC, whatever the server's time zone.
      const withoutOffset = await pageThrough({ from: from.replace(/\.000Z$/, ''), to: to.replace('Z', ''), limit: 5 });
      expect(withoutOffset).toEqual(byTime);

      const day = await pageThrough({ from: '2026-04-01', to: '2026-04-01', limit: 100 });
      expect(day).toHaveLength(all.length);
      const none = await request(t.url).get('/v3/messages').query({ to: '2026-03-31' }).set(filterApp.headers).expect(200);
      expect(none.body).toEqual({ data: [], nextCursor: null });
    });

    it.each([
      [{ status: 'read' }, /status must be one of queued, sent, delivered, seen, discarded/],
      [{ limit: '0' }, /limit must be a whole number from 1 to 100/],
      [{ limit: '101' }, /limit must be a whole number from 1 to 100/],
      [{ limit: 'ten' }, /limit must be a whole number from 1 to 100/],
      [{ from: 'yesterday' }, /from must be an ISO 8601 date or time/],
      [{ to: '2026-13-01' }, /to must be an ISO 8601 date or time/],
      [{ from: '2026-04-02', to: '2026-04-01' }, /from must not be later than to/],
      [{ cursor: 'not-a-cursor' }, /cursor is not valid/],
      [{ cursor: Buffer.from('["x","y"]').toString('base64url') }, /cursor is not valid/],
      [{ colour: 'blue' }, /colour is not a known parameter: allowed parameters are status, recipient, requestId, phoneNumber, discardCode, category, template, from, to, limit, cursor/],
    ])('rejects %j with a 400 that says what to fix', async (query, message) => {
      const response = await request(t.url).get('/v3/messages').query(query).set(filterApp.headers).expect(400);
      expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(message) });
    });
  });
});
