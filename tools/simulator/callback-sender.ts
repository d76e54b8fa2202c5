/**
 * Posts callbacks the way Gupshup does: JSON POSTs, a deadline per attempt, and a few retries with a short
 * backoff when the receiver does not answer 2xx (GUPSHUP.md §2.1). Every attempt is recorded.
 */
import { Agent } from 'undici';

export interface CallbackAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** HTTP status of the answer; absent when there was none. */
  status?: number;
  /** The start of the answer body, for debugging receivers. */
  responseBody?: string;
  error?: string;
}

export interface CallbackDeliveryOptions {
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** Wait before the first retry; doubles at each further retry. */
  backoffMs: number;
  /** Ceiling of the doubling wait between attempts; none when undefined. */
  maxBackoffMs?: number;
}

const RESPONSE_EXCERPT_LENGTH = 200;

export class CallbackSender {
  private readonly agent = new Agent({ keepAliveTimeout: 5_000, connections: 32 });

  /** Aborts attempts and waits when `stop` fires; resolves true once the receiver answered 2xx. */
  async deliver(
    url: string,
    body: unknown,
    options: CallbackDeliveryOptions,
    stop: AbortSignal,
    onAttempt: (attempt: CallbackAttempt) => void,
  ): Promise<boolean> {
    const payload = JSON.stringify(body);
    for (let attempt = 1; attempt <= options.retries + 1 && !stop.aborted; attempt++) {
      const record = await this.attempt(url, payload, attempt, options.timeoutMs, stop);
      onAttempt(record);
      if (record.status !== undefined && record.status >= 200 && record.status < 300) return true;
      if (attempt <= options.retries) await pause(Math.min(options.backoffMs * 2 ** Math.min(attempt - 1, 30), options.maxBackoffMs ?? Infinity), stop);
    }
    return false;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async attempt(url: string, payload: string, attempt: number, timeoutMs: number, stop: AbortSignal): Promise<CallbackAttempt> {
    const started = Date.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const onStop = () => deadline.abort();
    stop.addEventListener('abort', onStop, { once: true });
    const base = { attempt, startedAt: new Date(started).toISOString() };
    try {
      const response = await this.agent.request({
        origin: new URL(url).origin,
        path: pathOf(url),
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Gupshup-Simulator/1.0' },
        body: payload,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: deadline.signal,
      });
      const text = await response.body.text();
      return { ...base, durationMs: Date.now() - started, status: response.statusCode, responseBody: text.slice(0, RESPONSE_EXCERPT_LENGTH) };
    } catch (error) {
      const reason = deadline.signal.aborted && !stop.aborted ? `no answer within ${timeoutMs} ms` : describeError(error);
      return { ...base, durationMs: Date.now() - started, error: reason };
    } finally {
      clearTimeout(timer);
      stop.removeEventListener('abort', onStop);
    }
  }
}

/** Resolves after `ms`, or at once when `stop` fires. Never rejects. */
export function pause(ms: number, stop?: AbortSignal): Promise<void> {
  if (ms <= 0 || stop?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop?.addEventListener('abort', done, { once: true });
  });
}

function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}
