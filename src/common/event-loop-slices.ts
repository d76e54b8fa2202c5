import { setImmediate as nextTurn } from 'node:timers/promises';

/** The longest a loop here runs before it lets the event loop take its turn. */
const SLICE_MS = 4;

/**
 * Maps a long list in slices of a few milliseconds, letting the event loop run between them: a
 * subscription's batch of a thousand events, worked in one go, holds up every request the
 * process serves meanwhile (tens of milliseconds on a busy machine).
 */
export async function mapInSlices<T, R>(items: readonly T[], map: (item: T, index: number) => R): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let sliceStart = performance.now();
  for (let index = 0; index < items.length; index++) {
    results[index] = map(items[index], index);
    // The clock is read every 16 items: reading it costs more than most items.
    if ((index & 15) === 15 && performance.now() - sliceStart > SLICE_MS) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
  return results;
}

/** Lets the event loop take its turn between two long synchronous steps. */
export function yieldToEventLoop(): Promise<void> {
  return nextTurn();
}
