import { Injectable, Logger } from '@nestjs/common';
import { Database, type SqlExecutor } from '../../../database/database';
import { EventStore } from '../../../event-store/event-store';
import { DeliveryStatusChanged, messageStreamId, WhatsAppMessageSent } from '../../domain';
import { appendToStreams, type StoreEvent } from '../../../event-store';
import { DispatchJobs, lockOutcomeUnknownJob, type DispatchJobRow } from './dispatch-jobs';
import { action, DISPATCH_LOG_CONTEXT } from './dispatch-log';
import { dispatchEventId } from './dispatch-outcome';
import { WhatsAppDispatchResolvedByOperator } from './operator-resolution';

/**
 * Settles messages parked as outcome_unknown (docs/dispatch-policy.md): as sent, when Gupshup's id
 * for the message is learnt afterwards (a callback for its destination, or Gupshup's own logs),
 * or sent again when an operator decides Gupshup never got it.
 */
@Injectable()
export class OutcomeUnknownResolver {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);

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
   * An operator's decision: logged (`action: settle`), and recorded as WhatsAppDispatchResolvedByOperator,
   * from which the service counts it (`sent`, `operator_settled`).
   */
  async settleAsSent(messageId: string, providerMessageId: string, tx?: SqlExecutor): Promise<boolean> {
    const work = async (executor: SqlExecutor) => {
      const job = await this.jobs.settleOutcomeUnknownAsSent(executor, messageId, providerMessageId);
      if (!job) return undefined;
      const sent = new WhatsAppMessageSent(
        { appId: job.appId, messageId, providerMessageId, attempt: job.attempts, sentAt: (job.attemptStartedAt ?? job.updatedAt).toISOString() },
        dispatchEventId(messageId, job.attempts, 'sent'),
      );
      const resolved = new WhatsAppDispatchResolvedByOperator(
        { appId: job.appId, messageId, attempt: job.attempts, resolution: 'settle', gupshupMessageId: providerMessageId, resolvedAt: new Date().toISOString() },
        dispatchEventId(messageId, job.attempts, 'operator_settle'),
      );
      await appendToStreams(executor, [{ streamId: messageStreamId(messageId), events: [sent, resolved], expectedVersion: 'any' }]);
      return job;
    };
    const settled = await (tx ? work(tx) : this.db.transaction(work));
    if (!settled) return false;
    this.logger.warn({
      message: `attempt ${settled.attempts}, parked as outcome_unknown, recorded as sent by an operator with Gupshup's id ${providerMessageId}`,
      appId: settled.appId,
      messageId,
      requestId: settled.requestId,
      attempt: settled.attempts,
      gupshupMessageId: providerMessageId,
      ...action('settle'),
    });
    return true;
  }

  /**
   * An operator's decision: send a parked message again now, as a new attempt. Refused (false)
   * when it is not parked, or when its stream already shows that Gupshup may have it (a send
   * result of the parked attempt, or a callback not about an earlier attempt's Gupshup id):
   * sending it again would deliver it twice. Logged (`action: resend`), and recorded as
   * WhatsAppDispatchResolvedByOperator, from which the service counts it (`retry`, `operator_resend`).
   */
  async resend(messageId: string): Promise<boolean> {
    const requeued = await this.db.transaction(async (tx) => {
      // Under the job's lock, the stream read below sees a send result the translator committed meanwhile.
      if (!(await lockOutcomeUnknownJob(tx, messageId))) return false;
      const job = await this.jobs.find(messageId, tx);
      if (!job) return false;
      const events: StoreEvent<object>[] = await this.store.readStream(messageStreamId(messageId), { tx });
      // A message tried again after a failed callback has sends and callbacks of its earlier
      // attempts (up to job.attempts): only what may be about the parked one forbids a resend.
      const earlierIds = new Set(
        events.filter((event): event is WhatsAppMessageSent => event instanceof WhatsAppMessageSent && event.data.attempt <= job.attempts).map((event) => event.data.providerMessageId),
      );
      const gupshupMayHaveIt = events.some(
        (event) =>
          (event instanceof WhatsAppMessageSent && event.data.attempt > job.attempts) ||
          (event instanceof DeliveryStatusChanged && !(event.data.providerMessageId !== undefined && earlierIds.has(event.data.providerMessageId))),
      );
      if (gupshupMayHaveIt) return false;
      const row = await this.jobs.requeueOutcomeUnknown(tx, messageId);
      if (!row) return row;
      const resolved = new WhatsAppDispatchResolvedByOperator(
        { appId: row.appId, messageId, attempt: row.attempts, resolution: 'resend', resolvedAt: new Date().toISOString() },
        dispatchEventId(messageId, row.attempts, 'operator_resend'),
      );
      await appendToStreams(tx, [{ streamId: messageStreamId(messageId), events: [resolved], expectedVersion: 'any' }]);
      return row;
    });
    if (!requeued) return false;
    this.logger.warn({
      message: `parked as outcome_unknown, sent again by an operator as attempt ${requeued.attempts + 1}, due now (Gupshup is taken not to have attempt ${requeued.attempts})`,
      appId: requeued.appId,
      messageId,
      requestId: requeued.requestId,
      attempt: requeued.attempts + 1,
      ...action('resend'),
    });
    return true;
  }
}
