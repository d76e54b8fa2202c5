import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { EventStore } from '../../src/event-store';
import { NotificationRequested } from '../../src/whatsapp/domain';
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

/** A message's category and template: filters of GET /v3/messages, dimensions of analytics, kept with the request. */
describe('category and template of messages', () => {
  let t: TestApp;
  let store: EventStore;
  let app: TestAppCredentials;
  const day = '2026-07-01';
  const t0 = `${day}T09:00:00.000Z`;
  const ids: Record<string, MessageIds> = {};

  /** A request of `count` messages with the given category and template, each sent; `delivered` of them delivered. */
  async function sendRequest(name: string, category: string | null | undefined, template: string | null | undefined, count: number, delivered: number) {
    const requestId = randomUUID();
    const messages = Array.from({ length: count }, (_, i) => ({ ...newMessageIds(app.id, requestId, `${name}-${i}`), category, template }));
    const requested = build.requested(app.id, requestId, messages, t0);
    await appendRequest(
      store,
      category === undefined
        ? requested
        : new NotificationRequested({ ...requested.data, category, template, notification: { title: 'Hi', url: 'https://example.com/x' } }),
    );
    for (const [i, message] of messages.entries()) {
      const events = [build.queued(message, at(t0, i)), build.sent(message, at(t0, 1000))];
      if (i < delivered) events.push(build.callback(message, 'delivered', at(t0, 5000)));
      await appendToMessage(store, message, events);
      ids[`${name}-${i}`] = message;
    }
    return requestId;
  }

  let orderRequest: string;
  beforeAll(async () => {
    t = await startTestApp();
    store = t.app.get(EventStore);
    app = await createApp(t);
    orderRequest = await sendRequest('orders', 'order-updates', 'order_shipped', 3, 2);
    await sendRequest('promo', 'promotions', null, 2, 0);
    await sendRequest('plain', null, null, 1, 1);
    await sendRequest('old', undefined, undefined, 1, 1);
    await waitForProjections(t);
  });
  afterAll(() => t?.close());

  const list = (query: Record<string, string>) => request(t.url).get('/v3/messages').query(query).set(app.headers).expect(200);
  const analytics = (query: Record<string, string>) =>
    request(t.url).get('/v3/analytics/whatsapp').query({ from: day, to: day, ...query }).set(app.headers).expect(200);

  it('shows each message with its category and template, and filters by them', async () => {
    const all = (await list({})).body.data as { recipient: string; category: string | null; template: string | null }[];
    expect(Object.fromEntries(all.map((m) => [m.recipient, [m.category, m.template]]))).toEqual({
      'orders-0': ['order-updates', 'order_shipped'],
      'orders-1': ['order-updates', 'order_shipped'],
      'orders-2': ['order-updates', 'order_shipped'],
      'promo-0': ['promotions', null],
      'promo-1': ['promotions', null],
      'plain-0': [null, null],
      'old-0': [null, null],
    });
    const recipients = async (query: Record<string, string>) => ((await list(query)).body.data as { recipient: string }[]).map((m) => m.recipient).sort();
    expect(await recipients({ category: 'promotions' })).toEqual(['promo-0', 'promo-1']);
    expect(await recipients({ template: 'order_shipped' })).toEqual(['orders-0', 'orders-1', 'orders-2']);
    expect(await recipients({ category: 'order-updates', template: 'order_shipped', limit: '2' })).toHaveLength(2);
    expect(await recipients({ category: 'promotions', template: 'order_shipped' })).toEqual([]);
    expect(await recipients({ category: 'nothing-like-it' })).toEqual([]);
    const message = (await request(t.url).get(`/v3/messages/${ids['orders-0'].messageId}`).set(app.headers).expect(200)).body;
    expect(message).toMatchObject({ category: 'order-updates', template: 'order_shipped' });
  });

  it('keeps the category and notification with the request', async () => {
    const body = (await request(t.url).get(`/v3/notifications/${orderRequest}`).set(app.headers).expect(200)).body;
    expect(body).toMatchObject({ category: 'order-updates', notification: { title: 'Hi', url: 'https://example.com/x' }, messageCount: 3 });
  });

  it('counts analytics for one category or template, and breaks the totals down by either', async () => {
    const whole = (await analytics({})).body;
    expect(whole.totals).toMatchObject({ sent: 7, delivered: 4 });
    expect(whole.breakdown).toBeUndefined();
    expect((await analytics({ category: 'order-updates' })).body.totals).toMatchObject({ sent: 3, delivered: 2, deliveryRate: 0.6667 });
    expect((await analytics({ category: 'promotions' })).body.days).toEqual([expect.objectContaining({ date: day, sent: 2, delivered: 0 })]);
    expect((await analytics({ template: 'order_shipped' })).body.totals).toMatchObject({ sent: 3, delivered: 2 });
    expect((await analytics({ category: 'none-such' })).body.totals).toMatchObject({ sent: 0, delivered: 0, deliveryRate: null });

    const byCategory = (await analytics({ groupBy: 'category' })).body;
    expect(byCategory.totals).toEqual(whole.totals);
    expect(byCategory.breakdown).toEqual([
      expect.objectContaining({ value: 'order-updates', sent: 3, delivered: 2 }),
      expect.objectContaining({ value: null, sent: 2, delivered: 2 }),
      expect.objectContaining({ value: 'promotions', sent: 2, delivered: 0 }),
    ]);
    const byTemplate = (await analytics({ groupBy: 'template', category: 'order-updates' })).body;
    expect(byTemplate.breakdown).toEqual([expect.objectContaining({ value: 'order_shipped', sent: 3 })]);
  });

  it('answers 400 for a bad groupBy or an empty filter', async () => {
    const bad = await request(t.url).get('/v3/analytics/whatsapp').query({ groupBy: 'recipient' }).set(app.headers).expect(400);
    expect(bad.body.message).toContain('groupBy must be category or template');
    await request(t.url).get('/v3/messages').query({ category: '' }).set(app.headers).expect(400);
  });
});
