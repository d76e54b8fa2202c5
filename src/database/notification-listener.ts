import type { Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';

/** First wait before listening again after a loss; it doubles up to `retryMaxMs`. */
const FIRST_RETRY_MS = 100;

export interface NotificationListenerOptions {
  channel: string;
  /** What the channel announces, for the log lines ("appended events"). */
  announces: string;
  /** What goes on while nobody listens, for the log lines ("polling only"). */
  meanwhile: string;
  onNotification(payload: string): void;
  /** Listening again after a loss: whatever was announced meanwhile was missed. */
  onResumed?(): void;
  /** Whether to try again after a loss; when it says no, the next start() tries. */
  wanted?(): boolean;
  retryMaxMs?: number;
}

/**
 * One connection of the pool kept on LISTEN for a channel. A lost connection (a database restart,
 * a terminated backend) goes back to the pool with its error, and LISTEN is tried again after a
 * delay that doubles, until it works or stop() is called.
 */
export class NotificationListener {
  private connection?: { client: PoolClient; release: (error?: Error) => void };
  private connecting?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private retries = 0;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly options: NotificationListenerOptions,
    private readonly logger: Logger,
  ) {}

  get listening(): boolean {
    return this.connection !== undefined;
  }

  /** Resolves once LISTEN is in place, or has failed and will be tried again in the background. */
  start(): Promise<void> {
    this.stopped = false;
    if (this.connection) return Promise.resolve();
    this.connecting ??= this.listen().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.connecting;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) {
      await connection.client.query(`UNLISTEN ${this.options.channel}`).catch(() => undefined);
      connection.release();
    }
  }

  private async listen(): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      return this.retryLater(error as Error);
    }
    let released = false;
    // A dropped connection both fails the query in progress and emits 'error': it goes back once,
    // with the error, so that the pool closes it instead of lending it again.
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      if (this.connection?.client === client) this.connection = undefined;
      client.release(error);
    };
    // Stays attached: a connection being closed may report more errors, and one unheard would be thrown.
    client.on('error', (error: Error) => {
      if (released) return;
      release(error);
      this.retryLater(error);
    });
    client.on('notification', (notification: { payload?: string }) => this.options.onNotification(notification.payload ?? ''));
    try {
      await client.query(`LISTEN ${this.options.channel}`);
    } catch (error) {
      release(error as Error);
      return this.retryLater(error as Error);
    }
    if (this.stopped) return release();
    this.connection = { client, release };
    if (this.retries > 0) {
      this.logger.log({ message: `listening for ${this.options.announces} again`, channel: this.options.channel });
      this.options.onResumed?.();
    }
    this.retries = 0;
  }

  private retryLater(error: Error): void {
    if (this.stopped || this.retryTimer || this.connection) return;
    this.logger.warn({
      message: `LISTEN ${this.options.channel} unavailable (${error.message}): ${this.options.meanwhile} until it is back`,
      channel: this.options.channel,
      error: error.message,
    });
    const delay = Math.min(this.options.retryMaxMs ?? 2000, FIRST_RETRY_MS * 2 ** Math.min(this.retries++, 10));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.options.wanted?.() === false) return;
      void this.start();
    }, delay);
    this.retryTimer.unref();
  }
}
