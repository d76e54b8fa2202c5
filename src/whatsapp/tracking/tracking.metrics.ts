import { Injectable, Logger, type OnModuleDestroy, type Provider } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { Database } from '../../database/database';
import type { DeliveryStatusChanged } from '../domain';
import { countParkedByState } from './parking/parked-callbacks';

export const CALLBACKS_RECEIVED = 'whatsapp_callbacks_received_total';
export const STATUS_CHANGES = 'whatsapp_delivery_status_changes_total';
export const PARKED_CALLBACKS = 'whatsapp_parked_callbacks';
export const PARKED_APPLIED = 'whatsapp_parked_callbacks_applied_total';
export const DISPATCHES_RECONCILED = 'whatsapp_dispatches_reconciled_total';
export const CALLBACK_BATCH_SIZE = 'whatsapp_callback_batch_size';
export const PARKED_EXPIRED = 'whatsapp_parked_callbacks_expired_total';

/**
 * What became of a callback. The webhook counts `unknown_app` and `dropped` (junk past the app's
 * hourly budget, answered but not stored); the translator counts the rest, once per report.
 * `after_receipt`: a `failed` report received after its message's delivered or read receipt,
 * kept in the timeline only (the message stays delivered or seen).
 */
export type CallbackOutcome = 'applied' | 'duplicate' | 'parked' | 'after_receipt' | 'ignored' | 'invalid' | 'unknown_app' | 'dropped';
export type CallbackFormatLabel = 'v2' | 'v3' | 'unknown';

/** The callback kinds a label may name; anything else is `other`, so a sender cannot grow the label set. */
const KNOWN_KINDS = new Set([
  'enqueued',
  'sent',
  'delivered',
  'read',
  'failed',
  'user-event',
  'billing-event',
  'template-event',
  'account-event',
  'onboarding-event',
  'preference-event',
  'message',
  'deleted',
  'mismatch',
  'others',
  'invalid',
  'unknown',
]);

export function kindLabel(kind: string): string {
  return KNOWN_KINDS.has(kind) ? kind : 'other';
}

/**
 * Reads the count of parked callbacks at each scrape: the table, not this process, knows it.
 * prom-client keeps one gauge per process, bound to the first instance that created it; an
 * instance started later in the same process (tests restart the service) takes over from it.
 */
@Injectable()
export class ParkedCallbackCounter implements OnModuleDestroy {
  private static readonly live: ParkedCallbackCounter[] = [];
  private readonly logger = new Logger('DeliveryTracking');

  constructor(private readonly db: Database) {
    ParkedCallbackCounter.live.push(this);
  }

  onModuleDestroy(): void {
    const index = ParkedCallbackCounter.live.indexOf(this);
    if (index >= 0) ParkedCallbackCounter.live.splice(index, 1);
  }

  async update(gauge: Gauge<string>): Promise<void> {
    const current = ParkedCallbackCounter.live.at(-1);
    if (!current) return;
    try {
      const counts = await countParkedByState(current.db);
      for (const [state, count] of Object.entries(counts)) gauge.set({ state }, count);
    } catch (error) {
      this.logger.warn(`could not count parked callbacks for /metrics: ${(error as Error).message}`);
    }
  }
}

export const trackingMetricProviders: Provider[] = [
  makeCounterProvider({
    name: CALLBACKS_RECEIVED,
    help: 'Gupshup callbacks, one per delivery report (or per ignored or invalid body), by format, kind and what became of them',
    labelNames: ['format', 'kind', 'outcome'],
  }),
  makeCounterProvider({
    name: STATUS_CHANGES,
    help: 'DeliveryStatusChanged events recorded on message streams, by the status they report (a failure after the message\'s receipt changes none and is not counted)',
    labelNames: ['status'],
  }),
  makeCounterProvider({
    name: PARKED_APPLIED,
    help: 'Parked callbacks applied once the message they name became known',
  }),
  makeCounterProvider({
    name: DISPATCHES_RECONCILED,
    help: 'Messages whose lost send answer was recovered from a callback for the same phone number',
  }),
  makeHistogramProvider({
    name: CALLBACK_BATCH_SIZE,
    help: 'Callbacks recorded per statement by the webhook (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
  }),
  makeCounterProvider({
    name: PARKED_EXPIRED,
    help: 'Parked or invalid callbacks removed after RAW_CALLBACK_RETENTION_DAYS without ever being applied',
  }),
  ParkedCallbackCounter,
  makeGaugeProvider({
    name: PARKED_CALLBACKS,
    help: 'Callbacks kept without being applied: waiting for their message, or invalid',
    labelNames: ['state'],
    inject: [ParkedCallbackCounter],
    async collect(this: Gauge<string>, counter: ParkedCallbackCounter) {
      await counter.update(this);
    },
  }),
];

@Injectable()
export class TrackingMetrics {
  constructor(
    @InjectMetric(CALLBACKS_RECEIVED) private readonly received: Counter<string>,
    @InjectMetric(STATUS_CHANGES) private readonly statusChanges: Counter<string>,
    @InjectMetric(PARKED_APPLIED) private readonly parkedApplied: Counter<string>,
    @InjectMetric(DISPATCHES_RECONCILED) private readonly reconciled: Counter<string>,
    @InjectMetric(CALLBACK_BATCH_SIZE) private readonly batchSize: Histogram<string>,
    @InjectMetric(PARKED_EXPIRED) private readonly parkedExpired: Counter<string>,
  ) {}

  expired(rows: number): void {
    if (rows > 0) this.parkedExpired.inc(rows);
  }

  callback(format: CallbackFormatLabel, kind: string, outcome: CallbackOutcome, count = 1): void {
    this.received.inc({ format, kind: kindLabel(kind), outcome }, count);
  }

  batch(size: number): void {
    this.batchSize.observe(size);
  }

  recordApplied(appended: readonly DeliveryStatusChanged[], unparked: number, reconciled: number): void {
    // A failure after the receipt is no status change: the message keeps the receipt's.
    for (const event of appended) if (!event.data.afterReceipt) this.statusChanges.inc({ status: event.data.status });
    if (unparked > 0) this.parkedApplied.inc(unparked);
    if (reconciled > 0) this.reconciled.inc(reconciled);
  }
}
