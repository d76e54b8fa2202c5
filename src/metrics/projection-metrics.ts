import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { Database } from '../database/database';
import { SubscriptionManager } from '../event-store';

export const PROJECTION_LAG_EVENTS = 'projection_lag_events';
export const PROJECTION_LAG_SECONDS = 'projection_lag_seconds';
export const WHATSAPP_MESSAGES = 'whatsapp_messages';
export const SUBSCRIPTION_PARTITIONS_HELD = 'subscription_partitions_held';
export const SUBSCRIPTION_FAILING_BATCHES = 'subscription_failing_batches';
export const EVENT_LOG_PARTITIONS = 'event_log_partitions';
export const EVENT_LOG_RETIRED_EVENTS = 'event_log_retired_events';

/**
 * Gauges read at scrape time: how far each subscription is behind the log and whether its batches
 * keep failing here, how many parts of
 * each cut subscription this instance runs, how many messages are at each status (from
 * whatsapp_message_status_counts, a handful of rows), and the event log's time partitions by
 * state with the events retired (exported, then dropped) so far.
 */
@Injectable()
export class ProjectionMetrics {
  private readonly logger = new Logger(ProjectionMetrics.name);

  constructor(
    private readonly subscriptions: SubscriptionManager,
    private readonly db: Database,
    @InjectMetric(PROJECTION_LAG_EVENTS) private readonly lagEvents: Gauge<'subscription'>,
    @InjectMetric(PROJECTION_LAG_SECONDS) private readonly lagSeconds: Gauge<'subscription'>,
    @InjectMetric(WHATSAPP_MESSAGES) private readonly messages: Gauge<'status'>,
    @InjectMetric(SUBSCRIPTION_PARTITIONS_HELD) private readonly partitionsHeld: Gauge<'subscription'>,
    @InjectMetric(SUBSCRIPTION_FAILING_BATCHES) private readonly failingBatches: Gauge<'subscription'>,
    @InjectMetric(EVENT_LOG_PARTITIONS) private readonly partitions: Gauge<'parent' | 'state'>,
    @InjectMetric(EVENT_LOG_RETIRED_EVENTS) private readonly retired: Gauge<'parent'>,
  ) {}

  /** Sets every gauge from the database; a failure leaves the previous values and is logged, the scrape still answers. */
  async refresh(): Promise<void> {
    this.refreshPartitionsHeld();
    await Promise.all([this.refreshLag(), this.refreshStatusCounts(), this.refreshLogPartitions()]);
  }

  private refreshPartitionsHeld(): void {
    this.partitionsHeld.reset();
    for (const [subscription, partitions] of Object.entries(this.subscriptions.partitionsHeld())) this.partitionsHeld.set({ subscription }, partitions.length);
  }

  private async refreshLag(): Promise<void> {
    try {
      const lag = await this.subscriptions.lag();
      this.lagEvents.reset();
      this.lagSeconds.reset();
      this.failingBatches.reset();
      for (const [subscription, { eventsBehind, secondsBehind, failing }] of Object.entries(lag)) {
        this.lagEvents.set({ subscription }, eventsBehind);
        this.lagSeconds.set({ subscription }, secondsBehind);
        this.failingBatches.set({ subscription }, failing?.attempts ?? 0);
      }
    } catch (error) {
      this.logger.warn(`projection lag unavailable: ${(error as Error).message}`);
    }
  }

  private async refreshStatusCounts(): Promise<void> {
    try {
      const rows = await this.db.query<{ status: string; messages: string }>(
        'SELECT status, sum(messages) AS messages FROM whatsapp_message_status_counts GROUP BY status',
      );
      this.messages.reset();
      for (const row of rows) this.messages.set({ status: row.status }, Number(row.messages));
    } catch (error) {
      this.logger.warn(`message status counts unavailable: ${(error as Error).message}`);
    }
  }

  private async refreshLogPartitions(): Promise<void> {
    try {
      const rows = await this.db.query<{ parent: string; state: string; partitions: number; events: string }>(
        `SELECT parent, state, count(*)::int AS partitions, coalesce(sum(exported_events) FILTER (WHERE state = 'dropped'), 0) AS events
           FROM es_log_partitions GROUP BY parent, state`,
      );
      this.partitions.reset();
      this.retired.reset();
      for (const row of rows) {
        this.partitions.set({ parent: row.parent, state: row.state }, row.partitions);
        if (row.state === 'dropped') this.retired.set({ parent: row.parent }, Number(row.events));
      }
    } catch (error) {
      this.logger.warn(`event log partitions unavailable: ${(error as Error).message}`);
    }
  }
}
