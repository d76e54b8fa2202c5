import { retryDelayMs } from './retry-schedule';

describe('retryDelayMs', () => {
  const schedule = { backoffMs: 1000, maxBackoffMs: 60_000 };

  it('doubles per attempt, between half and all of the step', () => {
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(500);
    expect(retryDelayMs(schedule, 1, () => 1)).toBe(1000);
    expect(retryDelayMs(schedule, 3, () => 1)).toBe(4000);
    expect(retryDelayMs(schedule, 3, () => 0)).toBe(2000);
  });

  it('never waits more than the maximum', () => {
    expect(retryDelayMs(schedule, 30, () => 1)).toBe(60_000);
    expect(retryDelayMs(schedule, 1000, () => 0.5)).toBeLessThanOrEqual(60_000);
  });
});
