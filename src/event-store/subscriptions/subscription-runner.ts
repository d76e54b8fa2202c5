import { Logger } from '@nestjs/common';
import type { Database } from '../../database/database';
import type { RecordedEvent } from '../event';
import { EventStore, LOG_START } from '../event-store';
import { lockSubscription, readCheckpoint, tryLockSubscription, writeCheckpoint } from './checkpoint';
import type { SubscriptionHandler } from './subscription';

export interface SubscriptionRunnerOptions {
  batchSize: number;
  pollIntervalMs: number;
  /** Upper bound of the wait after an error, doubled from pollIntervalMs. */
  maxRetryDelayMs?: number;
}

export type BatchResult = 'processed' | 'caught-up' | 'locked-elsewhere';

/**
 * Runs one subscription: reads the log after its checkpoint in commit-safe order and hands each
 * batch to the handler, in one transaction with the checkpoint update, under a transaction-level
 * advisory lock so that two processes never work on the same subscription at once (another one
 * simply takes over the next batch when this one stops).
 */
export class SubscriptionRunner {
  private readonly logger: Logger;
  private readonly wanted?: ReadonlySet<string>;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private consecutiveErrors = 0;

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    readonly handler: SubscriptionHandler,
    private readonly options: SubscriptionRunnerOptions,
  ) {
    this.logger = new Logger(`Subscription ${handler.subscriptionName}`);
    this.wanted = handler.eventTypes ? new Set(handler.eventTypes) : undefined;
  }

  get name(): string {
    return this.handler.subscriptionName;
  }

  /** Processes at most one batch. */
  async processBatch(): Promise<BatchResult> {
    return this.db.transaction(async (tx) => {
      if (!(await tryLockSubscription(tx, this.name))) return 'locked-elsewhere';
      // Nothing has been written in this transaction yet, so it holds no transaction id and
      // does not hold back the visibility horizon it reads with.
      const after = await readCheckpoint(tx, this.name);
      const events = await this.store.readAll(after, this.options.batchSize, tx);
      if (events.length === 0) return 'caught-up';
      const relevant: RecordedEvent[] = this.wanted ? events.filter((e) => this.wanted!.has(e.type)) : events;
      if (relevant.length > 0) await this.handler.handle(relevant, tx);
      const last = events[events.length - 1];
      await writeCheckpoint(tx, this.name, last, events.length);
      return 'processed';
    });
  }

  /**
   * Processes batches until every event committed before the call is handled, and returns how
   * many batches it ran. The log is readable only below the oldest transaction still running
   * (server-wide), and another process may hold the subscription's turn: both are waited for.
   */
  async catchUp(timeoutMs = 60_000): Promise<number> {
    const [{ xmax }] = await this.db.query<{ xmax: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax');
    const deadline = Date.now() + timeoutMs;
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
      if (Date.now() > deadline) throw new Error(`subscription ${this.name} did not catch up within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.options.pollIntervalMs, 50)));
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Wakes the loop now instead of at the next poll (LISTEN/NOTIFY calls this). */
  poke(): void {
    this.wake?.();
  }

  /** Stops after the batch in progress, if any, has committed or rolled back. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
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

  private async run(): Promise<void> {
    while (this.running) {
      let result: BatchResult;
      try {
        result = await this.processBatch();
        this.consecutiveErrors = 0;
      } catch (error) {
        this.consecutiveErrors++;
        this.logger.error(`batch failed (attempt ${this.consecutiveErrors}), will retry: ${(error as Error).message}`);
        await this.sleep(this.retryDelay());
        continue;
      }
      if (result !== 'processed') await this.sleep(this.options.pollIntervalMs);
    }
  }

  private retryDelay(): number {
    const max = this.options.maxRetryDelayMs ?? 30_000;
    return Math.min(max, this.options.pollIntervalMs * 2 ** Math.min(this.consecutiveErrors, 16));
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
