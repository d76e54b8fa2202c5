import { PatientDeadline } from '../../src/common/patient-deadline';
/**
 * How long eventually() polls before it gives up. It only keeps a broken test from hanging, with
 * a message naming what never happened: far longer than any condition takes on a busy machine,
 * and no test may rely on it to pass. Jest's own timeout (jest.config.js) is longer still.
 */
export const GIVE_UP_AFTER_MS = 240_000;

/** Polls `check` until it returns a value other than undefined (or fails after `timeoutMs`, see GIVE_UP_AFTER_MS). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = GIVE_UP_AFTER_MS, everyMs = 20): Promise<T> {
  const deadline = new PatientDeadline(timeoutMs);
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (deadline.passed()) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
