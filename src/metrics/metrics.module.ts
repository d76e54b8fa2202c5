import { Global, Module } from '@nestjs/common';
import { makeGaugeProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HttpMetrics, httpRequestDurationProvider } from './http-metrics';
import { MetricsController } from './metrics.controller';
import {
  EVENT_LOG_PARTITIONS,
  EVENT_LOG_RETIRED_EVENTS,
  PROJECTION_LAG_EVENTS,
  PROJECTION_LAG_SECONDS,
  ProjectionMetrics,
  SUBSCRIPTION_FAILING_BATCHES,
  SUBSCRIPTION_PARTITIONS_HELD,
  WHATSAPP_MESSAGES,
} from './projection-metrics';
import { ScrapeTimeMetrics } from './scrape-time-metrics';

/**
 * Prometheus at GET /metrics, global so that any module can register its own metrics with
 * makeCounterProvider & co, and gauges read from the database at scrape time with
 * ScrapeTimeMetrics. Default Node.js metrics are on; HttpMetrics is fed by the request hooks.
 */
@Global()
@Module({
  imports: [PrometheusModule.register({ global: true, path: '/metrics', controller: MetricsController, defaultMetrics: { enabled: true } })],
  providers: [
    ProjectionMetrics,
    ScrapeTimeMetrics,
    HttpMetrics,
    httpRequestDurationProvider,
    makeGaugeProvider({
      name: PROJECTION_LAG_EVENTS,
      help: 'Events in the log that a subscription has not processed yet',
      labelNames: ['subscription'],
    }),
    makeGaugeProvider({
      name: PROJECTION_LAG_SECONDS,
      help: 'Age in seconds of the oldest event a subscription has not processed yet (0 when caught up)',
      labelNames: ['subscription'],
    }),
    makeGaugeProvider({
      name: SUBSCRIPTION_FAILING_BATCHES,
      help: "Tries of a subscription's batch that failed one after the other on this instance (0 once one succeeds): above 0 for long, one event fails on every try and holds up those after it",
      labelNames: ['subscription'],
    }),
    makeGaugeProvider({
      name: SUBSCRIPTION_PARTITIONS_HELD,
      help: 'Parts of a subscription cut in SUBSCRIPTION_PARTITIONS that this instance runs now (their sum over the instances is the partition count)',
      labelNames: ['subscription'],
    }),
    makeGaugeProvider({ name: WHATSAPP_MESSAGES, help: 'WhatsApp messages per current status, all apps', labelNames: ['status'] }),
    makeGaugeProvider({
      name: EVENT_LOG_PARTITIONS,
      help: 'Time partitions of the event log per kind (parent) and state: attached, detached (being retired), dropped (retired)',
      labelNames: ['parent', 'state'],
    }),
    makeGaugeProvider({
      name: EVENT_LOG_RETIRED_EVENTS,
      help: 'Events exported to EVENT_ARCHIVE_DIR and dropped from the log so far, per kind (parent)',
      labelNames: ['parent'],
    }),
  ],
  exports: [ProjectionMetrics, ScrapeTimeMetrics, HttpMetrics],
})
export class MetricsModule {}
