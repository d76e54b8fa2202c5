import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { Database } from '../database/database';
import { SubscriptionManager } from '../event-store';

export const PROJECTION_LAG_EVENTS = 'projection_lag_events';
export const PROJECTION_LAG_SECONDS = 'projection_lag_seconds';
export const WHATSAPP_MESSAGES = 'whatsapp_messages';

/**
 * Gauges read at scrape time: how far each subscription is behind the log, and how many
 * messages are at each status (from whatsapp_message_status_counts, a handful of rows).
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
  ) {}

  /** Sets every gauge from the database; a failure leaves the previous values and is logged, the scrape still answers. */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshLag(), this.refreshStatusCounts()]);
  }

  private async refreshLag(): Promise<void> {
    try {
      const lag = await this.subscriptions.lag();
      this.lagEvents.reset();
      this.lagSeconds.reset();
      for (const [subscription, { eventsBehind, secondsBehind }] of Object.entries(lag)) {
        this.lagEvents.set({ subscription }, eventsBehind);
        this.lagSeconds.set({ subscription }, secondsBehind);
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
}
