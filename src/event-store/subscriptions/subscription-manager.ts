import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import { AppConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { NotificationListener } from '../../database/notification-listener';
import { EventStore } from '../event-store';
import { PartitionedSubscription, partitionCountOf, type SubscriptionLag } from './partitioned-subscription';
import { EVENT_STORE_SUBSCRIPTION, type SubscriptionHandler } from './subscription';
import { SubscriptionLeases } from './subscription-leases';

export type { SubscriptionLag } from './partitioned-subscription';

const APPENDED_CHANNEL = 'es_events_appended';
/** How soon a subscription wakes for a commit of event types it does not read: only to move its checkpoint past them. */
const OTHER_TYPES_WAKE_MS = 100;

/**
 * Finds every provider marked @EventStoreSubscription(), runs each on a polling loop (woken early
 * by LISTEN/NOTIFY), and stops them before the database closes. A subscription cut in partitions
 * (SUBSCRIPTION_PARTITIONS) runs here only on the partitions this instance holds a lease on.
 */
@Injectable()
export class SubscriptionManager implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SubscriptionManager.name);
  private readonly runners = new Map<string, PartitionedSubscription>();
  private leases?: SubscriptionLeases;
  private readonly listener: NotificationListener;
  private started = false;
  private starting?: Promise<void>;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly config: AppConfig,
  ) {
    this.listener = new NotificationListener(
      db.pool,
      {
        channel: APPENDED_CHANNEL,
        announces: 'appended events',
        meanwhile: 'polling only',
        onNotification: (payload) => this.poke(payload),
        // What was appended while nobody listened is read now, not at the next poll.
        onResumed: () => this.pokeAll(),
      },
      this.logger,
    );
  }

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as SubscriptionHandler | undefined;
      if (!instance || !wrapper.metatype || !this.reflector.get(EVENT_STORE_SUBSCRIPTION, wrapper.metatype)) continue;
      this.register(instance);
    }
    if (this.config.get('SUBSCRIPTIONS_ENABLED') && this.config.runs('subscriptions')) void this.startAll();
  }

  register(handler: SubscriptionHandler): PartitionedSubscription {
    const name = handler.subscriptionName;
    const existing = this.runners.get(name);
    if (existing) {
      if (existing.handler !== handler) throw new Error(`Two subscriptions are named "${name}"`);
      return existing;
    }
    const runner = new PartitionedSubscription(this.db, this.store, handler, partitionCountOf(handler, this.config.get('SUBSCRIPTION_PARTITIONS')), {
      batchSize: this.config.get('SUBSCRIPTION_BATCH_SIZE'),
      pollIntervalMs: this.config.get('SUBSCRIPTION_POLL_MS'),
      notifyDelayMs: this.config.get('SUBSCRIPTION_NOTIFY_DELAY_MS'),
    });
    this.runners.set(name, runner);
    return runner;
  }

  names(): string[] {
    return [...this.runners.keys()];
  }

  /** A subscription, all its partitions. */
  runner(name: string): PartitionedSubscription {
    const runner = this.runners.get(name);
    if (!runner) throw new Error(`No subscription named "${name}"; known: ${this.names().join(', ') || 'none'}`);
    return runner;
  }

  /** Starts every registered subscription (once); shutting down meanwhile starts no more of them. */
  startAll(): Promise<void> {
    if (!this.starting) {
      this.started = true;
      this.starting = this.startRunners();
    }
    return this.starting;
  }

  private async startRunners(): Promise<void> {
    await this.listener.start();
    const partitioned: PartitionedSubscription[] = [];
    for (const subscription of this.runners.values()) {
      if (!this.started) return;
      await this.adoptPartitioning(subscription);
      // A shutdown during the await has stopped the runners started so far: this one must not start after it.
      if (!this.started) return;
      if (subscription.count > 1) partitioned.push(subscription);
      else subscription.start();
    }
    if (partitioned.length > 0 && this.started) {
      this.leases = new SubscriptionLeases(this.db, partitioned, this.config.get('SUBSCRIPTION_LEASE_MS'));
      await this.leases.start();
    }
  }

  /** The partitions of each cut subscription this instance runs now. */
  partitionsHeld(): Record<string, number[]> {
    return this.leases?.partitionsHeld() ?? {};
  }

  /** Retried until it works: the subscription must not run on checkpoints of another partitioning. */
  private async adoptPartitioning(subscription: PartitionedSubscription): Promise<void> {
    for (let attempt = 1; this.started; attempt++) {
      try {
        return await subscription.adoptPartitioning();
      } catch (error) {
        this.logger.warn(`subscription ${subscription.name}: could not take over the checkpoints of its former partitioning (attempt ${attempt}): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  /** Processes every subscription up to the visible end of the log (tests, the rebuild command). */
  async catchUpAll(): Promise<void> {
    for (const runner of this.runners.values()) await runner.catchUp();
  }

  async lag(): Promise<Record<string, SubscriptionLag>> {
    const result: Record<string, SubscriptionLag> = {};
    for (const [name, subscription] of this.runners) result[name] = await subscription.lag();
    return result;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.started = false;
    // Start-up runs in the background (onApplicationBootstrap does not wait for it): let it see the flag and end first.
    await this.starting?.catch(() => undefined);
    this.starting = undefined;
    await this.leases?.stop();
    this.leases = undefined;
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
    await this.listener.stop();
  }

  private pokeAll(): void {
    for (const runner of this.runners.values()) runner.poke();
  }

  /**
   * Wakes the subscriptions that want some of the event types a commit appended (the NOTIFY's
   * payload, comma-separated; every subscription when it names none). The others are woken
   * later (OTHER_TYPES_WAKE_MS), to move their checkpoints past those events: waking each of them
   * for every commit of a busy moment cost a transaction apiece for nothing.
   */
  private poke(payload: string | undefined): void {
    if (!payload) return this.pokeAll();
    const types = payload.split(',');
    const later = Math.max(this.config.get('SUBSCRIPTION_NOTIFY_DELAY_MS'), Math.min(OTHER_TYPES_WAKE_MS, this.config.get('SUBSCRIPTION_POLL_MS')));
    for (const runner of this.runners.values()) {
      const wanted = runner.handler.eventTypes;
      if (!wanted || types.some((type) => wanted.includes(type))) runner.poke();
      else runner.poke(later);
    }
  }
}
