import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { listLogPartitions } from '../../src/event-store';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { createStoreFixture, type StoreFixture } from '../support/sql';
import { CounterIncremented } from '../support/test-events';

/** Every event, in log order, as the columns readers see. */
async function log(f: StoreFixture): Promise<string[]> {
  const rows = await f.db.query<{ row: string }>(
    `SELECT concat_ws(' ', transaction_id, global_position, stream_id, stream_position, event_id, event_type, data::text, created_at) AS row
       FROM es_events ORDER BY transaction_id, global_position`,
  );
  return rows.map((r) => r.row);
}

/**
 * The migration that partitions es_events, on a database that already holds events: taken back
 * (to the plain table) and applied again, the log is the same, the events already there sit in a
 * partition of their own for each retired kind, and appends go on as before.
 */
describe('partitioning es_events on a database with events', () => {
  let f: StoreFixture;
  let migrations: DataSource;

  beforeAll(async () => {
    f = await createStoreFixture();
    migrations = new DataSource(dataSourceOptions(f.database.url, 2, 60_000));
    await migrations.initialize();
  });
  afterAll(async () => {
    await migrations?.destroy();
    await f?.close();
  });

  it('keeps every event through down and up, and appends go on', async () => {
    const message = `whatsapp_message-${randomUUID()}`;
    const other = `counter-${randomUUID()}`;
    await f.store.append(message, [new CounterIncremented({ by: 1 }), new CounterIncremented({ by: 2 })]);
    await f.store.append(other, [new CounterIncremented({ by: 3 })]);
    const before = await log(f);

    // The migrations after it first, then the one that partitions the log.
    for (;;) {
      const [last] = await f.db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id DESC LIMIT 1');
      await migrations.undoLastMigration({ transaction: 'each' });
      if (last.name === 'PartitionedEventLog1764001800000') break;
    }
    const [{ kind }] = await f.db.query<{ kind: string }>(`SELECT relkind::text AS kind FROM pg_class WHERE relname = 'es_events'`);
    expect(kind).toBe('r');
    expect(await log(f)).toEqual(before);
    // Written while the table is plain: it is carried over on the way up.
    await f.store.append(message, [new CounterIncremented({ by: 4 })]);
    const plain = await log(f);

    await migrations.runMigrations({ transaction: 'each' });
    const [{ partitioned }] = await f.db.query<{ partitioned: string }>(`SELECT relkind::text AS partitioned FROM pg_class WHERE relname = 'es_events'`);
    expect(partitioned).toBe('p');
    expect(await log(f)).toEqual(plain);
    // What was there before the present span gets a partition of its own (empty here: the events are from now).
    const history = (await listLogPartitions(f.db, { parent: 'es_events_messages' })).find((p) => p.from === null);
    expect(history?.tableName).toBe('es_events_messages_history');
    const [{ messages, kept }] = await f.db.query<{ messages: number; kept: number }>(
      'SELECT (SELECT count(*)::int FROM es_events_messages) AS messages, (SELECT count(*)::int FROM es_events_kept) AS kept',
    );
    expect({ messages, kept }).toEqual({ messages: 3, kept: 1 });

    // Idempotent appends still find the stored ids; versions continue.
    const again = new CounterIncremented({ by: 5 });
    expect(await f.store.append(message, [again])).toEqual({ version: 4, appended: 1 });
    expect(await f.store.append(message, [again])).toEqual({ version: 4, appended: 0 });
    expect(await f.store.append(other, [new CounterIncremented({ by: 6 })], { expectedVersion: 1 })).toEqual({ version: 2, appended: 1 });
    expect((await f.store.readStream(message)).map((e) => (e.data as { by: number }).by)).toEqual([1, 2, 4, 5]);
  });
});
