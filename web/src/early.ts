import { api } from './api';

// The first requests of a page load start before the first render, side by side: otherwise the
// page's own data waits for the session's answer, then for the code that renders the page.

/** An answer started early is used only this soon after; later the page asks afresh. */
const EARLY_ANSWER_KEPT_MS = 10_000;

const started = new Map<string, { at: number; answer: Promise<unknown> }>();

/** Starts GET `path` now, for the first `apiOnce(path)` to take up. */
export function startEarly(path: string): void {
  const answer = api(path);
  // Taken up later, or never (signed out, another page): not an unhandled rejection meanwhile.
  answer.catch(() => undefined);
  started.set(path, { at: performance.now(), answer });
}

/**
 * GET `path`: the answer of the request started early for it, once; otherwise, or when that one
 * failed (asked before signing in, say), a new request.
 */
export function apiOnce<T>(path: string): Promise<T> {
  const early = started.get(path);
  started.delete(path);
  if (early && performance.now() - early.at < EARLY_ANSWER_KEPT_MS) return (early.answer as Promise<T>).catch(() => api<T>(path));
  return api<T>(path);
}
