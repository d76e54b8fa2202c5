import { Injectable, Logger } from '@nestjs/common';
import { Database } from '../../../database/database';
import { appendToStreams } from '../../../event-store';
import { messageStreamId } from '../../domain';
import { DispatchJobs } from './dispatch-jobs';
import { action, DISPATCH_LOG_CONTEXT, jobFields } from './dispatch-log';
import { DispatchMetrics } from './dispatch-metrics';
import { outcomeUnknownEvent } from './dispatch-outcome';

/** Leases ended per transaction. */
const EXPIRY_BATCH = 100;

/**
 * Ends the leases of jobs still in flight after their lease ran out: their worker stopped (or
 * stalled) between claiming them and recording Gupshup's answer. A job whose request never
 * started is queued again, due now; one whose request started may have reached Gupshup, so it is
 * not sent again but parked as outcome_unknown with a WhatsAppDispatchOutcomeUnknown event.
 */
@Injectable()
export class LeaseExpiry {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);

  constructor(
    private readonly db: Database,
    private readonly jobs: DispatchJobs,
    private readonly metrics: DispatchMetrics,
  ) {}

  /** Every lease run out now, a batch per transaction, until none is left or `stopped()`. Returns how many. */
  async expireAll(stopped: () => boolean = () => false): Promise<number> {
    let total = 0;
    for (;;) {
      const ended = await this.expireBatch();
      total += ended;
      if (ended < EXPIRY_BATCH || stopped()) return total;
    }
  }

  /** One transaction: up to EXPIRY_BATCH leases ended. Returns how many. */
  async expireBatch(): Promise<number> {
    const { requeued, parked } = await this.db.transaction(async (tx) => {
      const expired = await this.jobs.expireLeases(tx, EXPIRY_BATCH);
      const detectedAt = new Date();
      await appendToStreams(
        tx,
        expired.parked.map((job) => ({
          streamId: messageStreamId(job.messageId),
          events: [outcomeUnknownEvent(job, job.attemptStartedAt, detectedAt)],
          expectedVersion: 'any' as const,
        })),
      );
      return expired;
    });
    this.metrics.leaseExpired('requeued', requeued.length);
    this.metrics.leaseExpired('outcome_unknown', parked.length);
    for (const job of requeued) {
      this.logger.warn({
        message: `attempt ${job.attempt} was claimed but its request to Gupshup never started, and its lease ran out; queued again, due now`,
        ...jobFields(job),
        reason: 'the lease ran out before the request started',
        ...action('requeued'),
      });
    }
    for (const job of parked) {
      this.metrics.outcome('outcome_unknown', 'lease_expired');
      this.logger.warn({
        message:
          `attempt ${job.attempt}, started ${job.attemptStartedAt.toISOString()}, has no recorded answer and its lease ran out; ` +
          'parked as outcome_unknown and not sent again (npm run cli -- dispatch:unknown lists such messages)',
        ...jobFields(job),
        reason: 'the lease ran out before the answer was recorded',
        ...action('outcome_unknown'),
        attemptStartedAt: job.attemptStartedAt.toISOString(),
      });
    }
    return requeued.length + parked.length;
  }
}
