import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { EventStore, readLogHorizon, readStreamChunk, rebuildByStream, SubscriptionManager, type StoredEvent } from '../../src/event-store';
import { MessageViewsProjection, MessageViewsRebuild, ProjectionRebuilder } from '../../src/whatsapp/projections';
import { GIVE_UP_AFTER_MS } from '../support/eventually';
import { startTestApp, type TestApp } from '../support/test-app';
import { appendRandomWorkload } from './random-workload';
import { appendRequest, appendToMessage, at, build, newMessageIds, snapshotViews, waitForProjections, type MessageIds } from './whatsapp-test-data';

const VIEWS = 'whatsapp_message_views';

/** The live path's own result: the subscription moved back to the start of the log and replayed batch by batch. */
async function liveFold(t: TestApp): Promise<Record<string, string[]>> {
  const runner = t.app.get(SubscriptionManager).runner(VIEWS);
  await runner.reset();
  await runner.catchUp(GIVE_UP_AFTER_MS);
  return snapshotViews(t.db);
}

async function checkpointOf(t: TestApp): Promise<{ position: string; events: number }> {
  const [row] = await t.db.query<{ position: string; events: string }>(
    `SELECT last_transaction_id::text || '/' || last_global_position AS position, events_processed AS events FROM es_subscriptions WHERE name = $1`,
    [VIEWS],
  );
  return { position: row.position, events: Number(row.events) };
}

async function eventCount(t: TestApp): Promise<number> {
  const [row] = await t.db.query<{ n: string }>('SELECT count(*) AS n FROM es_events');
  return Number(row.n);
}

/** Nothing lost, nothing counted twice: each message's row holds its whole stream, the counters add up to the rows. */
async function expectViewsComplete(t: TestApp): Promise<void> {
  const [row] = await t.db.query<{ streams: number; rows: number; behind: number; miscounted: number; counts: number }>(
    `SELECT (SELECT count(*) FROM es_streams WHERE stream_type = 'whatsapp_message')::int AS streams,
            (SELECT count(*) FROM message_status_view)::int AS rows,
            (SELECT count(*) FROM message_status_view m JOIN es_streams s ON s.stream_id = 'whatsapp_message-' || m.message_id
              WHERE s.version <> m.last_stream_position)::int AS behind,
            (SELECT count(*) FROM notification_summary_view s
              WHERE s.message_count <> (SELECT count(*) FROM message_status_view m WHERE m.request_id = s.request_id)
                 OR s.queued + s.sent + s.delivered + s.seen + s.discarded <> s.message_count)::int AS miscounted,
            (SELECT coalesce(sum(messages), 0) FROM whatsapp_message_status_counts)::int AS counts`,
  );
  expect(row).toEqual({ streams: row.rows, rows: row.rows, behind: 0, miscounted: 0, counts: row.rows });
}

describe('rebuild by stream: equal to the live fold', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Chunks of 5 events: most chunks end inside a stream, and some streams are longer than a chunk.
    t = await startTestApp({ env: { SUBSCRIPTIONS_ENABLED: 'false', PROJECTION_REBUILD_BATCH_SIZE: '5' } });
  });
  afterAll(() => t?.close());

  it('on an empty store builds nothing, and the runner goes on from the start of the log', async () => {
    const [result] = await t.app.get(ProjectionRebuilder).rebuild();
    expect(result).toMatchObject({ projection: VIEWS, events: 0 });
    expect(await checkpointOf(t)).toEqual({ position: '0/0', events: 0 });
    expect(Object.values(await snapshotViews(t.db)).flat()).toEqual([]);

    const ids = newMessageIds('app-a', randomUUID());
    await appendRequest(t.app.get(EventStore), build.requested('app-a', ids.requestId, [ids], '2026-05-01T08:00:00.000Z'));
    await appendToMessage(t.app.get(EventStore), ids, [build.queued(ids, '2026-05-01T08:00:00.000Z')]);
    await t.app.get(SubscriptionManager).runner(VIEWS).catchUp(GIVE_UP_AFTER_MS);
    const live = await snapshotViews(t.db);
    expect(live.message_status_view).toHaveLength(1);
    expect(await liveFold(t)).toEqual(live);
  });

  it('with only NotificationRequested events gives each request its summary and nothing else', async () => {
    const store = t.app.get(EventStore);
    await t.db.query('TRUNCATE es_events, es_streams CASCADE');
    for (const [index, appId] of ['app-a', 'app-a', 'app-b'].entries()) {
      const requestId = randomUUID();
      await appendRequest(store, build.requested(appId, requestId, [newMessageIds(appId, requestId)], at('2026-05-02T08:00:00.000Z', index * 1000)));
    }
    const [result] = await t.app.get(ProjectionRebuilder).rebuild();
    expect(result.events).toBe(3);
    const rebuilt = await snapshotViews(t.db);
    expect(rebuilt.notification_summary_view.map((row) => JSON.parse(row))).toEqual(
      Array.from({ length: 3 }, () =>
        expect.objectContaining({ requested_at: expect.stringMatching(/^2026-05-02T08:00:0\d/), message_count: 0, queued: 0, first_queued_at: null }),
      ),
    );
    expect([rebuilt.message_status_view, rebuilt.whatsapp_daily_stats, rebuilt.whatsapp_message_status_counts]).toEqual([[], [], []]);
    expect(await liveFold(t)).toEqual(rebuilt);
  });

  it('on the random workload gives every table as the live fold does, chunk boundaries or not', async () => {
    await t.db.query('TRUNCATE es_events, es_streams CASCADE');
    await appendRandomWorkload(t.db, t.app.get(EventStore), {
      appIds: ['app-a', 'app-b', 'app-c'],
      messages: 300,
      writers: 6,
      seed: 20260502,
      startDay: '2026-05-01T00:00:00.000Z',
    });
    const live = await liveFold(t);
    expect(live.message_status_view).toHaveLength(300);
    // Views that no longer match the log: the rebuild must not build on them.
    await t.db.query(`UPDATE message_status_view SET status = 'queued', timeline = '[]'`);
    await t.db.query('DELETE FROM whatsapp_daily_stats');
    const [result] = await t.app.get(ProjectionRebuilder).rebuild();
    expect(result.events).toBe(await eventCount(t));
    expect(await snapshotViews(t.db)).toEqual(live);
    await expectViewsComplete(t);
  });

  it('reads each stream whole, exactly once, in stream order, whatever the chunk size', async () => {
    const projection = t.app.get(MessageViewsProjection);
    const horizon = await readLogHorizon(t.db);
    const expected = await t.db.query<{ stream_id: string; stream_position: string }>(
      `SELECT stream_id, stream_position FROM es_events WHERE transaction_id < $1::xid8 AND event_type = ANY ($2::text[])
        ORDER BY stream_id, stream_position`,
      [horizon.below, projection.eventTypes],
    );
    const longest = Math.max(...(await t.db.query<{ version: string }>('SELECT version FROM es_streams')).map((s) => Number(s.version)));
    for (const limit of [1, 3, longest - 1, 1000, 100_000]) {
      const chunks: StoredEvent[][] = [];
      let after: string | null = null;
      do {
        const chunk = await readStreamChunk(t.db, after, { below: horizon.below, limit, types: projection.eventTypes });
        chunks.push(chunk.events);
        after = chunk.lastStreamId;
      } while (after !== null);
      expect(chunks.flat().map((e) => [e.streamId, e.streamPosition])).toEqual(expected.map((e) => [e.stream_id, Number(e.stream_position)]));
      const streamsOfChunks = chunks.map((chunk) => new Set(chunk.map((e) => e.streamId)));
      for (let i = 1; i < streamsOfChunks.length; i++) {
        for (const stream of streamsOfChunks[i]) expect(streamsOfChunks[i - 1].has(stream)).toBe(false);
      }
    }
  });
});

describe('rebuild by stream beside the live runner', () => {
  let t: TestApp;
  let original: typeof MessageViewsRebuild.prototype.add;
  let messages: MessageIds[];

  beforeAll(async () => {
    // The runner is driven by hand here, so that each step happens exactly where the test says.
    t = await startTestApp({ env: { SUBSCRIPTIONS_ENABLED: 'false', PROJECTION_REBUILD_BATCH_SIZE: '40' } });
    messages = await appendRandomWorkload(t.db, t.app.get(EventStore), {
      appIds: ['app-a', 'app-b'],
      messages: 120,
      writers: 4,
      seed: 77,
      startDay: '2026-06-01T00:00:00.000Z',
    });
    await t.app.get(SubscriptionManager).runner(VIEWS).catchUp(GIVE_UP_AFTER_MS);
    original = MessageViewsRebuild.prototype.add;
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => t?.close());

  /** Appends events to some of the known messages, and new messages. */
  async function appendMore(seed: number): Promise<void> {
    const store = t.app.get(EventStore);
    for (const ids of messages.slice(seed % 7, (seed % 7) + 5)) {
      await appendToMessage(store, ids, [build.callback(ids, 'read', at('2026-06-09T10:00:00.000Z', seed))]);
    }
    await appendRandomWorkload(t.db, store, { appIds: ['app-a', 'app-c'], messages: 15, writers: 3, seed, startDay: '2026-06-03T00:00:00.000Z' });
  }

  it('keeps the runner out while it swaps the views in, then the runner goes on from its checkpoint with what was committed meanwhile', async () => {
    const runner = t.app.get(SubscriptionManager).runner(VIEWS);
    let addedDuring = false;
    jest.spyOn(MessageViewsRebuild.prototype, 'add').mockImplementation(async function (this: MessageViewsRebuild, events: StoredEvent[]) {
      if (!addedDuring) {
        addedDuring = true;
        // Committed after the horizon was taken: not part of the rebuild. The runner, not locked
        // out yet, applies them to the old views; the swap takes them back out.
        await appendMore(1);
        await runner.catchUp(GIVE_UP_AFTER_MS);
      }
      return original.call(this, events);
    });
    const install = MessageViewsRebuild.prototype.install;
    let runnerDuringInstall: string | undefined;
    jest.spyOn(MessageViewsRebuild.prototype, 'install').mockImplementation(async function (this: MessageViewsRebuild, tx) {
      runnerDuringInstall = await runner.processBatch();
      return install.call(this, tx);
    });

    const [result] = await t.app.get(ProjectionRebuilder).rebuild();
    expect(addedDuring).toBe(true);
    expect(runnerDuringInstall).toBe('locked-elsewhere');
    // The rebuild's own turns of the runner went on past the horizon; the counter holds every event once.
    expect(result.events).toBe(await eventCount(t));
    expect((await checkpointOf(t)).events).toBe(await eventCount(t));
    const rebuilt = await snapshotViews(t.db);
    await expectViewsComplete(t);
    expect(await liveFold(t)).toEqual(rebuilt);
  });

  it('holds exactly the events up to the checkpoint it sets, and the runner goes on from there', async () => {
    const runner = t.app.get(SubscriptionManager).runner(VIEWS);
    let appended = false;
    jest.spyOn(MessageViewsRebuild.prototype, 'add').mockImplementation(async function (this: MessageViewsRebuild, events: StoredEvent[]) {
      if (!appended) {
        appended = true;
        await appendMore(2);
      }
      return original.call(this, events);
    });
    const result = await rebuildByStream(t.db, t.app.get(MessageViewsProjection), { chunkSize: 40 });
    expect(appended).toBe(true);
    const { position, events } = await checkpointOf(t);
    expect(position).toBe(`${result.checkpoint.transactionId}/${result.checkpoint.globalPosition}`);
    const [held] = await t.db.query<{ below: number; wrong: number; after: number }>(
      `WITH upto AS (SELECT e.* FROM es_events e WHERE (e.transaction_id, e.global_position) <= ($1::xid8, $2::bigint))
       SELECT (SELECT count(*) FROM upto)::int AS below,
              (SELECT count(*) FROM es_streams s
                 LEFT JOIN message_status_view m ON s.stream_id = 'whatsapp_message-' || m.message_id
                WHERE s.stream_type = 'whatsapp_message'
                  AND m.last_stream_position IS DISTINCT FROM (SELECT max(u.stream_position) FROM upto u WHERE u.stream_id = s.stream_id))::int AS wrong,
              (SELECT count(*) FROM es_events e WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint))::int AS after`,
      [result.checkpoint.transactionId, result.checkpoint.globalPosition],
    );
    expect(held).toEqual({ below: events, wrong: 0, after: expect.any(Number) });
    expect(held.after).toBeGreaterThan(0);
    expect(result.events).toBe(held.below);

    await runner.catchUp(GIVE_UP_AFTER_MS);
    expect((await checkpointOf(t)).events).toBe(await eventCount(t));
    const caughtUp = await snapshotViews(t.db);
    await expectViewsComplete(t);
    expect(await liveFold(t)).toEqual(caughtUp);
  });

  it('waits for a transaction that was open when it began, and loses none of its events', async () => {
    const store = t.app.get(EventStore);
    const open = new Client({ connectionString: t.database.url });
    await open.connect();
    try {
      const ids = messages[3];
      // A transaction id older than the horizon the rebuild takes, its events committed only later.
      await open.query('BEGIN');
      const lateIds = newMessageIds('app-a', randomUUID());
      const onOpen = { query: async (sql: string, params?: readonly unknown[]) => (await open.query(sql, params as unknown[])).rows };
      await appendToMessage(store, lateIds, [build.queued(lateIds, '2026-06-05T09:00:00.000Z')], onOpen);
      // Committed before the rebuild begins, but after the open transaction started.
      await appendToMessage(store, ids, [build.callback(ids, 'delivered', '2026-06-09T11:00:00.000Z')]);

      let committed = false;
      jest.spyOn(MessageViewsRebuild.prototype, 'add').mockImplementation(async function (this: MessageViewsRebuild, events: StoredEvent[]) {
        if (!committed) {
          committed = true;
          await open.query('COMMIT');
        }
        return original.call(this, events);
      });
      const [result] = await t.app.get(ProjectionRebuilder).rebuild();
      expect(committed).toBe(true);
      expect(result.events).toBe(await eventCount(t));
      const [row] = await t.db.query<{ status: string }>('SELECT status FROM message_status_view WHERE message_id = $1', [lateIds.messageId]);
      expect(row).toEqual({ status: 'queued' });
      const rebuilt = await snapshotViews(t.db);
      await expectViewsComplete(t);
      expect(await liveFold(t)).toEqual(rebuilt);
    } finally {
      await open.end();
    }
  });

  it('beside concurrent writers and the runner, ends with what the live fold gives', async () => {
    const runner = t.app.get(SubscriptionManager).runner(VIEWS);
    let writing = true;
    const writers = (async () => {
      for (let seed = 10; seed < 14; seed++) await appendMore(seed);
      writing = false;
    })();
    const runnerTurns = (async () => {
      while (writing) await runner.processBatch();
    })();
    const rebuilds = (async () => {
      const results = [];
      while (writing) results.push(...(await t.app.get(ProjectionRebuilder).rebuild()));
      return results;
    })();
    await Promise.all([writers, runnerTurns]);
    expect((await rebuilds).length).toBeGreaterThan(0);
    await runner.catchUp(GIVE_UP_AFTER_MS);
    const [row] = await t.db.query<{ n: string }>('SELECT count(*) AS n FROM es_events');
    expect((await checkpointOf(t)).events).toBe(Number(row.n));
    const final = await snapshotViews(t.db);
    await expectViewsComplete(t);
    expect(await liveFold(t)).toEqual(final);
  });

  it('that fails half way leaves the views and the checkpoint as they were', async () => {
    await t.app.get(SubscriptionManager).runner(VIEWS).catchUp(GIVE_UP_AFTER_MS);
    const before = await snapshotViews(t.db, { withUpdatedAt: true });
    const live = await snapshotViews(t.db);
    const checkpoint = await checkpointOf(t);
    let calls = 0;
    jest.spyOn(MessageViewsRebuild.prototype, 'add').mockImplementation(async function (this: MessageViewsRebuild, events: StoredEvent[]) {
      if (++calls === 3) throw new Error('stopped half way');
      return original.call(this, events);
    });
    await expect(t.app.get(ProjectionRebuilder).rebuild()).rejects.toThrow('stopped half way');
    expect(await snapshotViews(t.db, { withUpdatedAt: true })).toEqual(before);
    expect(await checkpointOf(t)).toEqual(checkpoint);
    jest.restoreAllMocks();
    // And the next one goes through.
    await t.app.get(ProjectionRebuilder).rebuild();
    expect(await snapshotViews(t.db)).toEqual(live);
  });
});

describe('rebuild by stream in a running service', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { SUBSCRIPTION_BATCH_SIZE: '25', PROJECTION_REBUILD_BATCH_SIZE: '60' } });
  });
  afterAll(() => t?.close());

  it('beside the live runner and writers appending all along, nothing is lost or counted twice', async () => {
    const store = t.app.get(EventStore);
    await appendRandomWorkload(t.db, store, { appIds: ['app-a', 'app-b'], messages: 100, writers: 4, seed: 5, startDay: '2026-07-01T00:00:00.000Z' });
    const writing = appendRandomWorkload(t.db, store, { appIds: ['app-b', 'app-c'], messages: 150, writers: 4, seed: 6, startDay: '2026-07-02T00:00:00.000Z' });
    const results = [...(await t.app.get(ProjectionRebuilder).rebuild()), ...(await t.app.get(ProjectionRebuilder).rebuild())];
    await writing;
    expect(results).toHaveLength(2);
    await waitForProjections(t);
    expect((await checkpointOf(t)).events).toBe(await eventCount(t));
    const final = await snapshotViews(t.db);
    expect(final.message_status_view).toHaveLength(250);
    await expectViewsComplete(t);
    expect(await liveFold(t)).toEqual(final);
  });
});
