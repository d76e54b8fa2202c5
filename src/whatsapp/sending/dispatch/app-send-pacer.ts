import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../../config/app-config';
import { AppRateLimiter } from './app-rate-limiter';
import type { ClaimedJob } from './dispatch-jobs';

/** Longest a worker keeps claimed jobs waiting for the rate limiter before giving them back. */
const MAX_RATE_HOLD_MS = 250;

export interface PacedJobs {
  /** Jobs not handed out: to go back to the queue, due in `retryInMs`. */
  untried: ClaimedJob[];
  retryInMs: number;
  /** The app is being sent at its limit: another worker may take it on. */
  atLimit: boolean;
}

/**
 * Fairness between apps within one instance, and the wait for an app's rate limit: hands an app's
 * claimed jobs out as the limiter grants sends, holding them briefly for the next slot. An app
 * turned away for longer, or already served at its limit by half of the workers, is left out of
 * the instance's claims meanwhile, so that one app's backlog does not hold up another's messages.
 */
@Injectable()
export class AppSendPacer {
  /** Apps the rate limiter turned away, until when: their jobs are not claimed meanwhile. */
  private readonly limitedUntil = new Map<string, number>();
  /**
   * Apps being sent at their limit, by how many workers of this instance. A second worker keeps an
   * app at its limit while the first is between batches; once half the workers are on it, the
   * others leave its jobs alone and serve other apps.
   */
  private readonly servedAtLimit = new Map<string, number>();
  private readonly workersPerLimitedApp: number;
  /** How long claimed jobs may wait for the app's next slot: min(250 ms, lease / 4). */
  readonly rateHoldMs: number;

  constructor(
    config: AppConfig,
    private readonly limiter: AppRateLimiter,
  ) {
    this.workersPerLimitedApp = Math.max(1, Math.floor(config.get('DISPATCH_WORKERS') / 2));
    this.rateHoldMs = Math.min(MAX_RATE_HOLD_MS, Math.floor(config.get('DISPATCH_LEASE_MS') / 4));
  }

  get shape() {
    return this.limiter.shape;
  }

  /**
   * Hands `jobs` to `send` in groups, as the app's limiter grants them, until all are handed out,
   * the next slot is further than rateHoldMs away, or `signal` aborts. `send` is not awaited; it
   * gets the limiter's slot of each job (none when there is no limit).
   */
  async pace(appId: string, jobs: readonly ClaimedJob[], send: (granted: ClaimedJob[], slots: number[]) => void, signal: AbortSignal): Promise<PacedJobs> {
    const holdUntil = Date.now() + this.rateHoldMs;
    let next = 0;
    let retryInMs = 0;
    let waiting = false;
    try {
      while (next < jobs.length && !signal.aborted) {
        const permit = await this.limiter.tryAcquire(appId, jobs.length - next);
        if (permit.granted > 0) {
          const granted = jobs.slice(next, next + permit.granted);
          next += granted.length;
          send(granted, permit.slots);
          continue;
        }
        if (Date.now() + permit.retryInMs > holdUntil) {
          retryInMs = permit.retryInMs;
          // Until then every worker of this instance leaves the app's jobs alone and serves other apps.
          this.limitedUntil.set(appId, Date.now() + retryInMs);
          break;
        }
        if (!waiting) {
          // While workers wait for the app's next slot, the others serve other apps.
          waiting = true;
          this.servedAtLimit.set(appId, (this.servedAtLimit.get(appId) ?? 0) + 1);
        }
        await sleep(permit.retryInMs, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      if (waiting) {
        const serving = (this.servedAtLimit.get(appId) ?? 1) - 1;
        if (serving > 0) this.servedAtLimit.set(appId, serving);
        else this.servedAtLimit.delete(appId);
      }
    }
    return { untried: jobs.slice(next), retryInMs, atLimit: waiting || next < jobs.length };
  }

  /** Apps to leave out of this instance's claims now. */
  excludedApps(): string[] {
    const now = Date.now();
    for (const [appId, until] of this.limitedUntil) if (until <= now) this.limitedUntil.delete(appId);
    const served = [...this.servedAtLimit].filter(([, workers]) => workers >= this.workersPerLimitedApp).map(([appId]) => appId);
    return [...new Set([...this.limitedUntil.keys(), ...served])];
  }

  /** Milliseconds until the first app turned away by the limiter may be claimed again (Infinity: none is). */
  msUntilLimitEnds(): number {
    let first = Infinity;
    for (const until of this.limitedUntil.values()) first = Math.min(first, until);
    return Math.max(1, first - Date.now());
  }
}
