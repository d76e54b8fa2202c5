import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import { Database } from '../../../database/database';
import { deleteStreams } from '../../../event-store/delete-streams';
import { EventLogRetention } from '../../../event-store/retention/event-log-retention';
import { rawCallbackStreamId } from '../receiving/gupshup-callback-received.event';
import { TrackingMetrics } from '../tracking.metrics';
import { expireParkedCallbacks } from './parked-callbacks';

const DAY_MS = 24 * 60 * 60 * 1000;
const EVERY_MS = 60 * 60 * 1000;
/** Due rows taken per transaction (with the other rows of their callbacks), so that a first run over a long backlog holds no lock for long. */
const BATCH = 5000;

/**
 * Removes callbacks that were kept without ever being applied (unreadable, or for a message never
 * known) once they are older than RAW_CALLBACK_RETENTION_DAYS: their parked rows and, when nothing
 * of them was applied, their raw events. Runs hourly in the process that runs the subscriptions.
 * Every raw callback, applied or not, goes with its partition of the log after the same time
 * (EventLogRetention: es_events_raw_callbacks).
 */
@Injectable()
export class ParkedCallbackExpiry implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('DeliveryTracking');
  private timer?: NodeJS.Timeout;
  private firstRun?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly metrics: TrackingMetrics,
    private readonly logRetention: EventLogRetention,
  ) {}

  onModuleInit(): void {
    this.logRetention.register({ parent: 'es_events_raw_callbacks', days: this.config.get('RAW_CALLBACK_RETENTION_DAYS'), setting: 'RAW_CALLBACK_RETENTION_DAYS' });
  }

  onApplicationBootstrap(): void {
    if (!this.config.get('SUBSCRIPTIONS_ENABLED') || !this.config.runs('subscriptions')) return;
    const tick = () => {
      this.running = this.expire().catch((error: Error) => this.logger.warn({ message: `expiry of parked callbacks failed: ${error.message}` }));
    };
    this.timer = setInterval(tick, EVERY_MS);
    this.timer.unref();
    this.firstRun = setTimeout(tick, 10_000);
    this.firstRun.unref();
  }

  // Before the shutdown hooks, so that no run starts once the database pool is closing.
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.firstRun);
    await this.running;
  }

  /** Expires what was received before `now` minus the retention, `batchSize` due rows a transaction; returns the rows and raw callbacks removed. */
  async expire(now = new Date(), batchSize = BATCH): Promise<{ rows: number; rawCallbacks: number }> {
    const before = new Date(now.getTime() - this.config.get('RAW_CALLBACK_RETENTION_DAYS') * DAY_MS);
    const total = { rows: 0, rawCallbacks: 0 };
    for (;;) {
      const batch = await this.db.transaction(async (tx) => {
        const expired = await expireParkedCallbacks(tx, before, batchSize);
        await deleteStreams(tx, expired.rawCallbackEventIds.map(rawCallbackStreamId));
        return expired;
      });
      for (const callbackEventId of batch.rawCallbackEventIds) {
        this.logger.log({ message: 'raw callback expired unapplied', callbackEventId, receivedBefore: before.toISOString() });
      }
      total.rows += batch.rows;
      total.rawCallbacks += batch.rawCallbackEventIds.length;
      this.metrics.expired(batch.rows);
      if (batch.picked < batchSize) break;
    }
    // Billing-events whose message never became known go with them; their raw callbacks stay until the log retires their partition.
    const billing = await this.db.query<{ n: number }>(
      `WITH gone AS (DELETE FROM tracking_waiting_billing WHERE received_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [before],
    );
    if (billing[0]?.n) this.logger.log({ message: 'billing reports expired unapplied', rows: billing[0].n, receivedBefore: before.toISOString() });
    if (total.rows > 0) this.logger.log({ message: 'parked callbacks expired', rows: total.rows, rawCallbacks: total.rawCallbacks });
    return total;
  }
}
