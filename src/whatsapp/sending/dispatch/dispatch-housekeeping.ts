import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { DISPATCH_LOG_CONTEXT } from './dispatch-log';
import { DispatchPauses } from '../pausing/dispatch-pauses';
import { IdempotencyCleanup } from './idempotency-cleanup';
import { LeaseExpiry } from './lease-expiry';

/**
 * The dispatcher's chores on a timer, in every instance that dispatches: leases that ran out
 * (every min(5 s, lease / 4), at least DISPATCH_POLL_MS), the line of each message a paused app's
 * pause holds, and expired idempotency keys.
 */
@Injectable()
export class DispatchHousekeeping implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);
  private readonly enabled: boolean;
  private readonly everyMs: number;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    config: AppConfig,
    private readonly leases: LeaseExpiry,
    private readonly idempotency: IdempotencyCleanup,
    private readonly pauses: DispatchPauses,
  ) {
    this.enabled = config.runs('dispatch') && config.get('DISPATCH_WORKERS') > 0;
    this.everyMs = Math.max(config.get('DISPATCH_POLL_MS'), Math.min(5000, Math.floor(config.get('DISPATCH_LEASE_MS') / 4)));
  }

  onApplicationBootstrap(): void {
    if (this.enabled) this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule();
      });
    }, this.everyMs);
  }

  private async run(): Promise<void> {
    try {
      await this.leases.expireAll(() => this.stopped);
      await this.pauses.reportHeld();
      await this.idempotency.runIfDue();
    } catch (error) {
      this.logger.error(`dispatch housekeeping failed: ${(error as Error).message}`);
    }
  }
}
