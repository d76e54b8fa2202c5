import type { DiscoveryService, Reflector } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../../src/config/app-config';
import type { SqlExecutor } from '../../src/database/database';
import { SubscriptionManager, type RecordedEvent, type SubscriptionHandler } from '../../src/event-store';
import { eventually } from '../support/eventually';
import { createStoreFixture, type StoreFixture } from '../support/sql';
import { CounterIncremented } from '../support/test-events';

/** Records what it receives, and which instance received it, inside the subscription's transaction. */
class RecordingHandler implements SubscriptionHandler {
  readonly partitionedByStream = true;
  constructor(
    readonly subscriptionName: string,
    private readonly instance: string,
  ) {}

  async handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    await tx.query(
      `INSERT INTO test_partitioned (subscription, instance, event_id, stream_id, stream_position)
       SELECT $1, $2, * FROM unnest($3::uuid[], $4::text[], $5::bigint[])`,
      [this.subscriptionName, this.instance, events.map((e) => e.eventId), events.map((e) => e.streamId), events.map((e) => e.streamPosition)],
    );
  }

  async reset(tx: SqlExecutor): Promise<void> {
    await tx.query('DELETE FROM test_partitioned WHERE subscription = $1', [this.subscriptionName]);
  }
}

/**
 * Subscriptions cut by stream (SUBSCRIPTION_PARTITIONS): several instances, each a
 * SubscriptionManager of its own on the same database, share the partitions through leases.
 */
describe('subscriptions cut in partitions by stream', () => {
  let f: StoreFixture;
  const managers: SubscriptionManager[] = [];

  beforeAll(async () => {
    f = await createStoreFixture(40);
    await f.db.query(`CREATE TABLE test_partitioned (
      seq bigserial PRIMARY KEY, subscription text, instance text, event_id uuid, stream_id text, stream_position bigint)`);
  });
  afterEach(async () => {
    for (const manager of managers.splice(0)) await manager.beforeApplicationShutdown();
  });
  afterAll(() => f.close());

  /** An instance running one subscription, cut in `partitions`. */
  async function startInstance(subscription: string, instance: string, partitions: number, leaseMs = 6000): Promise<SubscriptionManager> {
    const config = AppConfig.fromEnv({
      SUBSCRIPTION_PARTITIONS: String(partitions),
      SUBSCRIPTION_LEASE_MS: String(leaseMs),
      SUBSCRIPTION_POLL_MS: '20',
      SUBSCRIPTION_BATCH_SIZE: '25',
    });
    const manager = new SubscriptionManager({} as DiscoveryService, {} as Reflector, f.db, f.store, config);
    manager.register(new RecordingHandler(subscription, instance));
    managers.push(manager);
    await manager.startAll();
    return manager;
  }

  async function append(streams: string[], perStream: number): Promise<void> {
    for (let i = 0; i < perStream; i++) {
      await Promise.all(streams.map((stream) => f.store.append(stream, [new CounterIncremented({ by: i })])));
    }
  }

  const received = (subscription: string) =>
    f.db.query<{ instance: string; event_id: string; stream_id: string; stream_position: string }>(
      'SELECT instance, event_id, stream_id, stream_position FROM test_partitioned WHERE subscription = $1 ORDER BY seq',
      [subscription],
    );

  async function expectEachOnceInStreamOrder(subscription: string, streams: string[]): Promise<void> {
    const expected = await f.db.query<{ event_id: string }>('SELECT event_id FROM es_events WHERE stream_id = ANY($1)', [streams]);
    const rows = await eventually(async () => {
      const got = (await received(subscription)).filter((row) => streams.includes(row.stream_id));
      return got.length >= expected.length ? got : undefined;
    }, `${subscription} to receive ${expected.length} events`);
    expect(new Set(rows.map((row) => row.event_id)).size).toBe(rows.length);
    expect(rows).toHaveLength(expected.length);
    const lastByStream = new Map<string, number>();
    for (const row of rows) {
      expect(Number(row.stream_position)).toBe((lastByStream.get(row.stream_id) ?? 0) + 1);
      lastByStream.set(row.stream_id, Number(row.stream_position));
    }
  }

  const streamsNamed = (count: number) => Array.from({ length: count }, () => `counter-${randomUUID()}`);

  it('spreads the partitions over the instances, each event once and every stream in order', async () => {
    const subscription = `spread-${randomUUID()}`;
    const instances = await Promise.all(['a', 'b', 'c'].map((name) => startInstance(subscription, name, 6)));
    // Each of three instances settles on two of the six partitions.
    await eventually(() => {
      const held = instances.map((manager) => manager.partitionsHeld()[subscription]?.length ?? 0);
      return held.every((count) => count === 2) ? held : undefined;
    }, 'the six partitions to be shared two by two');
    const all = instances.flatMap((manager) => manager.partitionsHeld()[subscription]);
    expect(new Set(all).size).toBe(6);

    const streams = streamsNamed(30);
    await append(streams, 8);
    await expectEachOnceInStreamOrder(subscription, streams);
    // Every instance did a share of the work. (A stream may still move from one instance to another
    // when a lease goes unrenewed on a busy machine; the checks above hold whatever moves.)
    const rows = (await received(subscription)).filter((row) => streams.includes(row.stream_id));
    expect(new Set(rows.map((row) => row.instance))).toEqual(new Set(['a', 'b', 'c']));

    // /health's lag sums the partitions.
    expect((await instances[0].lag())[subscription].eventsBehind).toBe(0);
  });

  it('gives a stopped instance\'s partitions to the others, and takes its share back when it returns', async () => {
    const subscription = `handover-${randomUUID()}`;
    const a = await startInstance(subscription, 'a', 4);
    const b = await startInstance(subscription, 'b', 4);
    await eventually(() => (a.partitionsHeld()[subscription]?.length === 2 && b.partitionsHeld()[subscription]?.length === 2 ? true : undefined), 'two partitions each');

    await b.beforeApplicationShutdown();
    managers.splice(managers.indexOf(b), 1);
    await eventually(() => (a.partitionsHeld()[subscription]?.length === 4 ? true : undefined), 'the remaining instance to take all four');
    const streams = streamsNamed(20);
    await append(streams, 5);
    await expectEachOnceInStreamOrder(subscription, streams);

    const c = await startInstance(subscription, 'c', 4);
    await eventually(() => (a.partitionsHeld()[subscription]?.length === 2 && c.partitionsHeld()[subscription]?.length === 2 ? true : undefined), 'the newcomer to get its two');
    const more = streamsNamed(20);
    await append(more, 5);
    await expectEachOnceInStreamOrder(subscription, [...streams, ...more]);
  });

  it('changes the number of partitions without processing anything twice or skipping anything', async () => {
    const subscription = `repartition-${randomUUID()}`;
    const streams = streamsNamed(24);
    const first = await startInstance(subscription, 'one', 1);
    await append(streams, 3);
    await expectEachOnceInStreamOrder(subscription, streams);
    await first.beforeApplicationShutdown();
    managers.splice(managers.indexOf(first), 1);

    await append(streams, 2);
    await startInstance(subscription, 'four', 4);
    await append(streams, 2);
    await expectEachOnceInStreamOrder(subscription, streams);
    await managers.pop()!.beforeApplicationShutdown();

    // Back to two: the four parts stand at different points; the ones behind are brought level first.
    await append(streams, 2);
    const two = await startInstance(subscription, 'two', 2);
    await append(streams, 1);
    await expectEachOnceInStreamOrder(subscription, streams);
    const names = (await f.db.query<{ name: string }>(`SELECT name FROM es_subscriptions WHERE starts_with(name, $1) ORDER BY name`, [subscription])).map((r) => r.name);
    expect(names).toEqual([`${subscription}#1/2`, `${subscription}#2/2`]);

    // A reset clears the output once and every part starts again from the beginning.
    await two.runner(subscription).reset();
    await expectEachOnceInStreamOrder(subscription, streams);
  });

  it('an instance with another partition count waits rather than process the log a second time', async () => {
    const subscription = `mismatch-${randomUUID()}`;
    const streams = streamsNamed(10);
    await startInstance(subscription, 'four', 4);
    await append(streams, 2);
    await expectEachOnceInStreamOrder(subscription, streams);
    // An instance configured without partitions, started while the other runs: the checkpoints are
    // taken over (the four-part instance then finds its own gone and waits, as the log says).
    const single = await startInstance(subscription, 'single', 1);
    await append(streams, 2);
    await expectEachOnceInStreamOrder(subscription, streams);
    expect(single.runner(subscription).count).toBe(1);
  });

  it('starts none of its subscriptions once shut down, even when the shutdown comes while they are starting', async () => {
    const config = AppConfig.fromEnv({ SUBSCRIPTION_POLL_MS: '20' });
    const stopped = [`stopped-early-${randomUUID()}`, `stopped-early-${randomUUID()}`];
    const early = new SubscriptionManager({} as DiscoveryService, {} as Reflector, f.db, f.store, config);
    for (const name of stopped) early.register(new RecordingHandler(name, 'early'));
    // Start-up runs in the background in the service (onApplicationBootstrap does not wait for it).
    const starting = early.startAll();
    await early.beforeApplicationShutdown();
    await starting;

    const control = `control-${randomUUID()}`;
    const streams = streamsNamed(4);
    await startInstance(control, 'control', 1);
    await append(streams, 2);
    await expectEachOnceInStreamOrder(control, streams);
    for (const name of stopped) expect(await received(name)).toEqual([]);
  });
});
