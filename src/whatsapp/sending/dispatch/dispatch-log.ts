/**
 * The Logger context of every dispatch line, whichever part of the dispatcher writes it, so that
 * operators follow one message's dispatch under one name.
 */
export const DISPATCH_LOG_CONTEXT = 'WhatsAppDispatcher';

/**
 * What a line about a message says happened to it, as its `action` field, the same in every
 * context (dispatch, tracking, consent, operator commands), so that one filter finds every retry,
 * discard, ... of any message:
 * - `sent`: Gupshup accepted an attempt (debug);
 * - `retry`: an attempt failed and the message is queued again (held while its app is paused);
 * - `discard`: the message ends `discarded` (when accepted, before a call, after an answer or a callback);
 * - `refused`: a send gate kept it from Gupshup right before a call (its `discard` line follows);
 * - `rate_limited`: it waited for its app's rate limit (logged once per wait, when its turn comes);
 * - `paused` / `resumed`: the app's dispatch (the line names the message that paused it); `paused` at
 *   info: a message held by the pause, once per pause;
 * - `requeued`: its lease ran out before its request started: due again now;
 * - `outcome_unknown`: its request may have reached Gupshup with no answer: parked;
 * - `reconciled`: a parked message found sent from a callback;
 * - `resend` / `settle`: an operator sent a parked message again, or recorded it as sent;
 * - `ignored`: a callback kept in the timeline that changes nothing (a failure after a receipt);
 * - `unparked`: a callback parked for want of its message applied to it once the message was known;
 * - `overtaken`: a receipt came after the failed callback that had discarded the message or sent it back (its resend, not yet started, is withdrawn);
 * - `not_recorded`: an outcome this instance could not record (code `taken_over` or `database_error`, counted by that code).
 */
export type MessageAction =
  | 'sent'
  | 'retry'
  | 'discard'
  | 'refused'
  | 'rate_limited'
  | 'paused'
  | 'resumed'
  | 'requeued'
  | 'outcome_unknown'
  | 'reconciled'
  | 'resend'
  | 'settle'
  | 'ignored'
  | 'unparked'
  | 'overtaken'
  | 'not_recorded';

/** The ids every dispatch log line carries as fields; `requestId` is the notification request's. */
export function jobFields(job: { appId: string; messageId: string; requestId: string; attempt: number }) {
  return { appId: job.appId, messageId: job.messageId, requestId: job.requestId, attempt: job.attempt };
}

/** The `action` field of a line, typed so that it stays within MessageAction. */
export function action(name: MessageAction): { action: MessageAction } {
  return { action: name };
}

/** The `code` label of a retry: what failed, without the message (`http_503`, `timeout`, `network`). */
export function failureCode(errorKind: string | undefined, httpStatus: number | undefined): string {
  if (errorKind === 'http' && httpStatus !== undefined) return `http_${httpStatus}`;
  return errorKind ?? 'unknown';
}

export function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
