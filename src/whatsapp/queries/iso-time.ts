/** A date-time without a UTC offset: taken as UTC, not as the server's local time. */
const WITHOUT_OFFSET = /T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?$/;

/** Milliseconds of an ISO 8601 date or date-time, or NaN (week and ordinal dates are not supported). */
export function parseIsoTime(text: string): number {
  return Date.parse(WITHOUT_OFFSET.test(text) ? `${text}Z` : text);
}
