import { PatientDeadline } from './patient-deadline';

describe('PatientDeadline', () => {
  afterEach(() => jest.useRealTimers());

  it('passes once the time spent between checks exceeds its length', () => {
    jest.useFakeTimers({ now: 0 });
    const deadline = new PatientDeadline(1_000, 5_000);
    jest.setSystemTime(600);
    expect(deadline.passed()).toBe(false);
    jest.setSystemTime(1_001);
    expect(deadline.passed()).toBe(true);
  });

  it('counts a long stall between two checks as one step at most', () => {
    jest.useFakeTimers({ now: 0 });
    const deadline = new PatientDeadline(10_000, 2_000);
    jest.setSystemTime(120_000);
    expect(deadline.passed()).toBe(false);
    for (let t = 121_000; t <= 128_000; t += 1_000) {
      jest.setSystemTime(t);
      expect(deadline.passed()).toBe(false);
    }
    jest.setSystemTime(129_000);
    expect(deadline.passed()).toBe(true);
  });
});
