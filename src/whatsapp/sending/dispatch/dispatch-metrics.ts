import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit, type Provider } from '@nestjs/common';
import { InjectMetric, makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { Database } from '../../../database/database';
import { ScrapeTimeMetrics } from '../../../metrics/scrape-time-metrics';
import type { GupshupSendOutcome } from '../../gupshup/gupshup-client';

export const GUPSHUP_SEND_DURATION = 'gupshup_send_duration_seconds';
export const DISPATCH_OUTCOMES = 'whatsapp_dispatch_outcomes_total';
export const DISPATCH_JOBS = 'whatsapp_dispatch_jobs';
export const DISPATCH_OLDEST_DUE = 'whatsapp_dispatch_oldest_due_seconds';
export const DISPATCH_LEASE_EXPIRIES = 'whatsapp_dispatch_lease_expiries_total';

/**
 * How a call to Gupshup's send API ended, as the latency histogram labels it: `timeout` and
 * `connection_lost` may have reached Gupshup (never retried), `network_error` never did.
 */
export type GupshupCallLabel = 'accepted' | 'rejected' | 'retryable' | 'account' | 'timeout' | 'connection_lost' | 'network_error';

/**
 * What became of an attempt once recorded: `sent`, `retry` (due again later), `discarded`, or
 * `outcome_unknown` (its lease ran out with no answer recorded); `not_recorded` when this instance
 * could not record it (code NotRecordedReason).
 */
export type DispatchOutcome = 'sent' | 'retry' | 'discarded' | 'outcome_unknown' | 'not_recorded' | 'overtaken';

/**
 * Why an outcome was not recorded, as its `code` label: `taken_over` (the job's claim was no longer
 * this worker's: its lease ran out and it was queued again, or it was settled meanwhile) or
 * `database_error` (every try at writing it failed).
 */
export type NotRecordedReason = 'taken_over' | 'database_error';

/**
 * What ended a lease that ran out: `requeued` (the request had not started: the job is due again
 * now) or `outcome_unknown` (it had: the job is parked).
 */
export type LeaseExpiryAction = 'requeued' | 'outcome_unknown';

/** The job states counted at scrape time: the work not finished yet. */
const OPEN_STATES = ['pending', 'in_flight', 'outcome_unknown'] as const;

export function gupshupCallLabel(outcome: GupshupSendOutcome): GupshupCallLabel {
  if (outcome.outcome === 'unknown') return outcome.kind === 'timeout' ? 'timeout' : 'connection_lost';
  if (outcome.outcome !== 'retryable') return outcome.outcome;
  return outcome.kind === 'http' ? 'retryable' : 'network_error';
}

/** The HTTP status of a call's answer; 0 when there was none. */
export function answerStatus(outcome: GupshupSendOutcome): number {
  return 'httpStatus' in outcome ? (outcome.httpStatus ?? 0) : 0;
}

export const dispatchMetricProviders: Provider[] = [
  makeHistogramProvider({
    name: GUPSHUP_SEND_DURATION,
    help:
      "Calls to Gupshup's send API and how long they took, by outcome (accepted, rejected, retryable, account, network_error: never sent; timeout, connection_lost: maybe sent, never retried) and HTTP status (0: no answer)",
    labelNames: ['outcome', 'status_code'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  makeCounterProvider({
    name: DISPATCH_OUTCOMES,
    help: 'Dispatch attempts recorded, by outcome (sent, retry, discarded, outcome_unknown) and code (the discard code, or what failed; callback_{code} when a failed callback decided it); discards decided when the request was accepted are counted as discarded too, by their code; operator_resend and operator_settled count the operators\' decisions on parked messages, from their events; not_recorded counts outcomes this instance could not record, by code taken_over (the job was no longer its claim) or database_error; overtaken counts failed callbacks (callback_{code}) whose discard or retry, counted already, a later delivered or read receipt contradicted',
    labelNames: ['outcome', 'code'],
  }),
  makeGaugeProvider({
    name: DISPATCH_JOBS,
    help: 'Dispatch jobs not finished, by state: pending (queued or waiting for a retry), in_flight, outcome_unknown',
    labelNames: ['state'],
  }),
  makeCounterProvider({
    name: DISPATCH_LEASE_EXPIRIES,
    help: 'Dispatch leases that ran out with no answer recorded, by action: requeued (the request to Gupshup had not started) or outcome_unknown (it had)',
    labelNames: ['action'],
  }),
  makeGaugeProvider({
    name: DISPATCH_OLDEST_DUE,
    help: 'How long the oldest pending job has been due, in seconds (0 when none is due)',
  }),
];

/** Dispatch metrics: Gupshup call latencies and recorded outcomes as they happen, job counts read at scrape time. */
@Injectable()
export class DispatchMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('DispatchMetrics');
  private removeRefresh?: () => void;

  constructor(
    private readonly db: Database,
    private readonly scrapeTime: ScrapeTimeMetrics,
    @InjectMetric(GUPSHUP_SEND_DURATION) private readonly callDuration: Histogram<'outcome' | 'status_code'>,
    @InjectMetric(DISPATCH_OUTCOMES) private readonly outcomes: Counter<'outcome' | 'code'>,
    @InjectMetric(DISPATCH_JOBS) private readonly jobs: Gauge<'state'>,
    @InjectMetric(DISPATCH_OLDEST_DUE) private readonly oldestDue: Gauge,
    @InjectMetric(DISPATCH_LEASE_EXPIRIES) private readonly leaseExpiries: Counter<'action'>,
  ) {}

  onModuleInit(): void {
    this.removeRefresh = this.scrapeTime.add(() => this.refreshJobCounts());
  }

  onModuleDestroy(): void {
    this.removeRefresh?.();
  }

  gupshupCall(outcome: GupshupSendOutcome, seconds: number): void {
    this.callDuration.observe({ outcome: gupshupCallLabel(outcome), status_code: String(answerStatus(outcome)) }, seconds);
  }

  outcome(outcome: DispatchOutcome, code: string, count = 1): void {
    this.outcomes.inc({ outcome, code }, count);
  }

  /** An outcome this instance could not record: logged as not_recorded where it happened. */
  notRecorded(reason: NotRecordedReason): void {
    this.outcomes.inc({ outcome: 'not_recorded', code: reason });
  }

  leaseExpired(action: LeaseExpiryAction, count: number): void {
    if (count > 0) this.leaseExpiries.inc({ action }, count);
  }

  /** Each state has a partial index of its own, so each count reads only the jobs in that state. */
  private async refreshJobCounts(): Promise<void> {
    try {
      const [row] = await this.db.query<{ pending: string; in_flight: string; outcome_unknown: string; oldest_due_seconds: number | null }>(
        `SELECT (SELECT count(*) FROM whatsapp_dispatch_jobs WHERE state = 'pending') AS pending,
                (SELECT count(*) FROM whatsapp_dispatch_jobs WHERE state = 'in_flight') AS in_flight,
                (SELECT count(*) FROM whatsapp_dispatch_jobs WHERE state = 'outcome_unknown') AS outcome_unknown,
                (SELECT extract(epoch FROM now() - min(due_at))::float8 FROM whatsapp_dispatch_jobs
                  WHERE state = 'pending' AND due_at <= now()) AS oldest_due_seconds`,
      );
      for (const state of OPEN_STATES) this.jobs.set({ state }, Number(row[state]));
      this.oldestDue.set(Math.max(0, row.oldest_due_seconds ?? 0));
    } catch (error) {
      this.logger.warn(`dispatch job counts unavailable: ${(error as Error).message}`);
    }
  }
}
