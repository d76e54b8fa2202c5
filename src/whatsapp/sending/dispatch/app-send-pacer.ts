import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../../config/app-config';
import { AppRateLimiter } from './app-rate-limiter';
import type { ClaimedJob } from './dispatch-jobs';
import { action, DISPATCH_LOG_CONTEXT, formatDelay, jobFields } from './dispatch-log';

/** Longest a worker keeps claimed jobs waiting for the rate limiter before giving them back. */
const MAX_RATE_HOLD_MS = 250;
/**
 * A hold not seen again for this long is forgotten without a line: its job went to another
 * instance, or was withdrawn or discarded. A job held here is claimed again far sooner.
 */
const FORGET_HOLD_AFTER_MS = 10 * 60_000;
const FORGET_CHECK_EVERY_MS = 60_000;

/** A message this instance held for its app's rate limit and has not handed out yet. */
interface RateHold {
  since: number;
  lastSeen: number;
}

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
  /**
   * Messages held for the rate limit, by message and attempt, kept across the claims that give
   * them back and take them again, so that each wait is logged once, when it ends, not per claim.
   */
  private readonly holds = new Map<string, RateHold>();
  private lastForgetCheck = Date.now();
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);
  private readonly limitPerSecond: number;
  /** How long claimed jobs may wait for the app's next slot: min(250 ms, lease / 4). */
  readonly rateHoldMs: number;

  constructor(
    config: AppConfig,
    private readonly limiter: AppRateLimiter,
  ) {
    this.workersPerLimitedApp = Math.max(1, Math.floor(config.get('DISPATCH_WORKERS') / 2));
    this.rateHoldMs = Math.min(MAX_RATE_HOLD_MS, Math.floor(config.get('DISPATCH_LEASE_MS') / 4));
    this.limitPerSecond = config.get('GUPSHUP_RATE_LIMIT');
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
    this.forgetStaleHolds();
    let next = 0;
    let retryInMs = 0;
    let waiting = false;
    try {
      while (next < jobs.length && !signal.aborted) {
        const permit = await this.limiter.tryAcquire(appId, jobs.length - next);
        if (permit.granted > 0) {
          const granted = jobs.slice(next, next + permit.granted);
          next += granted.length;
          this.endHolds(granted);
          send(granted, permit.slots);
          continue;
        }
        this.noteHeld(jobs.slice(next));
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

  /** Starts the hold of the jobs the limiter turned away (those already held stay held since then). */
  private noteHeld(jobs: readonly ClaimedJob[]): void {
    const now = Date.now();
    for (const job of jobs) {
      const hold = this.holds.get(holdKey(job));
      if (hold) hold.lastSeen = now;
      else this.holds.set(holdKey(job), { since: now, lastSeen: now });
    }
  }

  /** One line for each granted job that had been held: how long it waited for its turn. */
  private endHolds(granted: readonly ClaimedJob[]): void {
    const now = Date.now();
    for (const job of granted) {
      const hold = this.holds.get(holdKey(job));
      if (!hold) continue;
      this.holds.delete(holdKey(job));
      const waitedMs = now - hold.since;
      this.logger.log({
        message: `attempt ${job.attempt} held ${formatDelay(waitedMs)} by the app's rate limit (${this.limitPerSecond}/s) before its turn to go to Gupshup`,
        ...jobFields(job),
        heldSince: new Date(hold.since).toISOString(),
        waitedMs,
        rateLimitPerSecond: this.limitPerSecond,
        ...action('rate_limited'),
      });
    }
  }

  private forgetStaleHolds(): void {
    const now = Date.now();
    if (now - this.lastForgetCheck < FORGET_CHECK_EVERY_MS) return;
    this.lastForgetCheck = now;
    for (const [key, hold] of this.holds) if (now - hold.lastSeen > FORGET_HOLD_AFTER_MS) this.holds.delete(key);
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

/** A hold is one attempt's: a later attempt of the same message waits anew. */
function holdKey(job: ClaimedJob): string {
  return `${job.messageId}:${job.attempt}`;
}
