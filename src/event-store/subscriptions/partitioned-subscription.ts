import { Logger } from '@nestjs/common';
import type { Database, SqlExecutor } from '../../database/database';
import { compareLogPositions, EventStore, LOG_START, type LogPosition, type StreamPartition } from '../event-store';
import { lockSubscriptions, subscriptionCheckpoints, writeCheckpoint } from './checkpoint';
import type { SubscriptionHandler } from './subscription';
import { SubscriptionRunner, type BatchResult, type SubscriptionFailure, type SubscriptionRunnerOptions } from './subscription-runner';

export interface SubscriptionLag {
  eventsBehind: number;
  secondsBehind: number;
  /** Present while this instance's batches of it fail one after the other (the part failing longest, if cut). */
  failing?: SubscriptionFailure;
}

/** Parts a handler's subscription is cut in: SUBSCRIPTION_PARTITIONS for one that allows it, else one. */
export function partitionCountOf(handler: SubscriptionHandler, configured: number): number {
  return handler.partitionedByStream ? Math.max(1, configured) : 1;
}

/**
 * One subscription as `count` runners, one per partition of the log by stream id, each with its
 * own checkpoint and lock (a subscription that is not cut has one runner, under its own name).
 * Which runners of it this process runs is decided by leases (SubscriptionLeases) when it is cut,
 * by the runners' locks otherwise.
 */
export class PartitionedSubscription {
  private readonly logger: Logger;
  readonly runners: readonly SubscriptionRunner[];

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    readonly handler: SubscriptionHandler,
    readonly count: number,
    private readonly options: Omit<SubscriptionRunnerOptions, 'partition'>,
  ) {
    this.logger = new Logger(`Subscription ${handler.subscriptionName}`);
    this.runners = Array.from({ length: count }, (_, index) => new SubscriptionRunner(db, store, handler, { ...options, partition: { index, count } }));
  }

  get name(): string {
    return this.handler.subscriptionName;
  }

  checkpointNames(): string[] {
    return this.runners.map((runner) => runner.name);
  }

  /** One batch of each partition: `processed` when any did work, else `locked-elsewhere` when any was held elsewhere. */
  async processBatch(): Promise<BatchResult> {
    const results: BatchResult[] = [];
    for (const runner of this.runners) results.push(await runner.processBatch());
    if (results.includes('processed')) return 'processed';
    return results.includes('locked-elsewhere') ? 'locked-elsewhere' : 'caught-up';
  }

  /** Processes every partition up to the visible end of the log; returns the batches run. */
  async catchUp(timeoutMs?: number): Promise<number> {
    let batches = 0;
    for (const runner of this.runners) batches += await runner.catchUp(timeoutMs);
    return batches;
  }

  start(index?: number): void {
    for (const runner of index === undefined ? this.runners : [this.runners[index]]) runner.start();
  }

  async stop(index?: number): Promise<void> {
    await Promise.all((index === undefined ? this.runners : [this.runners[index]]).map((runner) => runner.stop()));
  }

  poke(delayMs?: number): void {
    for (const runner of this.runners) runner.poke(delayMs);
  }

  /** Clears the handler's output once and moves every partition's checkpoint back to the start of the log. */
  async reset(): Promise<void> {
    await this.db.transaction(async (tx) => {
      const existing = await subscriptionCheckpoints(tx, this.name);
      await lockSubscriptions(tx, [...existing.map((checkpoint) => checkpoint.name), ...this.checkpointNames()]);
      await this.handler.reset?.(tx);
      await tx.query(`DELETE FROM es_subscriptions WHERE name = $1 OR starts_with(name, $1 || '#')`, [this.name]);
      for (const name of this.checkpointNames()) await writeCheckpoint(tx, name, LOG_START, 0);
    });
  }

  /** Moves each partition's checkpoint back to just before its first event written at or after `since`. */
  async rewind(since: Date): Promise<LogPosition[]> {
    const positions: LogPosition[] = [];
    for (const runner of this.runners) positions.push(await runner.rewind(since));
    return positions;
  }

  /** How far behind: the events of every partition still to process, and the oldest of them. */
  async lag(): Promise<SubscriptionLag> {
    let eventsBehind = 0;
    let oldestUnreadAt: Date | null = null;
    const checkpoints = new Map((await subscriptionCheckpoints(this.db, this.name)).map((checkpoint) => [checkpoint.name, checkpoint.position]));
    for (const runner of this.runners) {
      const head = await this.store.logHead(checkpoints.get(runner.name) ?? LOG_START, this.db, this.count > 1 ? runner.partition : undefined);
      eventsBehind += head.behind;
      if (head.oldestUnreadAt && (!oldestUnreadAt || head.oldestUnreadAt < oldestUnreadAt)) oldestUnreadAt = head.oldestUnreadAt;
    }
    const secondsBehind = oldestUnreadAt ? Math.max(0, (Date.now() - oldestUnreadAt.getTime()) / 1000) : 0;
    const failing = this.runners
      .map((runner) => runner.failure())
      .filter((failure) => failure !== undefined)
      .sort((a, b) => a.since.localeCompare(b.since))[0];
    return { eventsBehind, secondsBehind: Math.round(secondsBehind * 1000) / 1000, ...(failing && { failing }) };
  }

  /**
   * Takes over the checkpoints of another partitioning (SUBSCRIPTION_PARTITIONS changed), in one
   * transaction under every checkpoint's lock: the old parts that are behind the furthest one
   * are first brought up to it with the old cut, so that every event up to there is processed
   * exactly once, then every new part starts from there. Nothing to do when the checkpoints are
   * already this partitioning's, or when there are none.
   */
  async adoptPartitioning(): Promise<void> {
    const pending = (await subscriptionCheckpoints(this.db, this.name)).filter((checkpoint) => checkpoint.count !== this.count);
    if (pending.length === 0) return;
    await this.db.transaction(async (tx) => {
      await lockSubscriptions(tx, [...pending.map((checkpoint) => checkpoint.name), ...this.checkpointNames()]);
      // Read again under the locks: another instance may have done it meanwhile.
      const existing = await subscriptionCheckpoints(tx, this.name);
      const old = existing.filter((checkpoint) => checkpoint.count !== this.count);
      if (old.length === 0) return;
      const target = old.map((checkpoint) => checkpoint.position).reduce((a, b) => (compareLogPositions(a, b) >= 0 ? a : b));
      let broughtUp = 0;
      for (const checkpoint of old) {
        const index = checkpoint.count > 1 ? Number(checkpoint.name.slice(checkpoint.name.lastIndexOf('#') + 1, checkpoint.name.lastIndexOf('/'))) - 1 : 0;
        broughtUp += await this.processUpTo(tx, checkpoint.position, target, checkpoint.count > 1 ? { index, count: checkpoint.count } : undefined);
      }
      await tx.query(`DELETE FROM es_subscriptions WHERE name = $1 OR starts_with(name, $1 || '#')`, [this.name]);
      for (const name of this.checkpointNames()) await writeCheckpoint(tx, name, target, 0);
      this.logger.log({
        message: `cut in ${this.count} part(s) instead of ${old[0].count}: ${broughtUp} event(s) processed to bring the old parts level`,
        subscription: this.name,
        partitions: this.count,
        previousPartitions: old[0].count,
      });
    });
  }

  /** Hands the handler one old partition's events after `from` up to `target` (inclusive); returns how many. */
  private async processUpTo(tx: SqlExecutor, from: LogPosition, target: LogPosition, partition: StreamPartition | undefined): Promise<number> {
    const types = this.handler.eventTypes;
    let after = from;
    let processed = 0;
    while (compareLogPositions(after, target) < 0) {
      const window = types
        ? await this.store.readWindow(after, this.options.batchSize, types, tx, partition, this.handler.eventFilters)
        : await this.store.readAll(after, this.options.batchSize, tx, partition).then((events) => ({
            events,
            size: events.length,
            last: events.length ? { transactionId: events[events.length - 1].transactionId, globalPosition: events[events.length - 1].globalPosition } : null,
          }));
      const upToTarget = window.events.filter((event) => compareLogPositions(event, target) <= 0);
      if (upToTarget.length > 0) await this.handler.handle(upToTarget, tx);
      processed += upToTarget.length;
      if (!window.last || window.size < this.options.batchSize) break;
      after = window.last;
    }
    return processed;
  }
}
