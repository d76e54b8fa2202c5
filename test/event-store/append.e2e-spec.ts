import { randomUUID } from 'node:crypto';
import { StreamVersionConflictError } from '../../src/event-store';
import { createStoreFixture, type StoreFixture } from '../support/sql';
import { CounterIncremented } from '../support/test-events';

describe('EventStore.append', () => {
  let f: StoreFixture;
  beforeAll(async () => (f = await createStoreFixture()));
  afterAll(() => f.close());

  const positions = async (streamId: string) =>
    (await f.db.query<{ p: string }>('SELECT stream_position AS p FROM es_events WHERE stream_id = $1 ORDER BY 1', [streamId])).map((r) =>
      Number(r.p),
    );

  it('appends all events of one call together and numbers them from 1', async () => {
    const stream = `counter-${randomUUID()}`;
    const result = await f.store.append(stream, [new CounterIncremented({ by: 1 }), new CounterIncremented({ by: 2 })], {
      expectedVersion: 'no_stream',
    });
    expect(result).toEqual({ version: 2, appended: 2 });
    const events = await f.store.readStream(stream);
    expect(events.map((e) => (e as CounterIncremented).data.by)).toEqual([1, 2]);
    expect(events[0]).toBeInstanceOf(CounterIncremented);
    expect(events[1].recorded?.streamPosition).toBe(2);
  });

  it('lets exactly one of two concurrent appends at the same expected version win', async () => {
    const stream = `counter-${randomUUID()}`;
    await f.store.append(stream, [new CounterIncremented({ by: 1 })]);
    for (let round = 0; round < 20; round++) {
      const version = await f.store.streamVersion(stream);
      const outcomes = await Promise.allSettled([
        f.store.append(stream, [new CounterIncremented({ by: 1 }), new CounterIncremented({ by: 1 })], { expectedVersion: version }),
        f.store.append(stream, [new CounterIncremented({ by: 2 })], { expectedVersion: version }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(StreamVersionConflictError);
      expect(rejected.reason.actual).toBeGreaterThan(version);
    }
    const stored = await positions(stream);
    expect(stored).toEqual(stored.map((_, i) => i + 1)); // no gap, no duplicate
    expect(await f.store.streamVersion(stream)).toBe(stored.length);
  });

  it('lets exactly one of many concurrent "stream must not exist" appends create the stream', async () => {
    const stream = `counter-${randomUUID()}`;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, () => f.store.append(stream, [new CounterIncremented({ by: 1 })], { expectedVersion: 'no_stream' })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(await positions(stream)).toEqual([1]);
  });

  it('rejects an exact expected version on a stream that does not exist', async () => {
    await expect(f.store.append(`counter-${randomUUID()}`, [new CounterIncremented({ by: 1 })], { expectedVersion: 3 })).rejects.toThrow(
      StreamVersionConflictError,
    );
  });

  it('keeps "any" appends from concurrent writers gap-free', async () => {
    const stream = `counter-${randomUUID()}`;
    await Promise.all(Array.from({ length: 50 }, () => f.store.append(stream, [new CounterIncremented({ by: 1 })])));
    expect(await positions(stream)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('stores an event id once, whether appended again later or concurrently', async () => {
    const stream = `counter-${randomUUID()}`;
    const event = new CounterIncremented({ by: 5 });
    expect(await f.store.append(stream, [event])).toEqual({ version: 1, appended: 1 });
    expect(await f.store.append(stream, [event])).toEqual({ version: 1, appended: 0 });
    // Idempotent even when the retry carries a stale expected version.
    expect(await f.store.append(stream, [event], { expectedVersion: 'no_stream' })).toEqual({ version: 1, appended: 0 });

    const racing = new CounterIncremented({ by: 6 });
    const results = await Promise.all(Array.from({ length: 10 }, () => f.store.append(stream, [racing])));
    expect(results.map((r) => r.appended).sort()).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

    const mixed = await f.store.append(stream, [event, new CounterIncremented({ by: 7 })]);
    expect(mixed).toEqual({ version: 3, appended: 1 });
    const count = await f.db.query<{ n: string }>('SELECT count(*) AS n FROM es_events WHERE event_id = $1', [event.eventId]);
    expect(Number(count[0].n)).toBe(1);
  });

  it('commits with the caller transaction, or not at all', async () => {
    const stream = `counter-${randomUUID()}`;
    await expect(
      f.db.transaction(async (tx) => {
        await f.store.append(stream, [new CounterIncremented({ by: 1 })], { tx });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await f.store.readStream(stream)).toEqual([]);
  });
});

describe('EventStore.appendToStreams', () => {
  let f: StoreFixture;
  beforeAll(async () => (f = await createStoreFixture()));
  afterAll(() => f.close());

  it('appends to many streams in one statement, skipping ids already stored', async () => {
    const a = `counter-${randomUUID()}`;
    const b = `counter-${randomUUID()}`;
    const stored = new CounterIncremented({ by: 1 });
    await f.store.append(a, [stored]);
    const fresh = [new CounterIncremented({ by: 2 }), new CounterIncremented({ by: 3 })];
    const result = await f.store.appendToStreams([
      { streamId: a, events: [stored, fresh[0]] },
      { streamId: b, events: [fresh[1]], expectedVersion: 'no_stream' },
    ]);
    expect([...result.alreadyStored]).toEqual([stored.eventId]);
    expect((await f.store.readStream(a)).map((e) => e.eventId)).toEqual([stored.eventId, fresh[0].eventId]);
    expect((await f.store.readStream(b)).map((e) => e.eventId)).toEqual([fresh[1].eventId]);
  });

  it('keeps nothing of the statement when one stream conflicts', async () => {
    const a = `counter-${randomUUID()}`;
    const b = `counter-${randomUUID()}`;
    await f.store.append(b, [new CounterIncremented({ by: 1 })]);
    await expect(
      f.db.transaction((tx) =>
        f.store.appendToStreams(
          [
            { streamId: a, events: [new CounterIncremented({ by: 1 })] },
            { streamId: b, events: [new CounterIncremented({ by: 2 })], expectedVersion: 'no_stream' },
          ],
          tx,
        ),
      ),
    ).rejects.toThrow(StreamVersionConflictError);
    expect(await f.store.readStream(a)).toEqual([]);
    expect(await f.store.streamVersion(b)).toBe(1);
  });

  const positionsOf = async (streamId: string) =>
    (await f.db.query<{ p: string }>('SELECT stream_position AS p FROM es_events WHERE stream_id = $1 ORDER BY 1', [streamId])).map((r) =>
      Number(r.p),
    );

  it('continues each stream from its version and checks exact expected versions', async () => {
    const a = `counter-${randomUUID()}`;
    const b = `counter-${randomUUID()}`;
    await f.store.append(a, [new CounterIncremented({ by: 1 }), new CounterIncremented({ by: 2 })]);
    await f.store.appendToStreams([
      { streamId: b, events: [new CounterIncremented({ by: 3 })], expectedVersion: 'no_stream' },
      { streamId: a, events: [new CounterIncremented({ by: 4 }), new CounterIncremented({ by: 5 })], expectedVersion: 2 },
    ]);
    expect(await positionsOf(a)).toEqual([1, 2, 3, 4]);
    expect(await f.store.streamVersion(a)).toBe(4);
    expect(await f.store.streamVersion(b)).toBe(1);
    await expect(f.store.appendToStreams([{ streamId: a, events: [new CounterIncremented({ by: 6 })], expectedVersion: 2 }])).rejects.toThrow(
      StreamVersionConflictError,
    );
  });

  it('creates no stream for an exact expected version on a stream that does not exist', async () => {
    const missing = `counter-${randomUUID()}`;
    await expect(f.store.appendToStreams([{ streamId: missing, events: [new CounterIncremented({ by: 1 })], expectedVersion: 2 }])).rejects.toThrow(
      StreamVersionConflictError,
    );
    expect(await f.db.query('SELECT 1 FROM es_streams WHERE stream_id = $1', [missing])).toEqual([]);
  });

  it('keeps overlapping concurrent multi-stream appends gap-free', async () => {
    const streams = Array.from({ length: 5 }, () => `counter-${randomUUID()}`);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        f.store.appendToStreams([
          { streamId: streams[i % 5], events: [new CounterIncremented({ by: i })] },
          { streamId: streams[(i + 2) % 5], events: [new CounterIncremented({ by: i }), new CounterIncremented({ by: i })] },
        ]),
      ),
    );
    for (const stream of streams) expect(await positionsOf(stream)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it('fails as a serialization failure when a later transaction appended to the stream first', async () => {
    const stream = `counter-${randomUUID()}`;
    await f.store.append(stream, [new CounterIncremented({ by: 1 })]);
    const older = await f.db.pool.connect();
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()'); // takes its transaction id now
      await f.store.appendToStreams([{ streamId: stream, events: [new CounterIncremented({ by: 2 })] }]); // a younger transaction, committed
      await expect(
        older.query('SELECT * FROM es_append_many($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
          [stream],
          ['counter'],
          [-1],
          [1],
          [randomUUID()],
          ['TestCounterIncremented'],
          [1],
          '[{"by": 3}]',
          '[{}]',
        ]),
      ).rejects.toMatchObject({ code: '40001' });
    } finally {
      await older.query('ROLLBACK');
      older.release();
    }
    expect(await positionsOf(stream)).toEqual([1, 2]);
  });
});
