/**
 * The Logger context of every dispatch line, whichever part of the dispatcher writes it, so that
 * operators follow one message's dispatch under one name.
 */
export const DISPATCH_LOG_CONTEXT = 'WhatsAppDispatcher';

/** The ids every dispatch log line carries as fields; `requestId` is the notification request's. */
export function jobFields(job: { appId: string; messageId: string; requestId: string; attempt: number }) {
  return { appId: job.appId, messageId: job.messageId, requestId: job.requestId, attempt: job.attempt };
}

/** The `code` label of a retry: what failed, without the message (`http_503`, `timeout`, `network`). */
export function failureCode(errorKind: string | undefined, httpStatus: number | undefined): string {
  if (errorKind === 'http' && httpStatus !== undefined) return `http_${httpStatus}`;
  return errorKind ?? 'unknown';
}

export function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
