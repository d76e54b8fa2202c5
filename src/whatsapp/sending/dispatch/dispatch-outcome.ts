import type { GupshupSendOutcome } from '../../gupshup/gupshup-client';
import {
  uuidV5,
  WhatsAppDispatchFailed,
  WhatsAppDispatchOutcomeUnknown,
  WhatsAppMessageDiscarded,
  WhatsAppMessageSent,
  type WhatsAppMessageEvent,
} from '../../domain';
import type { JobOutcome } from './dispatch-jobs';

/** Namespace of the ids of the dispatcher's events; changing it would break their deduplication. */
export const DISPATCH_EVENT_NAMESPACE = '0b6f3d8e-58a4-4c53-9f0e-3f0f1d2c7a51';

/** No retry waits longer than this, however many attempts came before (unless the base delay itself is longer). */
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

export interface RetryPolicy {
  maxAttempts: number;
  /** Delay before the first retry; doubled for each further one. */
  backoffMs: number;
}

/**
 * How long to wait after failed attempt `attempt` (1-based): backoffMs × 2^(attempt-1), capped,
 * with "equal jitter" (half of it fixed, half random) so that messages failed together by one
 * Gupshup outage do not all come back at the same instant.
 */
export function retryDelayMs(attempt: number, backoffMs: number, random: () => number = Math.random): number {
  const cap = Math.max(MAX_RETRY_DELAY_MS, backoffMs);
  const exponential = Math.min(cap, backoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/**
 * The id of one dispatcher event: the same message, attempt and kind always give the same id, so
 * recording an outcome twice (a retry after a lost commit acknowledgement) stores it once.
 */
export function dispatchEventId(messageId: string, attempt: number, kind: string): string {
  return uuidV5(JSON.stringify([messageId, attempt, kind]), DISPATCH_EVENT_NAMESPACE);
}

export interface AttemptContext {
  appId: string;
  messageId: string;
  attempt: number;
}

export interface AttemptDecision {
  job: JobOutcome;
  events: WhatsAppMessageEvent[];
  /** An account-level failure: the app's dispatch is paused with this code and reason, in the same transaction. */
  pause?: { code: string; reason: string };
}

/**
 * What an answer from Gupshup means for the message. Pure: the clock and the randomness are passed in.
 * - accepted: sent, with Gupshup's messageId; never tried again.
 * - rejected (400, 401, a permanent failure code, ...): Gupshup will refuse it again; discarded now, with its message.
 * - retryable (429, 5xx, a passing failure code, no connection): tried again after a backoff, until maxAttempts.
 * - account (1003, 4001, ...): back to the queue, due now, and the app's dispatch paused until resumed.
 * - unknown (timeout, connection lost once the request was written): Gupshup may have the
 *   message, so it is never called again by itself: parked as outcome_unknown.
 */
export function decideAttemptOutcome(
  context: AttemptContext,
  outcome: GupshupSendOutcome,
  policy: RetryPolicy,
  now: Date,
  random: () => number = Math.random,
  startedAt: Date = now,
): AttemptDecision {
  const { appId, messageId, attempt } = context;
  const at = now.toISOString();
  if (outcome.outcome === 'accepted') {
    return {
      job: { state: 'sent', providerMessageId: outcome.messageId },
      events: [
        new WhatsAppMessageSent({ appId, messageId, providerMessageId: outcome.messageId, attempt, sentAt: at }, dispatchEventId(messageId, attempt, 'sent')),
      ],
    };
  }
  if (outcome.outcome === 'unknown') {
    return {
      job: { state: 'outcome_unknown', lastError: describeFailure(outcome.kind, undefined, outcome.message) },
      events: [outcomeUnknownEvent(context, startedAt, now)],
    };
  }

  const errorKind = outcome.outcome === 'retryable' ? outcome.kind : 'http';
  const httpStatus = outcome.httpStatus;
  const code = outcome.code;
  const description = describeFailure(errorKind, httpStatus, code !== undefined ? `${outcome.message} (code ${code})` : outcome.message);
  const failureClass = outcome.outcome === 'account' ? 'account' : outcome.outcome === 'retryable' ? (code !== undefined ? 'passing' : undefined) : code !== undefined ? 'permanent' : undefined;
  const retry = outcome.outcome === 'retryable' && attempt < policy.maxAttempts;
  const nextAttemptAt = retry ? new Date(now.getTime() + retryDelayMs(attempt, policy.backoffMs, random)) : null;
  const failed = new WhatsAppDispatchFailed(
    {
      appId,
      messageId,
      attempt,
      errorKind,
      ...(httpStatus !== undefined && httpStatus > 0 ? { httpStatus } : {}),
      error: outcome.message,
      ...(code !== undefined ? { code } : {}),
      ...(failureClass !== undefined ? { failureClass } : {}),
      nextAttemptAt: nextAttemptAt ? nextAttemptAt.toISOString() : null,
      failedAt: at,
    },
    dispatchEventId(messageId, attempt, 'failed'),
  );
  if (outcome.outcome === 'account') {
    // Nothing is lost: the message waits in the queue, held by the pause, and goes when the app is resumed.
    return { job: { state: 'pending', dueAt: now, lastError: description }, events: [failed], pause: { code: outcome.code, reason: outcome.message } };
  }
  if (nextAttemptAt) return { job: { state: 'pending', dueAt: nextAttemptAt, lastError: description }, events: [failed] };

  const discarded =
    outcome.outcome === 'rejected'
      ? new WhatsAppMessageDiscarded(
          {
            appId,
            messageId,
            code: httpStatus && httpStatus > 0 ? `http_${httpStatus}` : 'request_invalid',
            reason: outcome.message,
            source: 'provider',
            discardedAt: at,
          },
          dispatchEventId(messageId, attempt, 'discarded'),
        )
      : new WhatsAppMessageDiscarded(
          {
            appId,
            messageId,
            code: 'attempts_exhausted',
            reason: `Gupshup did not accept the message in ${attempt} attempt${attempt === 1 ? '' : 's'}; the last error was ${description}`,
            source: 'dispatch',
            discardedAt: at,
          },
          dispatchEventId(messageId, attempt, 'discarded'),
        );
  return { job: { state: 'discarded', lastError: description }, events: [failed, discarded] };
}

/** The message is discarded before calling Gupshup, e.g. the provider was disabled since it was queued. */
export function discardBeforeCall(context: AttemptContext, code: string, reason: string, now: Date): AttemptDecision {
  return {
    job: { state: 'discarded', lastError: reason },
    events: [
      new WhatsAppMessageDiscarded(
        { appId: context.appId, messageId: context.messageId, code, reason, source: 'dispatch', discardedAt: now.toISOString() },
        dispatchEventId(context.messageId, context.attempt, 'discarded'),
      ),
    ],
  };
}

export function outcomeUnknownEvent(context: AttemptContext, startedAt: Date, detectedAt: Date): WhatsAppDispatchOutcomeUnknown {
  return new WhatsAppDispatchOutcomeUnknown(
    {
      appId: context.appId,
      messageId: context.messageId,
      attempt: context.attempt,
      startedAt: startedAt.toISOString(),
      detectedAt: detectedAt.toISOString(),
    },
    dispatchEventId(context.messageId, context.attempt, 'outcome_unknown'),
  );
}

function describeFailure(kind: 'http' | 'timeout' | 'network', httpStatus: number | undefined, message: string): string {
  if (kind === 'http' && httpStatus !== undefined && httpStatus > 0) return `HTTP ${httpStatus}: ${message}`;
  if (kind === 'timeout') return `timeout: ${message}`;
  return kind === 'network' ? `connection error: ${message}` : message;
}
