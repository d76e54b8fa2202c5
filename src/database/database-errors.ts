import { isRetryableTransactionError } from './database';
import { isDatabaseUnavailable } from './database-unavailable';

export { isDatabaseUnavailable };

/** Worth answering 503 for, so that the sender retries later: an outage, or contention that outlasted the retries. */
export function isTransientDatabaseError(error: unknown): boolean {
  return isDatabaseUnavailable(error) || isRetryableTransactionError(error);
}
