import { Injectable, Logger, type OnApplicationBootstrap, type BeforeApplicationShutdown } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { PoolClient } from 'pg';
import { AppConfig } from '../../config/app-config';
import { Database } from '../../database/database';
import { EventStore } from '../event-store';
import { readCheckpoint } from './checkpoint';
import { EVENT_STORE_SUBSCRIPTION, type SubscriptionHandler } from './subscription';
import { SubscriptionRunner } from './subscription-runner';

export interface SubscriptionLag {
  eventsBehind: number;
  secondsBehind: number;
}

const APPENDED_CHANNEL = 'es_events_appended';

/**
 * Finds every provider marked @EventStoreSubscription(), runs each on a polling loop (woken early
 * by LISTEN/NOTIFY), and stops them before the database closes.
 */
@Injectable()
export class SubscriptionManager implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SubscriptionManager.name);
  private readonly runners = new Map<string, SubscriptionRunner>();
  private listener?: PoolClient;
  private started = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as SubscriptionHandler | undefined;
      if (!instance || !wrapper.metatype || !this.reflector.get(EVENT_STORE_SUBSCRIPTION, wrapper.metatype)) continue;
      this.register(instance);
    }
    if (this.config.get('SUBSCRIPTIONS_ENABLED') && this.config.runs('subscriptions')) void this.startAll();
  }

  register(handler: SubscriptionHandler): SubscriptionRunner {
    const name = handler.subscriptionName;
    const existing = this.runners.get(name);
    if (existing) {
      if (existing.handler !== handler) throw new Error(`Two subscriptions are named "${name}"`);
      return existing;
    }
    const runner = new SubscriptionRunner(this.db, this.store, handler, {
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

  runner(name: string): SubscriptionRunner {
    const runner = this.runners.get(name);
    if (!runner) throw new Error(`No subscription named "${name}"; known: ${this.names().join(', ') || 'none'}`);
    return runner;
  }

  async startAll(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.listen();
    for (const runner of this.runners.values()) runner.start();
  }

  /** Processes every subscription up to the visible end of the log (tests, the rebuild command). */
  async catchUpAll(): Promise<void> {
    for (const runner of this.runners.values()) await runner.catchUp();
  }

  async lag(): Promise<Record<string, SubscriptionLag>> {
    const result: Record<string, SubscriptionLag> = {};
    for (const name of this.runners.keys()) {
      const checkpoint = await readCheckpoint(this.db, name);
      const head = await this.store.logHead(checkpoint);
      const secondsBehind = head.oldestUnreadAt ? Math.max(0, (Date.now() - head.oldestUnreadAt.getTime()) / 1000) : 0;
      result[name] = { eventsBehind: head.behind, secondsBehind: Math.round(secondsBehind * 1000) / 1000 };
    }
    return result;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.stop()));
    this.started = false;
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      await listener.query(`UNLISTEN ${APPENDED_CHANNEL}`).catch(() => undefined);
      listener.release();
    }
  }

  private async listen(): Promise<void> {
    try {
      const client = await this.db.pool.connect();
      client.on('notification', () => {
        for (const runner of this.runners.values()) runner.poke();
      });
      client.on('error', (error) => this.logger.warn(`LISTEN connection lost, polling only: ${error.message}`));
      await client.query(`LISTEN ${APPENDED_CHANNEL}`);
      this.listener = client;
    } catch (error) {
      this.logger.warn(`LISTEN unavailable, polling only: ${(error as Error).message}`);
    }
  }
}
