import { isRetryableTransactionError } from './database';

/** SQLSTATE classes of a server that cannot serve: connection exception, insufficient resources, operator intervention. */
const UNAVAILABLE_SQLSTATE_CLASSES = new Set(['08', '53', '57']);
const UNAVAILABLE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
/** node-postgres reports a lost or unobtainable connection with a plain Error. */
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|connection error|Cannot use a pool after calling end|the database system is (starting up|shutting down)|is not currently accepting connections/i;

/** The database cannot be reached or is going away: no callback's content is to blame. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_NETWORK_CODES.has(code) || (code.length === 5 && UNAVAILABLE_SQLSTATE_CLASSES.has(code.slice(0, 2))))) {
    return true;
  }
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}

/** Worth answering 503 for, so that Gupshup retries later: an outage, or contention that outlasted the retries. */
export function isTransientDatabaseError(error: unknown): boolean {
  return isDatabaseUnavailable(error) || isRetryableTransactionError(error);
}
