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

  /** Processes batches until the log's visible end. Returns how many batches it ran. */
  async catchUp(): Promise<number> {
    let batches = 0;
    while ((await this.processBatch()) === 'processed') batches++;
    return batches;
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
