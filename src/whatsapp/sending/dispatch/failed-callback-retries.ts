import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import type { SqlExecutor } from '../../../database/database';
import { failureClassOf, type FailedCallbackRetry } from '../../domain';
import { DispatchPauses, type PauseCause } from '../pausing/dispatch-pauses';
import type { DispatchJobState } from './dispatch-jobs';
import { DISPATCH_LOG_CONTEXT, formatDelay } from './dispatch-log';
import { DispatchMetrics } from './dispatch-metrics';
import { retryDelayMs, type RetryPolicy } from './dispatch-outcome';

/** A `failed` callback of a message this service sent. */
export interface FailedCallback {
  appId: string;
  messageId: string;
  /** The Gupshup id the failure is about (the attempt's). */
  gupshupMessageId?: string;
  code?: string;
  reason?: string;
}

interface JobRow {
  message_id: string;
  state: DispatchJobState;
  provider_message_id: string | null;
  attempts: number;
}

/**
 * What a `failed` callback does to the message's job, by its code's class (failure-classes.ts):
 * a passing failure of the message's latest attempt sends it back to the queue, due after the
 * dispatch backoff, while it has attempts left; an account-level one sends it back due now and
 * pauses the app. The callback is then recorded as one try (DeliveryStatusChanged with `retry`),
 * which leaves the message's status where it was instead of discarding it. A permanent failure,
 * or a passing one at the last attempt, ends the message as before.
 *
 * Runs in the callback translator's transaction, so the job's change and the event commit
 * together; each job is locked, and only a job still `sent` under the id the callback names is
 * sent back: a copy of the same callback, arriving later, finds it moved on and changes nothing.
 */
@Injectable()
export class FailedCallbackRetries {
  private readonly logger = new Logger(DISPATCH_LOG_CONTEXT);
  private readonly policy: RetryPolicy;

  constructor(
    config: AppConfig,
    private readonly pauses: DispatchPauses,
    private readonly metrics: DispatchMetrics,
  ) {
    this.policy = { maxAttempts: config.get('DISPATCH_MAX_ATTEMPTS'), backoffMs: config.get('DISPATCH_BACKOFF_MS') };
  }

  /** Per failure, the retry to record with it, or undefined when it ends the message. */
  async decide(tx: SqlExecutor, failures: readonly FailedCallback[], now = new Date()): Promise<(FailedCallbackRetry | undefined)[]> {
    const candidates = failures.map((failure) => failureClassOf(failure.code)).map((failureClass) => (failureClass === 'permanent' ? undefined : failureClass));
    const messageIds = [...new Set(failures.filter((_, index) => candidates[index] !== undefined).map((failure) => failure.messageId))];
    if (messageIds.length === 0) return failures.map(() => undefined);

    const rows = await tx.query<JobRow>(
      `SELECT message_id, state, provider_message_id, attempts FROM whatsapp_dispatch_jobs
        WHERE message_id = ANY ($1::uuid[]) ORDER BY message_id FOR UPDATE`,
      [messageIds],
    );
    const jobs = new Map(rows.map((row) => [row.message_id, row]));
    const requeued: { messageId: string; dueAt: Date; lastError: string }[] = [];
    const pauseCauses: PauseCause[] = [];
    const retries = failures.map((failure, index): FailedCallbackRetry | undefined => {
      const failureClass = candidates[index];
      const job = jobs.get(failure.messageId);
      if (!failureClass || !job || !failure.gupshupMessageId || job.provider_message_id === null) return undefined;
      const about = failure.gupshupMessageId;
      if (job.state !== 'sent' || job.provider_message_id !== about) {
        // A copy of a failure already sent back (the job is queued again under the same id), or
        // one about an earlier try (the job has moved on to another id): a try, not the end.
        // A parked or closed job is left to its own path (settlement, or the end of the message).
        if (job.state === 'outcome_unknown' || job.state === 'discarded') return undefined;
        return { attempt: job.attempts, failureClass, nextAttemptAt: null };
      }
      const lastError = `failed callback ${failure.code}: ${failure.reason ?? 'no reason given'}`;
      if (failureClass === 'account') {
        pauseCauses.push({ appId: failure.appId, code: failure.code!, reason: failure.reason ?? `failure code ${failure.code}`, messageId: failure.messageId, learntFrom: 'callback' });
        requeued.push({ messageId: job.message_id, dueAt: now, lastError });
        job.state = 'pending';
        this.reportRetry(failure, job.attempts, null);
        return { attempt: job.attempts, failureClass, nextAttemptAt: null };
      }
      if (job.attempts >= this.policy.maxAttempts) {
        this.logger.warn({
          message: `failed callback ${failure.code} (passing) at attempt ${job.attempts} of ${this.policy.maxAttempts}: no attempt left, the message ends failed`,
          appId: failure.appId,
          messageId: failure.messageId,
          attempt: job.attempts,
          code: failure.code,
          gupshupMessageId: about,
        });
        return undefined;
      }
      const dueAt = new Date(now.getTime() + retryDelayMs(job.attempts, this.policy.backoffMs));
      requeued.push({ messageId: job.message_id, dueAt, lastError });
      job.state = 'pending';
      this.reportRetry(failure, job.attempts, dueAt);
      return { attempt: job.attempts, failureClass, nextAttemptAt: dueAt.toISOString() };
    });

    if (requeued.length > 0) {
      await tx.query(
        `UPDATE whatsapp_dispatch_jobs j
            SET state = 'pending', due_at = r.due_at, last_error = r.last_error, lease_token = NULL, locked_until = NULL,
                attempt_started_at = NULL, updated_at = now()
           FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS r (message_id, due_at, last_error)
          WHERE j.message_id = r.message_id AND j.state = 'sent'`,
        [requeued.map((r) => r.messageId), requeued.map((r) => r.dueAt), requeued.map((r) => r.lastError)],
      );
    }
    this.pauses.reportPaused(await this.pauses.pause(tx, pauseCauses));
    return retries;
  }

  private reportRetry(failure: FailedCallback, attempt: number, dueAt: Date | null): void {
    this.metrics.outcome('retry', `callback_${failure.code}`);
    const fields = {
      appId: failure.appId,
      messageId: failure.messageId,
      attempt,
      maxAttempts: this.policy.maxAttempts,
      code: failure.code,
      reason: failure.reason,
      gupshupMessageId: failure.gupshupMessageId,
      action: 'retry',
    };
    if (dueAt === null) {
      this.logger.warn({ message: `attempt ${attempt} failed with account-level code ${failure.code} (callback); queued again, held while the app's dispatch is paused`, ...fields, nextAttemptAt: null });
      return;
    }
    const retryInMs = Math.max(0, dueAt.getTime() - Date.now());
    this.logger.warn({
      message: `attempt ${attempt} of ${this.policy.maxAttempts} failed with passing code ${failure.code} (callback); next try at ${dueAt.toISOString()}, in ${formatDelay(retryInMs)}`,
      ...fields,
      nextAttemptAt: dueAt.toISOString(),
      retryInMs,
    });
  }
}
