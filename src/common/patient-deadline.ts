/**
 * A deadline for waits that must give up some day, but not because the process itself stood
 * still: a paused machine or a blocked event loop shows up as a long gap between two checks, and
 * any gap is counted as at most `longestStepMs`.
 */
export class PatientDeadline {
  private spentMs = 0;
  private lastCheck = Date.now();

  constructor(
    readonly ms: number,
    private readonly longestStepMs = 5_000,
  ) {}

  passed(): boolean {
    const now = Date.now();
    this.spentMs += Math.min(Math.max(now - this.lastCheck, 0), this.longestStepMs);
    this.lastCheck = now;
    return this.spentMs > this.ms;
  }
}
