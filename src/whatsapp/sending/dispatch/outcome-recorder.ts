import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../../config/app-config';
import { Database } from '../../../database/database';
import { isDatabaseUnavailable } from '../../../database/database-errors';
import { GroupCommitBatcher } from '../../../database/group-commit-batcher';
import { appendToStreams } from '../../../event-store';
import { messageStreamId, WhatsAppDispatchFailed, WhatsAppMessageDiscarded } from '../../domain';
import { DispatchPauses } from '../pausing/dispatch-pauses';
import type { WhatsAppDispatchPausedData } from '../pausing/dispatch-pause.events';
import { DispatchJobs, type ClaimedJob } from './dispatch-jobs';
import { action, DISPATCH_LOG_CONTEXT, failureCode, formatDelay, jobFields } from './dispatch-log';
import { DispatchMetrics } from './dispatch-metrics';
import type { AttemptDecision } from './dispatch-outcome';

/** Outcomes written in one transaction at most. */
const MAX_BATCH = 200;
/** Transactions writing outcomes at the same time. */
const MAX_WRITERS = 2;
/**
 * How long the first outcome after a quiet spell waits for others to share its transaction. Each
 * commit of events wakes every subscription: a rate-limited app's sends, arriving a few
 * milliseconds apart, would otherwise cost a transaction here and one per subscription each.
 * It also bounds how long an answer waits in memory before its write starts.
 */
const OUTCOME_LINGER_MS = 20;
/** Tries at recording an outcome before leaving the job to its lease (and the outcome_unknown policy). */
const RECORD_ATTEMPTS = 4;
const RECORD_RETRY_MS = 100;

interface Outcome {
  job: ClaimedJob;
  decision: AttemptDecision;
  /** Calls made so far, this one included when it was made. */
  attempts: number;
}

/**
 * Writes attempt outcomes (job update and events in one transaction) as they come, with group
 * commit: outcomes arriving together share a transaction, one statement for the jobs and one for
 * the events, instead of one transaction per message. Each recorded outcome is logged and counted.
 */
@Injectable()
export class OutcomeRecorder {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);
  private readonly batcher: GroupCommitBatcher<Outcome, boolean>;
  private readonly maxAttempts: number;

  constructor(
    config: AppConfig,
    private readonly db: Database,
    private readonly jobs: DispatchJobs,
    private readonly metrics: DispatchMetrics,
    private readonly pauses: DispatchPauses,
  ) {
    this.maxAttempts = config.get('DISPATCH_MAX_ATTEMPTS');
    this.batcher = new GroupCommitBatcher<Outcome, boolean>(
      { commitBatch: (outcomes) => this.commit(outcomes), retryItemsAlone: (error) => !isDatabaseUnavailable(error) },
      { maxWaitMs: OUTCOME_LINGER_MS, maxBatchSize: MAX_BATCH, maxConcurrentBatches: MAX_WRITERS },
    );
  }

  /**
   * Records an attempt's outcome, retried a few times: Gupshup has answered, and losing that
   * answer would leave the message to the outcome_unknown policy. `attempts` is the number of calls
   * made (one less than the claimed attempt when it ended before calling). Never rejects.
   */
  async record(job: ClaimedJob, decision: AttemptDecision, attempts = callsMade(job, decision)): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        const applied = await this.batcher.submit({ job, decision, attempts });
        if (applied) this.report(job, decision);
        else {
          this.metrics.notRecorded('taken_over');
          this.logger.warn({
            message: `attempt ${job.attempt} ended (${decision.job.state}) after its job was taken over; not recorded`,
            ...jobFields(job),
            outcome: decision.job.state,
            code: 'taken_over',
            ...action('not_recorded'),
          });
        }
        return;
      } catch (error) {
        if (tries >= RECORD_ATTEMPTS) {
          this.metrics.notRecorded('database_error');
          this.logger.error({
            message:
              `cannot record attempt ${job.attempt} (${decision.job.state}): ${(error as Error).message}; ` +
              'when its lease runs out it is parked as outcome_unknown if its request had started, else queued again',
            ...jobFields(job),
            outcome: decision.job.state,
            code: 'database_error',
            ...action('not_recorded'),
          });
          return;
        }
        await sleep(RECORD_RETRY_MS * 2 ** (tries - 1));
      }
    }
  }

  /** One transaction for a batch: true for each outcome that applied (its claim was still the job's). */
  private async commit(outcomes: Outcome[]): Promise<boolean[]> {
    let paused: WhatsAppDispatchPausedData[] = [];
    const applied = await this.db.transaction(async (tx) => {
      const recorded = await this.jobs.recordOutcomes(
        tx,
        outcomes.map(({ job, decision, attempts }) => ({ job, outcome: decision.job, attempts })),
      );
      const kept = outcomes.filter(({ job }) => recorded.has(job.messageId));
      await appendToStreams(
        tx,
        kept.map(({ job, decision }) => ({ streamId: messageStreamId(job.messageId), events: decision.events, expectedVersion: 'any' as const })),
      );
      // An account-level answer pauses the app with the message that met it, in the same transaction.
      paused = await this.pauses.pause(
        tx,
        kept.flatMap(({ job, decision }) =>
          decision.pause ? [{ appId: job.appId, code: decision.pause.code, reason: decision.pause.reason, messageId: job.messageId, learntFrom: 'send_answer' as const }] : [],
        ),
      );
      return recorded;
    });
    this.pauses.reportPaused(paused);
    return outcomes.map(({ job }) => applied.has(job.messageId));
  }

  /**
   * The line and the count of a recorded outcome: a send at debug level; a retry (with when it is
   * due) or a discard once each, with the reason.
   */
  private report(job: ClaimedJob, decision: AttemptDecision): void {
    const outcome = decision.job;
    const fields = { ...jobFields(job), maxAttempts: this.maxAttempts };
    const ofMax = `attempt ${job.attempt} of ${this.maxAttempts}`;
    const failed = decision.events.find((event) => event instanceof WhatsAppDispatchFailed)?.data;
    const failure = failed ? { errorKind: failed.errorKind, ...(failed.httpStatus !== undefined ? { httpStatus: failed.httpStatus } : {}) } : {};
    switch (outcome.state) {
      case 'sent':
        this.metrics.outcome('sent', 'accepted');
        this.logger.debug({ message: `sent: ${ofMax} accepted by Gupshup as ${outcome.providerMessageId}`, ...fields, gupshupMessageId: outcome.providerMessageId, ...action('sent') });
        return;
      case 'pending': {
        if (decision.pause) {
          this.metrics.outcome('retry', `paused_${decision.pause.code}`);
          this.logger.warn({
            message: `${ofMax} failed with account-level code ${decision.pause.code} (${outcome.lastError}); queued again, held while the app's dispatch is paused`,
            ...fields,
            reason: outcome.lastError,
            ...failure,
            code: decision.pause.code,
            ...action('retry'),
          });
          return;
        }
        const retryInMs = Math.max(0, outcome.dueAt.getTime() - Date.now());
        // The line's code is the metric's label (`http_503`, `network`), as a discard's is `http_401`.
        const code = failureCode(failed?.errorKind, failed?.httpStatus);
        this.metrics.outcome('retry', code);
        this.logger.warn({
          message: `${ofMax} failed (${outcome.lastError}); next try at ${outcome.dueAt.toISOString()}, in ${formatDelay(retryInMs)}`,
          ...fields,
          reason: outcome.lastError,
          ...failure,
          code,
          // Why an error answer was tried again: the passing failure code it carried (`4002`, `130429`).
          ...(failed?.code !== undefined ? { failureCode: failed.code } : {}),
          nextAttemptAt: outcome.dueAt.toISOString(),
          retryInMs,
          ...action('retry'),
        });
        return;
      }
      case 'outcome_unknown':
        this.metrics.outcome('outcome_unknown', 'answer_lost');
        this.logger.warn({
          message: `${ofMax} may have reached Gupshup but got no answer (${outcome.lastError}); not sent again: parked as outcome_unknown until a callback or an operator settles it`,
          ...fields,
          reason: outcome.lastError,
          ...action('outcome_unknown'),
        });
        return;
      case 'discarded': {
        const discarded = decision.events.find((event) => event instanceof WhatsAppMessageDiscarded)?.data;
        const code = discarded?.code ?? 'discarded';
        const reason = discarded?.reason ?? outcome.lastError;
        this.metrics.outcome('discarded', code);
        this.logger.warn({
          message: `discarded (${code}) ${failed ? `after ${ofMax}` : `before calling Gupshup for ${ofMax}`}: ${reason}`,
          ...fields,
          code,
          reason,
          ...failure,
          ...action('discard'),
        });
        return;
      }
    }
  }
}

/** Calls made so far: the claimed attempt's, except a call whose outcome is unknown, recorded as not made yet (a settlement or a resend counts it). */
function callsMade(job: ClaimedJob, decision: AttemptDecision): number {
  return decision.job.state === 'outcome_unknown' ? job.attempt - 1 : job.attempt;
}
