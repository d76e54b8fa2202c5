import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../../config/app-config';
import type { SqlExecutor } from '../../../database/database';
import { FAILURE_CODES, failureClassOf, type DeliveryFailureOvertakenData, type FailedCallbackRetry } from '../../domain';
import { DispatchPauses, type PauseCause } from '../pausing/dispatch-pauses';
import type { DispatchJobState } from './dispatch-jobs';
import { action, DISPATCH_LOG_CONTEXT, formatDelay } from './dispatch-log';
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

/** A receipt (delivered or read) recorded after a failed callback that had discarded its message or sent it back to the queue. */
export type ReceiptAfterFailure = DeliveryFailureOvertakenData;

interface JobRow {
  message_id: string;
  request_id: string;
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
      `SELECT message_id, request_id, state, provider_message_id, attempts FROM whatsapp_dispatch_jobs
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
        this.reportRetry(failure, job.request_id, job.attempts, null);
        return { attempt: job.attempts, failureClass, nextAttemptAt: null };
      }
      // No attempt left: the message ends discarded, logged with the other discards (reportDiscards).
      if (job.attempts >= this.policy.maxAttempts) return undefined;
      const dueAt = new Date(now.getTime() + retryDelayMs(job.attempts, this.policy.backoffMs));
      requeued.push({ messageId: job.message_id, dueAt, lastError });
      job.state = 'pending';
      this.reportRetry(failure, job.request_id, job.attempts, dueAt);
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

  /**
   * The line and the count of each message a `failed` callback ended (its DeliveryStatusChanged
   * newly stored without `retry`, so a copy of the callback or translating it again adds none):
   * a permanent code, a passing one at the last attempt, or a job already parked or closed.
   * Read in the translator's transaction, for the notification's id and the attempts made.
   */
  async reportDiscards(tx: SqlExecutor, discards: readonly FailedCallback[]): Promise<void> {
    if (discards.length === 0) return;
    const rows = await tx.query<{ message_id: string; request_id: string; attempts: number }>(
      'SELECT message_id, request_id, attempts FROM whatsapp_dispatch_jobs WHERE message_id = ANY ($1::uuid[])',
      [[...new Set(discards.map((discard) => discard.messageId))]],
    );
    const jobs = new Map(rows.map((row) => [row.message_id, row]));
    for (const discard of discards) {
      const job = jobs.get(discard.messageId);
      const failureClass = failureClassOf(discard.code);
      const code = callbackCodeLabel(discard.code);
      const why =
        failureClass === 'permanent'
          ? `permanent failure ${discard.code ?? '(no code)'}`
          : job && job.attempts >= this.policy.maxAttempts
            ? `${failureClass} failure ${discard.code} at attempt ${job.attempts} of ${this.policy.maxAttempts}: no attempt left`
            : `${failureClass} failure ${discard.code} about an attempt that is no longer the message's`;
      this.metrics.outcome('discarded', code);
      this.logger.warn({
        message: `discarded (${code}) by a failed callback: ${why} (${discard.reason ?? 'no reason given'})`,
        appId: discard.appId,
        messageId: discard.messageId,
        ...(job ? { requestId: job.request_id, attempt: job.attempts } : {}),
        maxAttempts: this.policy.maxAttempts,
        gupshupMessageId: discard.gupshupMessageId,
        code: discard.code,
        reason: discard.reason,
        failureClass,
        ...action('discard'),
      });
    }
  }

  /**
   * Receipts that came after the failed callback that had ended their message or sent it back
   * (Gupshup gives no order: the receipt may even be dated before the failure). The message reached
   * the phone, so a resend of the attempt the receipt is about, not yet started, is withdrawn: its
   * job is closed as `sent` under that attempt's id, and a worker holding it fails to mark it
   * started. One line per message says what the receipt overtook; a discard already logged and
   * counted stays so (the message's status is the receipt's).
   */
  async receiptsAfterFailures(tx: SqlExecutor, overtaken: readonly ReceiptAfterFailure[]): Promise<void> {
    if (overtaken.length === 0) return;
    const resends = overtaken.filter((item) => item.failure.retried && item.receipt.gupshupMessageId !== undefined);
    const withdrawn =
      resends.length === 0
        ? []
        : await tx.query<{ message_id: string; request_id: string; attempts: number }>(
            `UPDATE whatsapp_dispatch_jobs j
                SET state = 'sent', lease_token = NULL, locked_until = NULL, updated_at = now()
               FROM unnest($1::uuid[], $2::text[]) AS r (message_id, gupshup_message_id)
              WHERE j.message_id = r.message_id AND j.provider_message_id = r.gupshup_message_id
                AND (j.state = 'pending' OR (j.state = 'in_flight' AND j.attempt_started_at IS NULL))
             RETURNING j.message_id, j.request_id, j.attempts`,
            [resends.map((item) => item.messageId), resends.map((item) => item.receipt.gupshupMessageId)],
          );
    const withdrawnJobs = new Map(withdrawn.map((row) => [row.message_id, row]));
    for (const { appId, messageId, receipt, failure } of overtaken) {
      const job = withdrawnJobs.get(messageId);
      const dated = Date.parse(receipt.occurredAt) < Date.parse(failure.occurredAt) ? 'an earlier-dated' : 'a';
      const outcome = !failure.retried ? 'the message is not discarded' : job ? 'its resend is withdrawn, not sent' : 'no resend was waiting to be withdrawn';
      // Counters only rise: the discard or retry counted stays, and this says it was contradicted.
      this.metrics.outcome('overtaken', callbackCodeLabel(failure.code));
      this.logger.warn({
        message: `the ${failure.retried ? 'resend' : 'discard'} after failed callback ${failure.code ?? '(no code)'} was overtaken by ${dated} ${receipt.providerStatus} receipt: ${outcome}`,
        appId,
        messageId,
        ...(job ? { requestId: job.request_id, attempt: job.attempts } : {}),
        code: failure.code,
        failedAt: failure.occurredAt,
        receiptAt: receipt.occurredAt,
        gupshupMessageId: receipt.gupshupMessageId ?? failure.gupshupMessageId,
        resendWithdrawn: Boolean(job),
        ...action('overtaken'),
      });
    }
  }

  private reportRetry(failure: FailedCallback, requestId: string, attempt: number, dueAt: Date | null): void {
    this.metrics.outcome('retry', `callback_${failure.code}`);
    const fields = {
      appId: failure.appId,
      messageId: failure.messageId,
      requestId,
      attempt,
      maxAttempts: this.policy.maxAttempts,
      code: failure.code,
      reason: failure.reason,
      gupshupMessageId: failure.gupshupMessageId,
      ...action('retry'),
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

/**
 * The `code` label of a discard by callback: `callback_{code}` for a code of the failure table, so
 * that a sender cannot grow the label set with codes of its own; `callback_other` or `callback_none` else.
 */
export function callbackCodeLabel(code: string | undefined): string {
  if (code === undefined) return 'callback_none';
  return Object.hasOwn(FAILURE_CODES, code) ? `callback_${code}` : 'callback_other';
}
