import { Injectable } from '@nestjs/common';
import { Database, type SqlExecutor } from '../../../database/database';
import { EventStore } from '../../../event-store/event-store';
import { DeliveryStatusChanged, messageStreamId, WhatsAppMessageSent } from '../../domain';
import { appendToStreams } from '../../../event-store';
import { DispatchJobs, lockOutcomeUnknownJob, type DispatchJobRow } from './dispatch-jobs';
import { dispatchEventId } from './dispatch-outcome';

/**
 * Settles messages parked as outcome_unknown (docs/dispatch-policy.md): as sent, when Gupshup's id
 * for the message is learnt afterwards (a callback for its destination, or Gupshup's own logs),
 * or sent again when an operator decides Gupshup never got it.
 */
@Injectable()
export class OutcomeUnknownResolver {
  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly jobs: DispatchJobs,
  ) {}

  /** Parked jobs, oldest first. */
  list(options: { appId?: string; limit?: number } = {}): Promise<DispatchJobRow[]> {
    return this.jobs.listOutcomeUnknown(options);
  }

  /**
   * Marks a parked message as sent with Gupshup's `messageId`, appending WhatsAppMessageSent for the
   * parked attempt (the same event id the dispatcher would have used, so it is stored once), in
   * `tx` when given. Returns false when the message is not parked (never was, or already settled).
   */
  async settleAsSent(messageId: string, providerMessageId: string, tx?: SqlExecutor): Promise<boolean> {
    const work = async (executor: SqlExecutor) => {
      const job = await this.jobs.settleOutcomeUnknownAsSent(executor, messageId, providerMessageId);
      if (!job) return false;
      const sent = new WhatsAppMessageSent(
        { appId: job.appId, messageId, providerMessageId, attempt: job.attempts, sentAt: (job.attemptStartedAt ?? job.updatedAt).toISOString() },
        dispatchEventId(messageId, job.attempts, 'sent'),
      );
      await appendToStreams(executor, [{ streamId: messageStreamId(messageId), events: [sent], expectedVersion: 'any' }]);
      return true;
    };
    return tx ? work(tx) : this.db.transaction(work);
  }

  /**
   * An operator's decision: send a parked message again now, as a new attempt. Refused (false)
   * when it is not parked, or when its stream already shows that Gupshup has it (a send result or
   * a callback recorded since): sending it again would deliver it twice.
   */
  async resend(messageId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Under the job's lock, the stream read below sees a send result the translator committed meanwhile.
      if (!(await lockOutcomeUnknownJob(tx, messageId))) return false;
      const events = await this.store.readStream(messageStreamId(messageId), { tx });
      if (events.some((event) => event instanceof WhatsAppMessageSent || event instanceof DeliveryStatusChanged)) return false;
      return Boolean(await this.jobs.requeueOutcomeUnknown(tx, messageId));
    });
  }
}
