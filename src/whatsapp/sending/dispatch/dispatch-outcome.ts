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
}

/**
 * What an answer from Gupshup means for the message. Pure: the clock and the randomness are passed in.
 * - accepted: sent, with Gupshup's messageId; never tried again.
 * - rejected (400, 401, ...): Gupshup will refuse it again; discarded now, with its message.
 * - retryable (429, 5xx, timeout, network): tried again after a backoff, until maxAttempts.
 */
export function decideAttemptOutcome(
  context: AttemptContext,
  outcome: GupshupSendOutcome,
  policy: RetryPolicy,
  now: Date,
  random: () => number = Math.random,
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

  const errorKind = outcome.outcome === 'rejected' ? 'http' : outcome.kind;
  const httpStatus = outcome.outcome === 'rejected' ? outcome.httpStatus : outcome.httpStatus;
  const description = describeFailure(errorKind, httpStatus, outcome.message);
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
      nextAttemptAt: nextAttemptAt ? nextAttemptAt.toISOString() : null,
      failedAt: at,
    },
    dispatchEventId(messageId, attempt, 'failed'),
  );
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
