export interface RetrySchedule {
  /** The delay before the first retry; doubled for each one after. */
  backoffMs: number;
  maxBackoffMs: number;
}

/**
 * The wait before retrying after failed attempt number `attempt` (1 for the first): exponential,
 * capped, with jitter between half and all of it, so that the deliveries of an endpoint that came
 * back do not all arrive at the same moment.
 */
export function retryDelayMs(schedule: RetrySchedule, attempt: number, random: () => number = Math.random): number {
  const exponential = schedule.backoffMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  const capped = Math.min(schedule.maxBackoffMs, exponential);
  return Math.round(capped / 2 + (capped / 2) * random());
}
