export interface GroupCommitOptions {
  /** How long the first waiting item waits for others before its batch is written; 0: the next turn of the event loop. */
  maxWaitMs: number;
  /** A batch is written as soon as this many items wait. */
  maxBatchSize: number;
  /** Batches written at the same time (each holds one database connection while it commits). */
  maxConcurrentBatches: number;
}

export interface GroupCommitHandlers<I, R> {
  /** Writes the items in one transaction and returns one result per item, in order. */
  commitBatch(items: I[]): Promise<R[]>;
  /**
   * Whether a failed batch is worth retrying item by item: false for failures that are no one
   * item's fault (the database is down), which then fail every item at once.
   */
  retryItemsAlone(error: unknown): boolean;
}

interface Waiting<I, R> {
  item: I;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * Group commit: items submitted concurrently are written together, one transaction per batch,
 * and each submit resolves only once its batch has committed. A batch is written when
 * maxBatchSize items wait or when the oldest has waited maxWaitMs; while maxConcurrentBatches
 * are being written, new items keep gathering, so batches grow with the load.
 *
 * A batch that fails is retried item by item (when the failure allows), so that one item that
 * cannot be written fails only its own submit.
 */
export class GroupCommitBatcher<I, R> {
  private queue: Waiting<I, R>[] = [];
  private timer?: NodeJS.Timeout | NodeJS.Immediate;
  /** The oldest waiting item has waited its maxWaitMs: write whatever is waiting as soon as possible. */
  private due = false;
  private running = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handlers: GroupCommitHandlers<I, R>,
    private readonly options: GroupCommitOptions,
  ) {
    if (options.maxBatchSize < 1 || options.maxConcurrentBatches < 1 || options.maxWaitMs < 0) {
      throw new Error('GroupCommitBatcher needs maxBatchSize >= 1, maxConcurrentBatches >= 1 and maxWaitMs >= 0');
    }
  }

  /** Resolves with the item's result once the transaction that wrote it has committed. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length === 1 && !this.due) this.startTimer();
      this.pump();
    });
  }

  /** Items waiting or being written. */
  get pending(): number {
    return this.queue.length;
  }

  /** Writes everything waiting now, and resolves when no batch is being written. */
  async flush(): Promise<void> {
    this.due = this.queue.length > 0;
    this.pump();
    if (this.running === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private startTimer(): void {
    const fire = () => {
      this.timer = undefined;
      this.due = true;
      this.pump();
    };
    this.timer = this.options.maxWaitMs === 0 ? setImmediate(fire) : setTimeout(fire, this.options.maxWaitMs);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private pump(): void {
    while (this.running < this.options.maxConcurrentBatches && this.queue.length > 0 && (this.due || this.queue.length >= this.options.maxBatchSize)) {
      const batch = this.queue.splice(0, this.options.maxBatchSize);
      if (this.queue.length === 0) {
        this.due = false;
        this.clearTimer();
      }
      this.running++;
      void this.write(batch).finally(() => {
        this.running--;
        this.pump();
        // Items that arrived while every slot was busy start their own wait now.
        if (this.queue.length > 0 && !this.due && this.timer === undefined) this.startTimer();
        if (this.running === 0 && this.queue.length === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
      });
    }
  }

  private async write(batch: Waiting<I, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.handlers.commitBatch(batch.map((waiting) => waiting.item));
    } catch (error) {
      if (batch.length === 1 || !this.handlers.retryItemsAlone(error)) {
        for (const waiting of batch) waiting.reject(error);
        return;
      }
      await this.writeOneByOne(batch);
      return;
    }
    if (results.length !== batch.length) {
      const error = new Error(`commitBatch returned ${results.length} results for ${batch.length} items`);
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    batch.forEach((waiting, index) => waiting.resolve(results[index]));
  }

  private async writeOneByOne(batch: Waiting<I, R>[]): Promise<void> {
    for (let index = 0; index < batch.length; index++) {
      const waiting = batch[index];
      try {
        const [result] = await this.handlers.commitBatch([waiting.item]);
        waiting.resolve(result);
      } catch (error) {
        waiting.reject(error);
        if (!this.handlers.retryItemsAlone(error)) {
          // The database went away meanwhile: the rest would fail the same way, one timeout each.
          for (const rest of batch.slice(index + 1)) rest.reject(error);
          return;
        }
      }
    }
  }
}
