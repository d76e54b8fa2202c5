import { randomUUID } from 'node:crypto';
import { appendNewStreams, deleteStreams, LOG_START } from '../../src/event-store';
import { eventually } from '../support/eventually';
import { createStoreFixture, type StoreFixture } from '../support/sql';
import { CounterIncremented } from '../support/test-events';

describe('appendNewStreams and deleteStreams', () => {
  let f: StoreFixture;
  beforeAll(async () => (f = await createStoreFixture()));
  afterAll(() => f.close());

  const newStream = (by: number) => {
    const eventId = randomUUID();
    return { streamId: `counter-${eventId}`, eventId, dataJson: JSON.stringify({ by }) };
  };

  it('creates each stream at version 1 with its event, in the log in call order, in one statement', async () => {
    const streams = [newStream(1), newStream(2), newStream(3)];
    await appendNewStreams(f.db, CounterIncremented, streams);
    for (const [index, { streamId, eventId }] of streams.entries()) {
      expect(await f.store.streamVersion(streamId)).toBe(1);
      const [event] = await f.store.readStream(streamId);
      expect(event).toBeInstanceOf(CounterIncremented);
      expect(event).toMatchObject({ eventId, data: { by: index + 1 }, recorded: { streamPosition: 1 } });
    }
    // Readers see a commit once every transaction older than it has ended, server-wide: another
    // database's long transaction on the same server holds the log back until it does.
    const log = await eventually(async () => {
      const read = (await f.store.readAll(LOG_START, 100_000)).filter((event) => streams.some((s) => s.eventId === event.eventId));
      return read.length === streams.length ? read : undefined;
    }, 'the new streams in the log');
    expect(log.map((event) => event.eventId)).toEqual(streams.map((s) => s.eventId));
    expect(new Set(log.map((event) => event.transactionId)).size).toBe(1);
  });

  it('writes nothing when one stream exists already', async () => {
    const existing = newStream(1);
    await appendNewStreams(f.db, CounterIncremented, [existing]);
    const fresh = newStream(2);
    await expect(appendNewStreams(f.db, CounterIncremented, [fresh, { ...existing, eventId: randomUUID() }])).rejects.toThrow(/duplicate key/);
    expect(await f.store.streamVersion(fresh.streamId)).toBe(0);
  });

  it('deletes whole streams with their events', async () => {
    const [kept, gone] = [newStream(1), newStream(2)];
    await appendNewStreams(f.db, CounterIncremented, [kept, gone]);
    expect(await f.db.transaction((tx) => deleteStreams(tx, [gone.streamId]))).toBe(1);
    expect(await f.store.readStream(gone.streamId)).toEqual([]);
    expect(await f.store.streamVersion(gone.streamId)).toBe(0);
    expect(await f.store.readStream(kept.streamId)).toHaveLength(1);
  });
});
