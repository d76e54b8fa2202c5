import { randomUUID } from 'node:crypto';
import { EventStore, LOG_START, SubscriptionManager } from '../../src/event-store';
import { MessageViewsProjection } from '../../src/whatsapp/projections';
import { startTestApp, type TestApp } from '../support/test-app';
import { appendRandomWorkload } from './random-workload';
import { appendToMessage, build, newMessageIds, snapshotViews, waitForProjections } from './whatsapp-test-data';

describe('projecting the same events twice changes nothing', () => {
  let t: TestApp;
  let projection: MessageViewsProjection;
  let before: Record<string, string[]>;

  beforeAll(async () => {
    t = await startTestApp({ env: { SUBSCRIPTION_BATCH_SIZE: '50' } });
    projection = t.app.get(MessageViewsProjection);
    await appendRandomWorkload(t.db, t.app.get(EventStore), {
      appIds: ['app-a', 'app-b'],
      messages: 120,
      writers: 4,
      seed: 7,
      startDay: '2026-09-01T00:00:00.000Z',
    });
    await waitForProjections(t);
    before = await snapshotViews(t.db, { withUpdatedAt: true });
  });
  afterAll(() => t?.close());

  it('a checkpoint moved back to the start, views kept, replays the whole log without writing a row', async () => {
    const [{ events }] = await t.db.query<{ events: string }>('SELECT count(*) AS events FROM es_events');
    await t.db.query(`UPDATE es_subscriptions SET last_transaction_id = '0', last_global_position = 0 WHERE name = $1`, [
      projection.subscriptionName,
    ]);
    expect((await t.app.get(SubscriptionManager).lag())[projection.subscriptionName].eventsBehind).toBe(Number(events));
    await waitForProjections(t);
    expect(await snapshotViews(t.db, { withUpdatedAt: true })).toEqual(before);
  });

  it('a batch handed over again, whole or with its events repeated, changes nothing', async () => {
    const events = await t.app.get(EventStore).readAll(LOG_START, 100_000);
    await t.db.transaction((tx) => projection.handle(events, tx));
    await t.db.transaction((tx) => projection.handle([...events, ...events.slice(0, 40)], tx));
    expect(await snapshotViews(t.db, { withUpdatedAt: true })).toEqual(before);
  });

  it('a batch that mixes events already applied with new ones applies only the new ones', async () => {
    const store = t.app.get(EventStore);
    const ids = newMessageIds('app-a', randomUUID());
    await appendToMessage(store, ids, [build.queued(ids, '2026-09-10T10:00:00.000Z'), build.sent(ids, '2026-09-10T10:00:01.000Z')]);
    await waitForProjections(t);
    const applied = await snapshotViews(t.db);
    await appendToMessage(store, ids, [build.callback(ids, 'delivered', '2026-09-10T10:00:05.000Z')]);
    await waitForProjections(t);
    const expected = await snapshotViews(t.db);
    expect(expected).not.toEqual(applied);

    const all = (await store.readAll(LOG_START, 100_000)).filter((e) => e.streamId.endsWith(ids.messageId));
    expect(all).toHaveLength(3);
    await t.db.transaction((tx) => projection.handle(all, tx));
    expect(await snapshotViews(t.db)).toEqual(expected);
  });
});
