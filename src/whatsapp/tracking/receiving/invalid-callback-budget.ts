const HOUR_MS = 60 * 60 * 1000;
/** Apps tracked at once; beyond it the oldest window is forgotten (it then starts again from 0). */
const MAX_APPS = 10_000;

/**
 * How many bodies that are no Gupshup callback each app may have stored per hour (a fixed window
 * per app, counted in this process). Anything past it is answered but not stored, so a holder of
 * an app's URL cannot fill the database with junk; Gupshup's own callbacks always have a shape.
 */
export class InvalidCallbackBudget {
  private readonly windows = new Map<string, { startedAt: number; used: number }>();

  constructor(private readonly perHour: number) {}

  /** Takes one from the app's budget; false when the hour's budget is spent. */
  take(appId: string, now = Date.now()): boolean {
    let window = this.windows.get(appId);
    if (!window || now - window.startedAt >= HOUR_MS) {
      this.windows.delete(appId);
      if (this.windows.size >= MAX_APPS) this.windows.delete(this.windows.keys().next().value!);
      window = { startedAt: now, used: 0 };
      this.windows.set(appId, window);
    }
    if (window.used >= this.perHour) return false;
    window.used++;
    return true;
  }
}
