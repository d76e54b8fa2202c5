import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CredentialCipher } from '../../apps/providers/credential-cipher';
import { AppConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { NotificationListener } from '../../database/notification-listener';
import { DELIVERIES_CHANNEL } from '../deliveries/delivery-records';
import { DeliveryQueue, type AttemptResult, type ClaimedDelivery } from '../deliveries/delivery-queue';
import { secretContext } from '../endpoints/webhook-endpoints.service';
import { retryDelayMs, type RetrySchedule } from './retry-schedule';
import { WebhookHttpClient } from './webhook-http-client';
import { WebhookMetrics } from './webhook-metrics';
import { WebhookSigner } from './webhook-signing';

/** The most deliveries one claim takes. */
const MAX_CLAIM = 500;

/**
 * Posts deliveries to customers' endpoints. One loop works in rounds, each one call to the
 * database (DeliveryQueue.cycle): the outcomes of the attempts that ended since the last round are
 * recorded, and as many due deliveries are claimed under a lease as there are free slots (up to
 * WEBHOOK_OUT_CONCURRENCY in flight in this process, WEBHOOK_OUT_ENDPOINT_CONCURRENCY per
 * endpoint across all). A round starts as soon as an attempt ends, so outcomes arriving while one
 * runs are recorded together by the next (group commit), and a slot is taken again one round after
 * its attempt ended. A slow endpoint holds only its own slots, so the others go on. A process that
 * dies leaves its claims to run out; they are claimed again and sent again (at least once).
 */
@Injectable()
export class WebhookSender implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookSender');
  private readonly concurrency: number;
  private readonly endpointConcurrency: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly schedule: RetrySchedule;
  private readonly disableAfterHours: number;
  private readonly http: WebhookHttpClient;
  private readonly signers = new Map<string, { encrypted: string; signer: WebhookSigner }>();
  private readonly leaseToken = randomUUID();
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private poked = false;
  /** Claimed and not yet recorded: being sent, or ended and waiting in `outcomes`. */
  private inFlight = 0;
  private readonly sends = new Set<Promise<void>>();
  private outcomes: AttemptResult[] = [];
  /** Disabling endpoints that keep failing, off the loop, one at a time. */
  private failingChecks: Promise<void> = Promise.resolve();
  private readonly listener: NotificationListener;
  private lastTakeBack = 0;

  constructor(
    private readonly db: Database,
    private readonly queue: DeliveryQueue,
    private readonly cipher: CredentialCipher,
    private readonly metrics: WebhookMetrics,
    config: AppConfig,
  ) {
    // Posting to customers' systems is outbound work like dispatch: a process without that role sends none.
    this.concurrency = config.runs('dispatch') ? config.get('WEBHOOK_OUT_CONCURRENCY') : 0;
    this.endpointConcurrency = config.get('WEBHOOK_OUT_ENDPOINT_CONCURRENCY');
    this.pollMs = config.get('WEBHOOK_OUT_POLL_MS');
    const timeoutMs = config.get('WEBHOOK_OUT_TIMEOUT_MS');
    // An attempt ends within the timeout and is recorded soon after; a claim still held well past
    // that belongs to a process that died, and is taken over.
    this.leaseMs = 2 * timeoutMs + 1000;
    this.schedule = { backoffMs: config.get('WEBHOOK_OUT_BACKOFF_MS'), maxBackoffMs: config.get('WEBHOOK_OUT_MAX_BACKOFF_MS') };
    this.disableAfterHours = config.get('WEBHOOK_OUT_DISABLE_AFTER_HOURS');
    this.http = new WebhookHttpClient({ timeoutMs, allowPrivate: config.get('WEBHOOK_OUT_ALLOW_PRIVATE'), connectionsPerEndpoint: this.endpointConcurrency });
    this.listener = new NotificationListener(
      db.pool,
      {
        channel: DELIVERIES_CHANNEL,
        announces: 'new webhook deliveries',
        meanwhile: 'polling only',
        onNotification: () => this.poke(),
        // Deliveries queued while nobody listened are claimed now, not at the next poll.
        onResumed: () => this.poke(),
      },
      this.logger,
    );
  }

  onApplicationBootstrap(): void {
    if (this.concurrency === 0) return;
    this.running = true;
    this.loop = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    // Attempts under way end within the timeout; their outcomes are recorded before the pool closes.
    await Promise.allSettled([...this.sends]);
    if (this.outcomes.length > 0) await this.round(0).catch(() => undefined);
    await this.failingChecks;
    await this.http.close();
    await this.listener.stop();
  }

  /** Wakes the loop now (new deliveries, an attempt that ended). */
  poke(): void {
    if (this.wake) this.wake();
    else this.poked = true;
  }

  private async run(): Promise<void> {
    await this.listener.start();
    let failures = 0;
    while (this.running) {
      await this.takeBackExpired();
      // The slots of the attempts recorded in this round are free for its claims.
      const limit = Math.min(this.concurrency - this.inFlight + this.outcomes.length, MAX_CLAIM);
      if (limit === 0 && this.outcomes.length === 0) {
        await this.sleep(this.pollMs);
        continue;
      }
      let claimed: number;
      try {
        claimed = await this.round(limit);
        failures = 0;
      } catch (error) {
        failures++;
        this.logger.error({ message: `recording and claiming webhook deliveries failed (${failures} in a row): ${(error as Error).message}`, failures });
        await this.sleep(Math.min(30_000, this.pollMs * 2 ** Math.min(failures, 10)));
        continue;
      }
      // Attempts that ended meanwhile, or a full claim (more may be due): the next round at once.
      // Otherwise wait for a poke (an attempt ending, new deliveries) or the poll.
      if (this.outcomes.length === 0 && claimed < limit) await this.sleep(this.pollMs);
    }
  }

  /**
   * Records the outcomes waiting and claims up to `limit` deliveries, which start at once; the
   * number claimed. Outcomes that could not be recorded stay for the next round (their claims
   * hold until the lease runs out; after that they are sent again, and the stale outcome is ignored).
   */
  private async round(limit: number): Promise<number> {
    const outcomes = this.outcomes;
    this.outcomes = [];
    let claimed: ClaimedDelivery[];
    try {
      claimed = await this.queue.cycle({ outcomes, limit, endpointConcurrency: this.endpointConcurrency, leaseMs: this.leaseMs, leaseToken: this.leaseToken });
    } catch (error) {
      this.outcomes = outcomes.concat(this.outcomes);
      throw error;
    }
    this.inFlight -= outcomes.length;
    this.report(outcomes);
    for (const delivery of claimed) this.start(delivery);
    return claimed.length;
  }

  /**
   * Now and then, not on every round: claims run out only when a process stopped. An endpoint
   * whose deliveries have all failed for good gets no attempt after which to check it, so the
   * failing endpoints are checked here too.
   */
  private async takeBackExpired(): Promise<void> {
    if (Date.now() - this.lastTakeBack < Math.min(this.leaseMs / 2, 5000)) return;
    this.lastTakeBack = Date.now();
    this.disableFailing('all');
    try {
      const { takenBack, corrected } = await this.queue.takeBackExpired();
      if (takenBack > 0) this.logger.warn({ message: `${takenBack} webhook deliveries claimed by a process that stopped are due again`, deliveries: takenBack });
      if (corrected > 0) this.logger.error({ message: `the in-flight count of ${corrected} webhook endpoints did not match their deliveries, and was corrected`, endpoints: corrected });
    } catch (error) {
      this.logger.warn(`taking back expired webhook claims failed: ${(error as Error).message}`);
    }
  }

  private start(delivery: ClaimedDelivery): void {
    this.inFlight++;
    const send = this.attempt(delivery)
      .catch((error: Error) => this.logger.error({ message: `webhook attempt failed unexpectedly: ${error.message}`, deliveryId: delivery.id }))
      .finally(() => this.sends.delete(send));
    this.sends.add(send);
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const at = Date.now();
    let outcome;
    try {
      const headers = this.signer(delivery).sign(delivery.id, at, delivery.body);
      outcome = await this.http.post(delivery.endpointId, delivery.url, delivery.body, { ...headers });
    } catch (error) {
      outcome = { ok: false, statusCode: null, durationMs: 0, error: `could not sign the delivery: ${(error as Error).message}` };
    }
    let result: AttemptResult;
    if (outcome.ok) {
      result = { delivery, at, durationMs: outcome.durationMs, statusCode: outcome.statusCode, error: null, state: 'delivered', dueAt: null };
    } else {
      const dueAt = Date.now() + retryDelayMs(this.schedule, delivery.attempt);
      const giveUp = dueAt >= delivery.giveUpAt;
      result = { delivery, at, durationMs: outcome.durationMs, statusCode: outcome.statusCode, error: outcome.error, state: giveUp ? 'failed' : 'pending', dueAt: giveUp ? null : dueAt };
    }
    this.outcomes.push(result);
    this.poke();
  }

  private report(batch: readonly AttemptResult[]): void {
    const now = Date.now();
    let failing: Set<string> | undefined;
    for (const result of batch) {
      const { delivery } = result;
      const outcome = result.state === 'delivered' ? 'delivered' : result.state === 'failed' ? 'failed' : 'retry';
      this.metrics.attempt(outcome, result.statusCode, result.durationMs / 1000);
      const fields = {
        appId: delivery.appId,
        endpointId: delivery.endpointId,
        deliveryId: delivery.id,
        messageId: delivery.messageId ?? undefined,
        eventType: delivery.eventType,
        attempt: delivery.attempt,
        statusCode: result.statusCode,
        durationMs: result.durationMs,
      };
      if (outcome === 'delivered') {
        this.metrics.delivered((now - delivery.changeRecordedAt) / 1000);
        this.logger.debug({ message: 'webhook delivered', ...fields });
        continue;
      }
      (failing ??= new Set()).add(delivery.endpointId);
      if (outcome === 'retry') {
        const nextAttemptAt = new Date(result.dueAt!).toISOString();
        this.logger.warn({ message: `webhook attempt failed, retrying at ${nextAttemptAt}: ${result.error}`, ...fields, nextAttemptAt });
      } else {
        this.logger.error({ message: `webhook delivery failed for good after ${delivery.attempt} attempts: ${result.error}`, ...fields });
      }
    }
    if (failing) this.disableFailing([...failing]);
  }

  /** Endpoints failing for WEBHOOK_OUT_DISABLE_AFTER_HOURS are disabled; checked after a round with failures and now and then, off the loop. */
  private disableFailing(endpointIds: string[] | 'all'): void {
    this.failingChecks = this.failingChecks.then(async () => {
      try {
        for (const endpoint of await this.queue.disableFailing(endpointIds, this.disableAfterHours)) {
          this.metrics.endpointDisabled();
          this.logger.error({
            message: `webhook endpoint disabled: no successful delivery since ${endpoint.failingSince.toISOString()} (WEBHOOK_OUT_DISABLE_AFTER_HOURS=${this.disableAfterHours})`,
            appId: endpoint.appId,
            endpointId: endpoint.id,
          });
        }
      } catch (error) {
        // The next failure checks again.
        this.logger.warn({ message: `checking failing webhook endpoints failed: ${(error as Error).message}` });
      }
    });
  }

  private signer(delivery: ClaimedDelivery): WebhookSigner {
    const cached = this.signers.get(delivery.endpointId);
    if (cached && cached.encrypted === delivery.secretEncrypted) return cached.signer;
    // The current secret, then the previous one while in its grace period (space-separated: see migration 1764002900000).
    const secrets = delivery.secretEncrypted.split(' ').map((encrypted) => this.cipher.decrypt(encrypted, secretContext(delivery.endpointId)));
    const signer = new WebhookSigner(secrets[0], ...secrets.slice(1));
    this.signers.set(delivery.endpointId, { encrypted: delivery.secretEncrypted, signer });
    return signer;
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
