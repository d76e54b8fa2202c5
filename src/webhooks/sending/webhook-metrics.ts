import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit, type Provider } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { Database } from '../../database/database';
import { ScrapeTimeMetrics } from '../../metrics/scrape-time-metrics';

export const WEBHOOK_ATTEMPTS = 'webhook_out_attempts_total';
export const WEBHOOK_ATTEMPT_DURATION = 'webhook_out_attempt_duration_seconds';
export const WEBHOOK_DELIVERY_LAG = 'webhook_out_delivery_lag_seconds';
export const WEBHOOK_DELIVERIES = 'webhook_out_deliveries';
export const WEBHOOK_ENDPOINTS_DISABLED = 'webhook_out_endpoints_disabled_total';

/** How an attempt ended: `delivered`, `retry` (due again later) or `failed` (given up). */
export type AttemptOutcome = 'delivered' | 'retry' | 'failed';

export const webhookMetricProviders: Provider[] = [
  makeCounterProvider({
    name: WEBHOOK_ATTEMPTS,
    help: "Attempts to post a delivery to a customer's endpoint, by outcome (delivered, retry, failed) and HTTP status (0: no answer)",
    labelNames: ['outcome', 'status_code'],
  }),
  makeHistogramProvider({
    name: WEBHOOK_ATTEMPT_DURATION,
    help: "How long customers' endpoints took to answer a delivery, by outcome",
    labelNames: ['outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  makeHistogramProvider({
    name: WEBHOOK_DELIVERY_LAG,
    help: 'From the commit of a status change to its delivery being acknowledged by the endpoint, in seconds',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
  }),
  makeGaugeProvider({ name: WEBHOOK_DELIVERIES, help: 'Deliveries not finished, by state: pending (new, or waiting for a retry or for an earlier delivery of the same message), in_flight', labelNames: ['state'] }),
  makeCounterProvider({ name: WEBHOOK_ENDPOINTS_DISABLED, help: 'Endpoints disabled after failing for WEBHOOK_OUT_DISABLE_AFTER_HOURS without a success' }),
];

@Injectable()
export class WebhookMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('WebhookMetrics');
  private removeRefresh?: () => void;

  constructor(
    private readonly db: Database,
    private readonly scrapeTime: ScrapeTimeMetrics,
    @InjectMetric(WEBHOOK_ATTEMPTS) private readonly attempts: Counter<'outcome' | 'status_code'>,
    @InjectMetric(WEBHOOK_ATTEMPT_DURATION) private readonly duration: Histogram<'outcome'>,
    @InjectMetric(WEBHOOK_DELIVERY_LAG) private readonly lag: Histogram,
    @InjectMetric(WEBHOOK_DELIVERIES) private readonly deliveries: Gauge<'state'>,
    @InjectMetric(WEBHOOK_ENDPOINTS_DISABLED) private readonly disabled: Counter,
  ) {}

  onModuleInit(): void {
    this.removeRefresh = this.scrapeTime.add(() => this.refresh());
  }

  onModuleDestroy(): void {
    this.removeRefresh?.();
  }

  attempt(outcome: AttemptOutcome, statusCode: number | null, seconds: number): void {
    this.attempts.inc({ outcome, status_code: String(statusCode ?? 0) });
    this.duration.observe({ outcome }, seconds);
  }

  delivered(lagSeconds: number): void {
    this.lag.observe(Math.max(0, lagSeconds));
  }

  endpointDisabled(): void {
    this.disabled.inc();
  }

  private async refresh(): Promise<void> {
    try {
      const [row] = await this.db.query<{ pending: string; in_flight: string }>(
        `SELECT (SELECT count(*) FROM webhook_deliveries WHERE state IN ('pending', 'waiting')) AS pending,
                (SELECT count(*) FROM webhook_deliveries WHERE state = 'in_flight') AS in_flight`,
      );
      this.deliveries.set({ state: 'pending' }, Number(row.pending));
      this.deliveries.set({ state: 'in_flight' }, Number(row.in_flight));
    } catch (error) {
      this.logger.warn(`webhook delivery counts unavailable: ${(error as Error).message}`);
    }
  }
}
