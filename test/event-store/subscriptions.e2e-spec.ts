import { randomUUID } from 'node:crypto';
import type { SqlExecutor } from '../../src/database/database';
import { SubscriptionRunner, type BatchContext, type RecordedEvent, type SubscriptionHandler } from '../../src/event-store';
import { eventually } from '../support/eventually';
import { createStoreFixture, type StoreFixture } from '../support/sql';
import { CounterIncremented, CounterReset } from '../support/test-events';

/** Records what it receives in a table, inside the subscription's transaction. */
class RecordingHandler implements SubscriptionHandler {
  active = 0;
  maxActive = 0;
  batches = 0;
  constructor(
    readonly subscriptionName: string,
    private readonly delayMs = 0,
  ) {}

  async handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await tx.query(
        `INSERT INTO test_received (subscription, event_id, stream_id, stream_position)
         SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::bigint[])`,
        [this.subscriptionName, events.map((e) => e.eventId), events.map((e) => e.streamId), events.map((e) => e.streamPosition)],
      );
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      this.batches++;
    } finally {
      this.active--;
    }
  }

  async reset(tx: SqlExecutor): Promise<void> {
    await tx.query('DELETE FROM test_received WHERE subscription = $1', [this.subscriptionName]);
  }
}

describe('subscriptions', () => {
  let f: StoreFixture;
  const runner = (handler: SubscriptionHandler, batchSize = 100) =>
    new SubscriptionRunner(f.db, f.store, handler, { batchSize, pollIntervalMs: 10 });

  const afterStop: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of afterStop.splice(0)) await stop();
  });

  beforeAll(async () => {
    f = await createStoreFixture(40);
    await f.db.query(`CREATE TABLE test_received (
      seq bigserial PRIMARY KEY, subscription text, event_id uuid, stream_id text, stream_position bigint)`);
  });
  afterAll(() => f.close());

  const received = (subscription: string) =>
    f.db.query<{ event_id: string; stream_id: string; stream_position: string }>(
      'SELECT event_id, stream_id, stream_position FROM test_received WHERE subscription = $1 ORDER BY seq',
      [subscription],
    );
  const allEventIds = async () => (await f.db.query<{ event_id: string }>('SELECT event_id FROM es_events')).map((r) => r.event_id);

  function expectExactlyOnceInStreamOrder(rows: { event_id: string; stream_id: string; stream_position: string }[], expected: string[]) {
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(rows.length);
    expect(rows.map((r) => r.event_id).sort()).toEqual([...expected].sort());
    const lastByStream = new Map<string, number>();
    for (const row of rows) {
      const position = Number(row.stream_position);
      expect(position).toBe((lastByStream.get(row.stream_id) ?? 0) + 1);
      lastByStream.set(row.stream_id, position);
    }
  }

  it('shows why "global_position > checkpoint" loses an event that commits late, and that the log order does not', async () => {
    const late = await f.pool.connect();
    const lateStream = `counter-${randomUUID()}`;
    const early = `counter-${randomUUID()}`;
    const safe = new RecordingHandler(`safe-${randomUUID()}`);
    const safeRunner = runner(safe);
    try {
      await late.query('BEGIN');
      // Takes a global position first but commits last.
      await f.store.append(lateStream, [new CounterIncremented({ by: 1 })], {
        tx: { query: async (s, p) => (await late.query(s, p as unknown[])).rows },
      });
      await f.store.append(early, [new CounterIncremented({ by: 2 })]);

      // The naive reader sees the early event and moves its checkpoint past the late one's position.
      const [{ max: naiveCheckpoint }] = await f.db.query<{ max: string }>(
        'SELECT max(global_position) AS max FROM es_events WHERE stream_id <> $1',
        [lateStream],
      );
      // The commit-safe reader holds the early event back while the older transaction is open.
      while ((await safeRunner.processBatch()) === 'processed');
      expect((await received(safe.subscriptionName)).some((r) => r.stream_id === early)).toBe(false);

      await late.query('COMMIT');
      const naiveAfterCommit = await f.db.query('SELECT stream_id FROM es_events WHERE global_position > $1', [naiveCheckpoint]);
      expect(naiveAfterCommit.map((r) => r.stream_id)).not.toContain(lateStream); // lost for good
    } finally {
      await late.query('ROLLBACK').catch(() => undefined); // no-op after COMMIT; never leave it open
      late.release();
    }

    await safeRunner.catchUp();
    const streams = (await received(safe.subscriptionName)).map((r) => r.stream_id);
    expect(streams.indexOf(lateStream)).toBeGreaterThanOrEqual(0);
    expect(streams.indexOf(lateStream)).toBeLessThan(streams.indexOf(early)); // in commit-safe log order
  });

  it('delivers every event exactly once, in stream order, to a subscriber reading while writers hold transactions open', async () => {
    const handler = new RecordingHandler(`concurrent-${randomUUID()}`);
    const live = runner(handler, 25);
    live.start();
    afterStop.push(() => live.stop());
    const streams = Array.from({ length: 12 }, () => `counter-${randomUUID()}`);
    const writer = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        const stream = streams[(w * 7 + i) % streams.length];
        const events = [new CounterIncremented({ by: i }), new CounterIncremented({ by: -i })];
        if (i % 4 === 0) {
          // Holds its transaction (and its global positions) open while others commit.
          await f.db.transaction(async (tx) => {
            await f.store.append(stream, events, { tx });
            await new Promise((r) => setTimeout(r, 5 + ((w * 13 + i) % 40)));
          });
        } else {
          await f.store.append(stream, events);
        }
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, w) => writer(w)));
    await live.stop();
    await live.catchUp();
    const expected = (await f.db.query<{ event_id: string }>('SELECT event_id FROM es_events WHERE stream_id = ANY($1)', [streams])).map(
      (r) => r.event_id,
    );
    expect(expected).toHaveLength(10 * 40 * 2);
    const rows = (await received(handler.subscriptionName)).filter((r) => streams.includes(r.stream_id));
    expectExactlyOnceInStreamOrder(rows, expected);
  });

  it('gives a handler of some event types those only, and moves its checkpoint past the others', async () => {
    const stream = `counter-${randomUUID()}`;
    const handler = Object.assign(new RecordingHandler(`typed-${randomUUID()}`), { eventTypes: ['TestCounterReset'] });
    const wanted: string[] = [];
    for (let i = 0; i < 25; i++) {
      const reset = new CounterReset({ reason: `r${i}` });
      wanted.push(reset.eventId);
      await f.store.append(stream, [new CounterIncremented({ by: i }), reset, new CounterIncremented({ by: -i })]);
    }
    const typed = runner(handler, 10);
    await typed.catchUp();
    const log = await f.store.readAll({ transactionId: '0', globalPosition: '0' }, 1_000_000);
    const checkpoint = await f.db.query<{ t: string; g: string }>(
      'SELECT last_transaction_id::text AS t, last_global_position::text AS g FROM es_subscriptions WHERE name = $1',
      [handler.subscriptionName],
    );
    expect((await received(handler.subscriptionName)).map((r) => r.event_id)).toEqual(wanted);
    const last = log[log.length - 1];
    expect(checkpoint[0]).toEqual({ t: last.transactionId, g: last.globalPosition });

    const window = await f.store.readWindow({ transactionId: '0', globalPosition: '0' }, 9, ['TestCounterReset']);
    expect(window.size).toBe(Math.min(9, log.length));
    expect(window.last).toEqual({ transactionId: log[window.size - 1].transactionId, globalPosition: log[window.size - 1].globalPosition });
    expect(window.events.map((e) => e.eventId)).toEqual(log.slice(0, window.size).filter((e) => e.type === 'TestCounterReset').map((e) => e.eventId));
    expect(window.events.every((e) => e.createdAt instanceof Date && typeof e.data.reason === 'string')).toBe(true);
  });

  it('gives a handler with data filters only the events of a filtered type that pass one of its tests', async () => {
    const stream = `counter-${randomUUID()}`;
    const handler = Object.assign(new RecordingHandler(`filtered-${randomUUID()}`), {
      eventTypes: ['TestCounterReset', 'TestCounterIncremented'],
      eventFilters: { TestCounterReset: [{ contains: { reason: 'kept' } }, { hasKey: 'note' }] },
    });
    const wanted: string[] = [];
    for (let i = 0; i < 6; i++) {
      const kept = new CounterReset({ reason: 'kept' });
      const noted = new CounterReset({ reason: 'other', note: 'x' } as never);
      const increment = new CounterIncremented({ by: i });
      wanted.push(kept.eventId, noted.eventId, increment.eventId);
      await f.store.append(stream, [kept, new CounterReset({ reason: 'dropped' }), noted, increment]);
    }
    const filtered = runner(handler, 5);
    await filtered.catchUp();
    // Of this stream's (the log holds the other tests' events too).
    expect((await received(handler.subscriptionName)).filter((r) => r.stream_id === stream).map((r) => r.event_id)).toEqual(wanted);
    const [checkpoint] = await f.db.query<{ behind: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM es_events e WHERE (e.transaction_id, e.global_position) > (s.last_transaction_id, s.last_global_position)
                         AND e.stream_id = $2) AS behind
         FROM es_subscriptions s WHERE s.name = $1`,
      [handler.subscriptionName, stream],
    );
    expect(checkpoint.behind).toBe(false);
  });

  it("tells a reader's backlog: the events after its position and when the first was written", async () => {
    await f.store.append(`counter-${randomUUID()}`, [new CounterIncremented({ by: 1 }), new CounterIncremented({ by: 2 })]);
    // Every committed event, in the log's order (readAll would stop at the oldest transaction still open on the server).
    const log = (
      await f.db.query<{ transaction_id: string; global_position: string; created_at: Date }>(
        // ORDER BY names the table's columns: the output's transaction_id is text, which sorts 1000 before 999.
        'SELECT e.transaction_id::text, e.global_position::text, e.created_at FROM es_events e ORDER BY e.transaction_id, e.global_position',
      )
    ).map((row) => ({ transactionId: row.transaction_id, globalPosition: row.global_position, createdAt: row.created_at }));
    const fromStart = await f.store.logHead({ transactionId: '0', globalPosition: '0' });
    expect(fromStart).toEqual({ behind: log.length, oldestUnreadAt: log[0].createdAt });
    const last = log[log.length - 1];
    expect(await f.store.logHead(log[log.length - 2])).toEqual({ behind: 1, oldestUnreadAt: last.createdAt });
    expect(await f.store.logHead(last)).toEqual({ behind: 0, oldestUnreadAt: null });
  });

  it('resumes from its checkpoint after a stop, without loss or repeat', async () => {
    const name = `resume-${randomUUID()}`;
    const first = runner(new RecordingHandler(name), 7);
    for (let i = 0; i < 3; i++) expect(await first.processBatch()).toBe('processed');
    expect(await received(name)).toHaveLength(21);
    await f.store.append(`counter-${randomUUID()}`, [new CounterIncremented({ by: 1 })]);
    const second = runner(new RecordingHandler(name), 7); // a new process, same subscription
    await second.catchUp();
    expectExactlyOnceInStreamOrder(await received(name), await allEventIds());
  });

  it('never lets two instances of one subscription process at the same time, and one takes over when the other stops', async () => {
    const name = `exclusive-${randomUUID()}`;
    const a = new RecordingHandler(name, 15);
    const b = new RecordingHandler(name, 15);
    const shared = { active: 0, max: 0 };
    for (const h of [a, b]) {
      const inner = h.handle.bind(h);
      h.handle = async (events, tx) => {
        shared.active++;
        shared.max = Math.max(shared.max, shared.active);
        try {
          await inner(events, tx);
        } finally {
          shared.active--;
        }
      };
    }
    const runnerA = runner(a, 5);
    const runnerB = runner(b, 5);
    runnerA.start();
    runnerB.start();
    try {
      await eventually(() => (a.batches + b.batches >= 6 ? true : undefined), 'six batches between the two instances');
      await runnerA.stop(); // B carries on alone
      await eventually(async () => ((await received(name)).length === (await allEventIds()).length ? true : undefined), 'B to process every event');
    } finally {
      await runnerA.stop();
      await runnerB.stop();
    }
    expect(shared.max).toBe(1);
    expect(b.batches).toBeGreaterThan(0);
    expectExactlyOnceInStreamOrder(await received(name), await allEventIds());
  });

  it('tells its handler which batches it processes a second time after a rewind, until it is past where it had got', async () => {
    const name = `rewind-${randomUUID()}`;
    const seen: { events: string[]; replay: boolean }[] = [];
    const handler: SubscriptionHandler = {
      subscriptionName: name,
      async handle(events: RecordedEvent[], _tx: SqlExecutor, batch?: BatchContext) {
        seen.push({ events: events.map((e) => e.eventId), replay: batch?.replay ?? false });
      },
    };
    const r = runner(handler, 4);
    const stream = `counter-${randomUUID()}`;
    await f.store.append(stream, [new CounterIncremented({ by: 1 })]);
    const [{ since }] = await f.db.query<{ since: Date }>('SELECT now() AS since');
    const again: string[] = [];
    for (let i = 0; i < 10; i++) {
      const event = new CounterIncremented({ by: i });
      again.push(event.eventId);
      await f.store.append(stream, [event]);
    }
    await r.catchUp();
    expect(seen.every((batch) => !batch.replay)).toBe(true);

    seen.length = 0;
    await r.rewind(since);
    await r.catchUp();
    expect(seen.every((batch) => batch.replay)).toBe(true);
    expect(seen.flatMap((batch) => batch.events)).toEqual(again);

    seen.length = 0;
    const later = new CounterIncremented({ by: 100 });
    await f.store.append(stream, [later]);
    await r.catchUp();
    expect(seen).toEqual([{ events: [later.eventId], replay: false }]);
    const [mark] = await f.db.query('SELECT replay_until_transaction_id, replay_until_global_position FROM es_subscriptions WHERE name = $1', [name]);
    expect(mark).toEqual({ replay_until_transaction_id: null, replay_until_global_position: null });
  });

  it('replays from the start after a reset', async () => {
    const name = `reset-${randomUUID()}`;
    const r = runner(new RecordingHandler(name), 500);
    await r.catchUp();
    const before = (await received(name)).map((x) => x.event_id);
    await r.reset();
    expect(await received(name)).toHaveLength(0);
    await r.catchUp();
    expect((await received(name)).map((x) => x.event_id)).toEqual(before);
  });
});
