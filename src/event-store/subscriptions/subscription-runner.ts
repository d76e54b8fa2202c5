import { Logger } from '@nestjs/common';
import type { Database, SqlExecutor } from '../../database/database';
import { PatientDeadline } from '../../common/patient-deadline';
import { compareLogPositions, EventStore, LOG_START, type LogPosition, type LogWindow, type StreamPartition } from '../event-store';
import {
  lockSubscription,
  markReplay,
  partitionCheckpointName,
  readCheckpointState,
  subscriptionCheckpoints,
  tryLockSubscription,
  writeCheckpoint,
} from './checkpoint';
import type { SubscriptionHandler } from './subscription';

export interface SubscriptionRunnerOptions {
  batchSize: number;
  pollIntervalMs: number;
  /** Upper bound of the wait after an error, doubled from pollIntervalMs. */
  maxRetryDelayMs?: number;
  /**
   * How long a poke (a NOTIFY of new events) waits before the next batch is read, so that the
   * commits of a busy moment are read as one batch rather than one batch each. 0: at once.
   */
  notifyDelayMs?: number;
  /** The part of the log this runner reads (see SubscriptionHandler.partitionedByStream); all of it by default. */
  partition?: StreamPartition;
}

export type BatchResult = 'processed' | 'caught-up' | 'locked-elsewhere';

function samePosition(a: LogPosition, b: LogPosition): boolean {
  return a.transactionId === b.transactionId && a.globalPosition === b.globalPosition;
}

/**
 * Runs one subscription: reads the log after its checkpoint in commit-safe order and hands each
 * batch to the handler, in one transaction with the checkpoint update, under a transaction-level
 * advisory lock so that two processes never work on the same subscription at once (another one
 * simply takes over the next batch when this one stops).
 */
/** A subscription's batches failing one after the other (SubscriptionRunner.failure). */
export interface SubscriptionFailure {
  since: string;
  attempts: number;
  error: string;
}

export class SubscriptionRunner {
  private readonly logger: Logger;
  private readonly wanted?: ReadonlySet<string>;
  private running = false;
  private loop?: Promise<void>;
  private wake?: (delayMs: number) => void;
  /** A poke arrived while a batch was being processed: sleep no longer than this (ms) after it. */
  private pokedWhileBusy?: number;
  /** Events read by the last batch. */
  private lastBatchSize = 0;
  private consecutiveErrors = 0;
  /** Since when batches fail one after the other, and the last one's error: cleared by a batch that succeeds. */
  private failingSince?: Date;
  private lastError?: string;
  /** The batch after the one being handled, being read already (see processBatch). */
  private prefetched?: { after: LogPosition; window: Promise<LogWindow | undefined> };
  /** The checkpoint's name: the subscription's, or one partition's of it. */
  readonly name: string;
  readonly partition: StreamPartition;
  private refusedOtherPartitioning = false;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    readonly handler: SubscriptionHandler,
    private readonly options: SubscriptionRunnerOptions,
  ) {
    this.partition = options.partition ?? { index: 0, count: 1 };
    this.name = partitionCheckpointName(handler.subscriptionName, this.partition);
    this.logger = new Logger(`Subscription ${this.name}`);
    this.wanted = handler.eventTypes ? new Set(handler.eventTypes) : undefined;
  }

  /** Processes at most one batch. */
  async processBatch(): Promise<BatchResult> {
    const prefetched = this.prefetched;
    this.prefetched = undefined;
    return this.db.transaction(async (tx) => {
      if (!(await tryLockSubscription(tx, this.name))) return 'locked-elsewhere';
      // Nothing has been written in this transaction yet, so it holds no transaction id and
      // does not hold back the visibility horizon it reads with.
      const checkpoint = await readCheckpointState(tx, this.name);
      const after = checkpoint?.position ?? (await this.startingPoint(tx));
      if (!after) return 'locked-elsewhere';
      const window = (prefetched && samePosition(prefetched.after, after) ? await prefetched.window : undefined) ?? (await this.read(after, tx));
      this.lastBatchSize = window.size;
      if (!window.last) return 'caught-up';
      // A full batch means more is waiting: read it on another connection while this one is
      // handled, so that reading and handling overlap (a rebuild, a backlog). What was read is
      // still the log's next part when the checkpoint is where it was read from: every
      // transaction below its snapshot's horizon had ended.
      if (window.size === this.options.batchSize) this.prefetch(window.last);
      if (window.events.length > 0) await this.handler.handle(window.events, tx, { replay: !!checkpoint?.replayUntil });
      await writeCheckpoint(tx, this.name, window.last, window.size);
      return 'processed';
    });
  }

  /**
   * Where a runner without a checkpoint starts: the start of the log, unless the subscription has
   * checkpoints of another partitioning, which instances with another SUBSCRIPTION_PARTITIONS are
   * running (null: it waits; it must not process the log a second time).
   */
  private async startingPoint(tx: SqlExecutor): Promise<LogPosition | null> {
    const others = (await subscriptionCheckpoints(tx, this.handler.subscriptionName)).filter((checkpoint) => checkpoint.count !== this.partition.count);
    if (others.length === 0) return LOG_START;
    if (!this.refusedOtherPartitioning) {
      this.refusedOtherPartitioning = true;
      this.logger.error({
        message: `not running: the subscription is cut in ${others[0].count} part(s) by another instance, this one has SUBSCRIPTION_PARTITIONS=${this.partition.count}; give every instance the same value and restart one`,
        subscription: this.handler.subscriptionName,
        partitions: this.partition.count,
        otherPartitions: others[0].count,
      });
    }
    return null;
  }

  /** The next batch of the log; a handler of some event types only gets those (see EventStore.readWindow). */
  private async read(after: LogPosition, executor?: SqlExecutor): Promise<LogWindow> {
    const partition = this.partition.count > 1 ? this.partition : undefined;
    if (this.wanted) return this.store.readWindow(after, this.options.batchSize, [...this.wanted], executor, partition, this.handler.eventFilters);
    const events = await this.store.readAll(after, this.options.batchSize, executor, partition);
    const last = events[events.length - 1];
    return { events, size: events.length, last: last ? { transactionId: last.transactionId, globalPosition: last.globalPosition } : null };
  }

  private prefetch(after: LogPosition): void {
    // A failed read ahead is simply not used: the batch is then read in its own transaction.
    const window = this.read(after).catch(() => undefined);
    this.prefetched = { after, window };
  }

  /**
   * Processes batches until every event committed before the call is handled, and returns how
   * many batches it ran. The log is readable only below the oldest transaction still running
   * (server-wide), and another process may hold the subscription's turn: both are waited for.
   */
  async catchUp(timeoutMs = 60_000): Promise<number> {
    const [{ xmax }] = await this.db.query<{ xmax: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax');
    const deadline = new PatientDeadline(timeoutMs);
    let batches = 0;
    for (;;) {
      // Checked before the batch reads: once true, that read sees every transaction before the call.
      const [{ reached }] = await this.db.query<{ reached: boolean }>(
        'SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS reached',
        [xmax],
      );
      const result = await this.processBatch();
      if (result === 'processed') {
        batches++;
        continue;
      }
      if (result === 'caught-up' && reached) return batches;
      if (deadline.passed()) throw new Error(`subscription ${this.name} did not catch up within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.options.pollIntervalMs, 50)));
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Wakes the loop before the next poll (LISTEN/NOTIFY calls this), after `delayMs`
   * (notifyDelayMs by default); a poke never makes a sooner wake-up later.
   */
  poke(delayMs = this.options.notifyDelayMs ?? 0): void {
    if (this.wake) this.wake(delayMs);
    else this.pokedWhileBusy = Math.min(this.pokedWhileBusy ?? Infinity, delayMs);
  }

  /** Stops after the batch in progress, if any, has committed or rolled back. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.(0);
    await this.loop;
  }

  /** Clears the handler's output and moves the checkpoint back to the start of the log. */
  async reset(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await lockSubscription(tx, this.name);
      await this.handler.reset?.(tx);
      await tx.query('DELETE FROM es_subscriptions WHERE name = $1', [this.name]);
      await writeCheckpoint(tx, this.name, LOG_START, 0);
    });
  }

  /**
   * Moves the checkpoint back to just before the first event written at or after `since`, so that
   * the handler processes that part of the log again (it must be idempotent; its batches up to
   * where it was are marked as replays). Never moves it forward. Returns the checkpoint it leaves.
   */
  async rewind(since: Date): Promise<LogPosition> {
    return this.db.transaction(async (tx) => {
      await lockSubscription(tx, this.name);
      const state = await readCheckpointState(tx, this.name);
      const current = state?.position ?? LOG_START;
      // Rewound again before the last replay ended: the replay reaches the furthest point either got to.
      const replayUntil = state?.replayUntil && compareLogPositions(state.replayUntil, current) > 0 ? state.replayUntil : current;
      const [first] = await tx.query<{ transaction_id: string; global_position: string }>(
        `SELECT transaction_id::text AS transaction_id, global_position FROM es_events e
          WHERE e.created_at >= $1 AND (e.transaction_id, e.global_position) <= ($2::xid8, $3::bigint)
          ORDER BY e.transaction_id, e.global_position LIMIT 1`,
        [since.toISOString(), current.transactionId, current.globalPosition],
      );
      if (!first) return current;
      const position: LogPosition = { transactionId: first.transaction_id, globalPosition: String(BigInt(first.global_position) - 1n) };
      await tx.query('DELETE FROM es_subscriptions WHERE name = $1', [this.name]);
      await writeCheckpoint(tx, this.name, position, 0);
      await markReplay(tx, this.name, replayUntil);
      return position;
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      let result: BatchResult;
      try {
        result = await this.processBatch();
        this.consecutiveErrors = 0;
        this.failingSince = undefined;
        this.lastError = undefined;
      } catch (error) {
        this.consecutiveErrors++;
        this.failingSince ??= new Date();
        this.lastError = (error as Error).message;
        this.logger.error(`batch failed (attempt ${this.consecutiveErrors}), will retry: ${(error as Error).message}`);
        await this.sleep(this.retryDelay());
        continue;
      }
      // A batch shorter than the batch size read everything visible then: wait for a poke (or
      // the poll) rather than reading again at once, which would mostly find nothing.
      if (result !== 'processed' || this.lastBatchSize < this.options.batchSize) await this.sleep(this.options.pollIntervalMs);
    }
  }

  /**
   * While this runner's batches fail one after the other: since when, how many tries, and the last
   * error. A batch that fails on every try holds up every event after it, so it is told (in
   * /health and /metrics) rather than only logged.
   */
  failure(): SubscriptionFailure | undefined {
    if (this.failingSince === undefined) return undefined;
    return { since: this.failingSince.toISOString(), attempts: this.consecutiveErrors, error: (this.lastError ?? '').slice(0, 500) };
  }

  private retryDelay(): number {
    const max = this.options.maxRetryDelayMs ?? 30_000;
    return Math.min(max, this.options.pollIntervalMs * 2 ** Math.min(this.consecutiveErrors, 16));
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.pokedWhileBusy !== undefined) {
      ms = Math.min(ms, this.pokedWhileBusy);
      this.pokedWhileBusy = undefined;
    }
    return new Promise((resolve) => {
      let deadline = Date.now() + ms;
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      timer = setTimeout(done, ms);
      this.wake = (delayMs) => {
        if (!this.running || delayMs <= 0) return done();
        if (Date.now() + delayMs >= deadline) return;
        deadline = Date.now() + delayMs;
        clearTimeout(timer);
        timer = setTimeout(done, delayMs);
      };
    });
  }
}
